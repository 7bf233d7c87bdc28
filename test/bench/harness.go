package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/controller"
	"github.com/falconops/falcon-token-operator/internal/falcon"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

const (
	unrelatedNamespace = "unrelated"
	// simCloud is the simulator's name in --cloud-endpoint.
	simCloud = "sim"
	// operatorNamespace is the manager's cluster resource namespace; the bench makes no
	// cluster-scoped resource, so nothing lives there.
	operatorNamespace = "falcon-operator"
	credentialsName   = "falcon-api"
	// idsPerRead is how many token IDs the client puts in one tokens-read request.
	idsPerRead = 100
	// tokenCapMargin is how many active tokens beyond N the account allows.
	tokenCapMargin = 100
)

// Config is one benchmark run.
type Config struct {
	N int `json:"tokens"`
	// Namespaces the N resources are spread over, each with a credentials Secret of its own
	// (a namespaced resource may only use a Secret of its namespace), all for the same API client.
	Namespaces int           `json:"namespaces"`
	Latency    time.Duration `json:"latency"`
	RateLimit  int           `json:"rateLimitPerMinute"`
	SyncPeriod time.Duration `json:"syncPeriod"`
	// CreateSyncPeriod is the sync period of the manager that creates the tokens.
	CreateSyncPeriod time.Duration `json:"createSyncPeriod"`
	Periods          int           `json:"steadyStatePeriods"`
	Workers          int           `json:"workers"`
	KubeAPIQPS       float32       `json:"kubeAPIQPS"`
	KubeAPIBurst     int           `json:"kubeAPIBurst"`
	RateLimitWindow  time.Duration `json:"rateLimitWindow"`
	RateLimitedCRs   int           `json:"rateLimitedResources"`
	// Memory runs the RSS and profile (manager binary) and heap (in-process manager) phases.
	Memory bool `json:"memory"`
	// Unrelated Secrets for the memory comparison with and without them; 0 skips it.
	Unrelated     int `json:"unrelatedSecrets"`
	UnrelatedSize int `json:"unrelatedSecretBytes"`

	Root       string    `json:"-"` // repository root
	WorkDir    string    `json:"-"` // logs and the built manager
	ProfileDir string    `json:"-"` // the manager binary's profiles
	Progress   io.Writer `json:"-"`
}

// MarshalJSON writes the durations as text ("50ms") rather than nanoseconds.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	return json.Marshal(struct {
		plain
		Latency          string `json:"latency"`
		SyncPeriod       string `json:"syncPeriod"`
		CreateSyncPeriod string `json:"createSyncPeriod"`
		RateLimitWindow  string `json:"rateLimitWindow"`
	}{plain(c), c.Latency.String(), c.SyncPeriod.String(), c.CreateSyncPeriod.String(), c.RateLimitWindow.String()})
}

// Result is what a run measured.
type Result struct {
	Date      string          `json:"date"`
	Machine   Machine         `json:"machine"`
	Config    Config          `json:"config"`
	Create    CreateResult    `json:"create"`
	Restart   RestartResult   `json:"restart"`
	Steady    SteadyResult    `json:"steadyState"`
	Drift     DriftResult     `json:"drift"`
	RateLimit RateLimitResult `json:"rateLimit"`
	OAuth     []int           `json:"oauthFetchesPerManagerRun"`
	Memory    *MemoryResult   `json:"memory,omitempty"`
	Profiles  *Profiles       `json:"profiles,omitempty"`
	Targets   []TargetResult  `json:"targets"`
	Elapsed   metav1.Duration `json:"elapsed"`
}

// CreateResult: N new resources until all are Ready.
type CreateResult struct {
	Wall metav1.Duration `json:"wall"`
	// FalconFloor is N × create latency / workers; KubeFloor is N × Kubernetes requests per
	// token / --kube-api-qps.
	FalconFloor   metav1.Duration `json:"falconFloor"`
	KubeFloor     metav1.Duration `json:"kubeFloor"`
	Calls         map[string]int  `json:"calls"` // Falcon, by operation
	CallsPerToken float64         `json:"callsPerToken"`
	// Kube counts the manager's Kubernetes requests by "verb resource", from the first resource
	// created until the manager is idle again.
	Kube          map[string]int  `json:"kubeRequests"`
	KubePerToken  float64         `json:"kubeRequestsPerToken"`
	KubeSettledAt metav1.Duration `json:"kubeSettledAfter"` // after the last Ready, when the manager was idle
	// CPU is the CPU time each process spent during the create, in seconds: kube-apiserver,
	// etcd, and this process (the manager, the simulator and the harness).
	CPU map[string]float64 `json:"cpuSeconds"`
}

// RestartResult: a manager starts with N tokens in place, until every resource is verified.
type RestartResult struct {
	Verified metav1.Duration `json:"verifiedAfter"`
	Calls    map[string]int  `json:"calls"`
	Kube     map[string]int  `json:"kubeRequests"`
}

// SteadyResult: nothing changes for Periods sync periods.
type SteadyResult struct {
	Window                         metav1.Duration `json:"window"`
	Calls                          map[string]int  `json:"calls"`
	CallsPerTokenPerPeriod         float64         `json:"callsPerTokenPerPeriod"`
	Reconciles                     int             `json:"reconciles"`
	ReconcilesPerResourcePerPeriod float64         `json:"reconcilesPerResourcePerPeriod"`
	Kube                           map[string]int  `json:"kubeRequests"`
	KubeWritesPerResourcePerPeriod float64         `json:"kubeWritesPerResourcePerPeriod"`
}

// DriftResult: one token revoked and one deleted in the console.
type DriftResult struct {
	RevokedFoundAfter metav1.Duration `json:"revokedReplacedAfter"`
	DeletedFoundAfter metav1.Duration `json:"deletedReplacedAfter"`
	Calls             map[string]int  `json:"calls"`
}

// TargetResult is one line of the contract and whether the run met it.
type TargetResult struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Value  string `json:"value"`
	Met    bool   `json:"met"`
}

// bench is a run in progress.
type bench struct {
	cfg       Config
	env       *envtest.Environment
	rest      *rest.Config
	k8s       client.Client
	sim       *falcontest.Simulator
	exchanges *exchangeLog  // the in-process manager's Falcon exchanges, timed on its side
	reads     *tokenReads   // the token IDs Falcon answered reads of, whichever manager asked
	kube      *kubeRequests // the in-process manager's Kubernetes requests
	server    *httptest.Server
	api       falcontest.APIClient
	tracker   *tracker
	progress  io.Writer
	keys      []types.NamespacedName // the benchmark's resources
	totals    map[string]int         // Falcon calls by operation over the whole run
	sentinels int
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	started := time.Now()
	b := &bench{cfg: cfg, progress: cfg.Progress, totals: map[string]int{}}
	if b.progress == nil {
		b.progress = io.Discard
	}
	defer b.close()
	res := &Result{Date: started.UTC().Format(time.RFC3339), Machine: describeMachine(), Config: cfg}

	var managerBinary string
	if cfg.Memory {
		// Built first: a build running beside the measurements would take their CPU.
		b.logf("building the manager binary")
		var err error
		if managerBinary, err = buildManager(ctx, cfg.Root, cfg.WorkDir); err != nil {
			return nil, err
		}
	}

	if err := b.start(ctx); err != nil {
		return nil, err
	}
	if cfg.Memory {
		res.Memory = &MemoryResult{}
		if err := b.measureEmpty(ctx, managerBinary, res.Memory); err != nil {
			return nil, err
		}
	}
	// The create runs with the default sync period: with the benchmark's short one, drift
	// checks of the tokens made so far would run during the create, far more often than any
	// deployment runs them. The manager is then restarted with the short period, which also
	// measures what a restart costs.
	stop, err := b.startManager(ctx, cfg.CreateSyncPeriod)
	if err != nil {
		return nil, err
	}
	err = b.measureCreate(ctx, res)
	stop()
	if err != nil {
		return nil, err
	}
	if stop, err = b.measureRestart(ctx, res); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if err := b.measureSteady(ctx, res); err != nil {
		return nil, err
	}
	if err := b.measureDrift(ctx, res); err != nil {
		return nil, err
	}
	if err := b.measureRateLimit(ctx, res); err != nil {
		return nil, err
	}
	b.phaseCalls() // the rate-limit phase's
	res.OAuth = []int{res.Create.Calls["oauth2-token"], b.totals["oauth2-token"] - res.Create.Calls["oauth2-token"]}

	if cfg.Memory {
		stopped = true
		if res.Profiles, err = b.measureMemory(ctx, managerBinary, stop, res.Memory); err != nil {
			return nil, err
		}
	}
	res.Targets = targets(res)
	res.Elapsed = metav1.Duration{Duration: time.Since(started).Round(time.Second)}
	return res, nil
}

func (b *bench) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(b.progress, ">> "+format+"\n", args...) // progress lines are best effort
}

// namespace is the i-th of the namespaces the resources are spread over.
func (b *bench) namespace(i int) string {
	if b.cfg.Namespaces <= 1 {
		return "bench"
	}
	return fmt.Sprintf("bench-%03d", i)
}

// start brings up the control plane, the simulator, the namespaces and their credentials.
func (b *bench) start(ctx context.Context) error {
	if err := setLogger(b.cfg.WorkDir); err != nil {
		return err
	}
	b.logf("starting kube-apiserver and etcd")
	b.env = &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(b.cfg.Root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	cfg, err := b.env.Start()
	if err != nil {
		return fmt.Errorf("start the control plane (is KUBEBUILDER_ASSETS set? `make bench` sets it): %w", err)
	}
	b.rest = rest.CopyConfig(cfg)
	harness := rest.CopyConfig(cfg)
	harness.QPS, harness.Burst = 2000, 4000
	if b.k8s, err = client.New(harness, client.Options{Scheme: scheme()}); err != nil {
		return err
	}

	b.sim = falcontest.New(falcontest.Options{RateLimit: b.cfg.RateLimit})
	b.sim.SetFaults(falcontest.Faults{Latency: b.cfg.Latency})
	b.reads = &tokenReads{next: b.sim, read: map[string]bool{}}
	b.server = httptest.NewServer(b.reads)
	// The in-process manager's Falcon clients send through it (controller.Options.FalconTransport).
	b.exchanges = &exchangeLog{next: http.DefaultTransport}
	b.kube = newKubeRequests()

	b.api = b.sim.AddClient(falcontest.APIClient{})
	// The account's cap on active tokens (1,000 by default) raised to fit the run, as the
	// admin of an account with that many would; the margin is for the replacements.
	if settings := b.sim.Settings(b.api.CID); settings.MaxActiveTokens < b.cfg.N+tokenCapMargin {
		settings.MaxActiveTokens = b.cfg.N + tokenCapMargin
		b.sim.ConsoleSetSettings(b.api.CID, settings)
	}
	namespaces := max(b.cfg.Namespaces, 1)
	b.logf("creating %s, each with a credentials Secret", inNamespaces(namespaces))
	if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unrelatedNamespace}}); err != nil {
		return err
	}
	if err := parallel(ctx, 16, namespaces, func(ctx context.Context, i int) error {
		ns := b.namespace(i)
		if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
		return b.k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName},
			StringData: map[string]string{"client_id": b.api.ClientID, "client_secret": b.api.ClientSecret},
		})
	}); err != nil {
		return err
	}
	// Resource i lives in namespace i / (N / namespaces): consecutive resources share a credential.
	perNamespace := (b.cfg.N + namespaces - 1) / namespaces
	b.keys = make([]types.NamespacedName, b.cfg.N)
	for i := range b.keys {
		b.keys[i] = types.NamespacedName{Namespace: b.namespace(i / max(perNamespace, 1)), Name: fmt.Sprintf("token-%04d", i)}
	}
	if b.tracker, err = startTracker(ctx, harness); err != nil {
		return err
	}
	return b.waitIdle(ctx)
}

// waitIdle waits until kube-apiserver has finished starting up (building the CRDs' OpenAPI,
// its bootstrap controllers): until it uses less than a tenth of a CPU for two seconds in a
// row, or a minute passed. The measurements are of the operator, not of that.
func (b *bench) waitIdle(ctx context.Context) error {
	started := time.Now()
	quiet := 0
	last := cpuSeconds()["kube-apiserver"]
	for quiet < 4 && time.Since(started) < time.Minute {
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		now := cpuSeconds()["kube-apiserver"]
		if now-last < 0.05 {
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
	b.logf("kube-apiserver settled after %s", time.Since(started).Round(100*time.Millisecond))
	return nil
}

var loggerOnce sync.Once

// setLogger sends controller-runtime's logs (the in-process manager's, the tracker's) to a file
// in dir, once per process.
func setLogger(dir string) error {
	var err error
	loggerOnce.Do(func() {
		var logFile *os.File
		if logFile, err = os.Create(filepath.Join(dir, "manager-in-process.log")); err == nil {
			logf.SetLogger(zap.New(zap.WriteTo(logFile)))
		}
	})
	return err
}

func (b *bench) close() {
	if b.server != nil {
		b.server.Close()
	}
	if b.tracker != nil {
		b.tracker.stop()
	}
	if b.env != nil {
		_ = b.env.Stop()
	}
}

// startManager runs the manager in this process, wired as main.go wires it, with its
// Kubernetes requests counted (b.kube) and its Falcon exchanges timed (b.exchanges).
func (b *bench) startManager(ctx context.Context, syncPeriod time.Duration) (stop func(), err error) {
	cfg := rest.CopyConfig(b.rest)
	cfg.QPS, cfg.Burst = b.cfg.KubeAPIQPS, b.cfg.KubeAPIBurst
	cfg.Wrap(b.kube.wrap)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controller.CacheOptions(nil),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	endpoints, err := falcon.NewEndpoints(map[string]string{simCloud: b.server.URL}, true)
	if err != nil {
		return nil, err
	}
	if err := controller.SetupWithManager(mgr, controller.Options{
		SyncPeriod:               syncPeriod,
		ClusterResourceNamespace: operatorNamespace,
		Endpoints:                endpoints,
		Clients:                  falcon.NewCache(nil),
		Clock:                    clock.RealClock{},
		MaxConcurrentReconciles:  b.cfg.Workers,
		FalconTransport:          b.exchanges,
	}); err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			b.logf("manager stopped with %v", err)
		}
	}
	if err := b.waitReconciling(ctx); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitReconciling waits until the manager's controller reconciles: a sentinel resource (in a
// namespace of its own, naming credentials that do not exist, so it costs no Falcon call)
// gets a Ready condition. Measurements then start with a running manager, not its start-up.
func (b *bench) waitReconciling(ctx context.Context) error {
	b.sentinels++
	fit := &falconv1alpha1.FalconInstallationToken{
		ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNamespace, Name: fmt.Sprintf("sentinel-%d", b.sentinels)},
		Spec: falconv1alpha1.FalconInstallationTokenSpec{
			FalconAPI:       falconv1alpha1.FalconAPI{Cloud: simCloud, CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: "absent"}},
			TokenParameters: falconv1alpha1.TokenParameters{DeletionPolicy: falconv1alpha1.TokenDeletionOrphan},
		},
	}
	if err := b.k8s.Create(ctx, fit); err != nil {
		return err
	}
	key := client.ObjectKeyFromObject(fit)
	if err := b.tracker.wait(ctx, 2*time.Minute, "the manager to reconcile "+key.String(), func(s map[types.NamespacedName]tokenState) bool {
		return s[key].reason != ""
	}); err != nil {
		return fmt.Errorf("the manager does not reconcile: %w", err)
	}
	return nil
}

// kubeQuiet is how long the in-process manager must have sent no Kubernetes request, with its
// controller idle, to count as settled: long enough for the watch event of its last write (a
// Secret's, which queues the owner again) and its asynchronous event writes to come through.
const kubeQuiet = 500 * time.Millisecond

// waitSettled waits until the in-process manager has nothing left to do: no reconcile queued
// or running, no Kubernetes request in flight and none sent for kubeQuiet.
func (b *bench) waitSettled(ctx context.Context, timeout time.Duration) (time.Time, error) {
	return waitController(ctx, inProcessMetrics, timeout, "the manager to settle", func(st controllerState) bool {
		return st.idle() && b.kube.idle(kubeQuiet)
	})
}

// measureCreate creates N resources, waits until all are Ready and the manager has settled,
// and counts what it took, of Falcon and of Kubernetes.
func (b *bench) measureCreate(ctx context.Context, res *Result) error {
	n := b.cfg.N
	b.logf("creating %d FalconInstallationTokens in %s (Falcon latency %s, %d workers, --kube-api-qps=%g)",
		n, inNamespaces(b.cfg.Namespaces), b.cfg.Latency, b.cfg.Workers, b.cfg.KubeAPIQPS)
	b.phaseCalls()
	b.kube.take()
	cpu0 := cpuSeconds()
	start := time.Now()
	if err := parallel(ctx, 16, n, func(ctx context.Context, i int) error {
		return b.k8s.Create(ctx, &falconv1alpha1.FalconInstallationToken{
			ObjectMeta: metav1.ObjectMeta{Namespace: b.keys[i].Namespace, Name: b.keys[i].Name},
			Spec: falconv1alpha1.FalconInstallationTokenSpec{FalconAPI: falconv1alpha1.FalconAPI{
				Cloud: simCloud, CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: credentialsName},
			}},
		})
	}); err != nil {
		return err
	}
	progress := b.reportProgress(start)
	last, err := b.tracker.waitReady(ctx, b.keys, nil, 5*time.Minute+time.Duration(n)*b.cfg.Latency)
	progress()
	if err != nil {
		return err
	}
	wall := last.Sub(start)
	cpu := cpuSeconds()
	for k := range cpu {
		cpu[k] -= cpu0[k]
	}
	// Reconciles that follow the last status write (the Secret's own event) and the events the
	// manager sends asynchronously belong to the create.
	settled, err := b.waitSettled(ctx, 2*time.Minute)
	if err != nil {
		return err
	}
	calls, kube := b.phaseCalls(), b.kube.take()
	kubePerToken := float64(sum(kube)-perCredential(kube)) / float64(n)
	res.Create = CreateResult{
		Wall:          metav1.Duration{Duration: wall.Round(time.Millisecond)},
		FalconFloor:   metav1.Duration{Duration: time.Duration(n) * b.cfg.Latency / time.Duration(b.cfg.Workers)},
		KubeFloor:     metav1.Duration{Duration: time.Duration(float64(n) * kubePerToken / float64(b.cfg.KubeAPIQPS) * float64(time.Second)).Round(time.Millisecond)},
		Calls:         calls,
		CallsPerToken: float64(sum(calls)) / float64(n),
		Kube:          kube,
		KubePerToken:  kubePerToken,
		KubeSettledAt: metav1.Duration{Duration: settled.Sub(last).Round(time.Millisecond)},
		CPU:           cpu,
	}
	b.logf("all %d Ready in %s (floors: Falcon %s, Kubernetes %s); per token: %.3f Falcon calls %v, %.2f Kubernetes requests",
		n, res.Create.Wall.Duration, res.Create.FalconFloor.Duration, res.Create.KubeFloor.Duration, res.Create.CallsPerToken, calls, kubePerToken)
	return nil
}

// progressEvery is how often a long create reports how far it got.
const progressEvery = 30 * time.Second

// reportProgress logs how many resources are Ready every progressEvery, until the returned
// func is called.
func (b *bench) reportProgress(start time.Time) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ticker := time.NewTicker(progressEvery)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				b.logf("%s: %s", time.Since(start).Round(time.Second), b.tracker.summary(b.keys))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// measureRestart starts the manager again, with the short sync period, and waits until every
// resource has been verified against Falcon (see waitVerified), counting the calls and the
// Kubernetes requests until then. It returns the running manager's stop.
func (b *bench) measureRestart(ctx context.Context, res *Result) (stop func(), err error) {
	b.logf("restarting the manager with --sync-period=%s", b.cfg.SyncPeriod)
	b.phaseCalls()
	b.kube.take()
	stop, verified, err := b.startVerified(ctx)
	if err != nil {
		return nil, err
	}
	res.Restart = RestartResult{
		Verified: metav1.Duration{Duration: verified.Round(10 * time.Millisecond)},
		Calls:    b.phaseCalls(),
		Kube:     b.kube.take(),
	}
	b.logf("restart: every resource verified after %s; Falcon calls %v; %d Kubernetes requests",
		res.Restart.Verified.Duration, res.Restart.Calls, sum(res.Restart.Kube))
	return stop, nil
}

// measureSteady counts the Falcon calls, the reconciles and the Kubernetes requests while
// nothing changes.
func (b *bench) measureSteady(ctx context.Context, res *Result) error {
	window := time.Duration(b.cfg.Periods) * b.cfg.SyncPeriod
	b.logf("steady state: counting for %d sync periods of %s", b.cfg.Periods, b.cfg.SyncPeriod)
	b.phaseCalls() // whatever ran between the phases
	b.kube.take()
	before, err := readControllerState(ctx, inProcessMetrics)
	if err != nil {
		return err
	}
	if err := sleep(ctx, window); err != nil {
		return err
	}
	after, err := readControllerState(ctx, inProcessMetrics)
	if err != nil {
		return err
	}
	calls, kube := b.phaseCalls(), b.kube.take()
	perResourcePeriod := float64(b.cfg.N) * float64(b.cfg.Periods)
	reconciles := int(after.reconciles - before.reconciles)
	res.Steady = SteadyResult{
		Window:                         metav1.Duration{Duration: window},
		Calls:                          calls,
		CallsPerTokenPerPeriod:         float64(sum(calls)) / perResourcePeriod,
		Reconciles:                     reconciles,
		ReconcilesPerResourcePerPeriod: float64(reconciles) / perResourcePeriod,
		Kube:                           kube,
		KubeWritesPerResourcePerPeriod: float64(writes(kube)) / perResourcePeriod,
	}
	b.logf("per resource per sync period: %.4f Falcon calls %v, %.3f reconciles, %.4f Kubernetes writes (requests %v)",
		res.Steady.CallsPerTokenPerPeriod, calls, res.Steady.ReconcilesPerResourcePerPeriod, res.Steady.KubeWritesPerResourcePerPeriod, kube)
	return nil
}

// measureDrift revokes one token and deletes another in the console and times their replacement.
func (b *bench) measureDrift(ctx context.Context, res *Result) error {
	revoked, deleted := b.keys[0], b.keys[len(b.keys)-1]
	revokedID, deletedID := b.tracker.tokenID(revoked), b.tracker.tokenID(deleted)
	b.logf("drift: revoking the token of %s and deleting the token of %s in the console", revoked, deleted)
	b.phaseCalls()
	changed := time.Now()
	b.sim.ConsoleRevoke(b.api.CID, revokedID)
	b.sim.ConsoleDelete(b.api.CID, deletedID)
	timeout := 3*b.cfg.SyncPeriod + time.Minute
	revokedAt, err := b.tracker.waitNewToken(ctx, revoked, revokedID, timeout)
	if err != nil {
		return err
	}
	deletedAt, err := b.tracker.waitNewToken(ctx, deleted, deletedID, timeout)
	if err != nil {
		return err
	}
	if _, err := b.tracker.waitReady(ctx, []types.NamespacedName{revoked, deleted}, nil, timeout); err != nil {
		return err
	}
	res.Drift = DriftResult{
		RevokedFoundAfter: metav1.Duration{Duration: revokedAt.Sub(changed).Round(time.Millisecond)},
		DeletedFoundAfter: metav1.Duration{Duration: deletedAt.Sub(changed).Round(time.Millisecond)},
		Calls:             b.phaseCalls(),
	}
	b.logf("revoked token replaced after %s, deleted one after %s (sync period %s), calls %v",
		res.Drift.RevokedFoundAfter.Duration, res.Drift.DeletedFoundAfter.Duration, b.cfg.SyncPeriod, res.Drift.Calls)
	return nil
}

// phaseCalls counts the simulator's calls since the last phase, by operation, and starts the
// next. Calls answered 429 count apart, as "op 429": they were refused, but sent all the same.
func (b *bench) phaseCalls() map[string]int {
	calls := map[string]int{}
	for _, c := range b.sim.CallLog() {
		op := c.Op
		if c.Status == http.StatusTooManyRequests {
			op += " 429"
		}
		calls[op]++
		b.totals[op]++
	}
	b.sim.ResetCalls()
	return calls
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// parallel runs fn for 0..n-1 on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// sleep waits d: the benchmark measures what happens during a fixed time.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// perCredential is what the create cost once per credentials Secret, not per token: the
// Secret's read and the start of its metadata watch. The manager reads no other Secret with a
// plain get or watch while creating.
func perCredential(kube map[string]int) int {
	return kube["get secrets"] + kube["list secrets"] + kube["watch secrets"]
}
