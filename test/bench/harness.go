package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	benchNamespace     = "bench"
	unrelatedNamespace = "unrelated"
	credentialsName    = "falcon-api"
	// idsPerRead is how many token IDs the client puts in one tokens-read request.
	idsPerRead = 100
)

// Config is one benchmark run.
type Config struct {
	N          int           `json:"tokens"`
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
	// Memory runs the RSS (manager binary) and heap (in-process manager) phases.
	Memory        bool `json:"memory"`
	Unrelated     int  `json:"unrelatedSecrets"`
	UnrelatedSize int  `json:"unrelatedSecretBytes"`

	Root     string    `json:"-"` // repository root
	WorkDir  string    `json:"-"` // logs and the built manager
	Progress io.Writer `json:"-"`
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
	Steady    SteadyResult    `json:"steadyState"`
	Drift     DriftResult     `json:"drift"`
	RateLimit RateLimitResult `json:"rateLimit"`
	Restart   RestartResult   `json:"restart"`
	OAuth     []int           `json:"oauthFetchesPerManagerRun"`
	Memory    *MemoryResult   `json:"memory,omitempty"`
	Targets   []TargetResult  `json:"targets"`
	Elapsed   metav1.Duration `json:"elapsed"`
}

// CreateResult: N new resources until all are Ready.
type CreateResult struct {
	Wall          metav1.Duration `json:"wall"`
	Floor         metav1.Duration `json:"floor"` // N × create latency / workers
	Calls         map[string]int  `json:"calls"` // by operation
	CallsPerToken float64         `json:"callsPerToken"`
	// CPU is the CPU time each process spent during the create, in seconds: kube-apiserver,
	// etcd, and this process (the manager, the simulator and the harness).
	CPU map[string]float64 `json:"cpuSeconds"`
}

// RestartResult: a manager starts with N tokens in place.
type RestartResult struct {
	Window metav1.Duration `json:"window"`
	Calls  map[string]int  `json:"calls"`
}

// SteadyResult: nothing changes for Periods sync periods.
type SteadyResult struct {
	Window                 metav1.Duration `json:"window"`
	Calls                  map[string]int  `json:"calls"`
	CallsPerTokenPerPeriod float64         `json:"callsPerTokenPerPeriod"`
}

// DriftResult: one token revoked and one deleted in the console.
type DriftResult struct {
	RevokedFoundAfter metav1.Duration `json:"revokedReplacedAfter"`
	DeletedFoundAfter metav1.Duration `json:"deletedReplacedAfter"`
	Calls             map[string]int  `json:"calls"`
}

// RateLimitResult: a forced 429 window while resources change.
type RateLimitResult struct {
	Window       metav1.Duration `json:"window"`
	Answered429  int             `json:"answered429"`
	InFlight     int             `json:"inFlightWhenFirst429CameBack"`
	SentInWindow int             `json:"sentInsideWindowAfterFirst429"`
	Recovered    metav1.Duration `json:"allReadyAfterWindowEnd"`
}

// MemoryResult: the manager with no and with many unrelated Secrets in the cluster.
type MemoryResult struct {
	UnrelatedCreate metav1.Duration `json:"unrelatedSecretsCreatedIn"`
	Without         MemorySample    `json:"withoutUnrelatedSecrets"`
	With            MemorySample    `json:"withUnrelatedSecrets"`
	RSSRatio        float64         `json:"rssRatio"`
}

// MemorySample: the manager binary's resident set and the in-process manager's Go heap.
type MemorySample struct {
	RSSKiB     int64 `json:"rssKiB"`     // VmRSS, median of the samples
	PeakRSSKiB int64 `json:"peakRSSKiB"` // VmHWM
	HeapBytes  int64 `json:"heapBytes"`  // live heap after GC, running minus stopped
}

// TargetResult is one line of the contract and whether the run met it.
type TargetResult struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Value  string `json:"value"`
	Met    bool   `json:"met"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	MemoryMiB int64  `json:"memoryMiB"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
}

// bench is a run in progress.
type bench struct {
	cfg       Config
	env       *envtest.Environment
	rest      *rest.Config
	k8s       client.Client
	sim       *falcontest.Simulator
	exchanges *exchangeLog
	server    *httptest.Server
	api       falcontest.APIClient
	tracker   *tracker
	progress  io.Writer
	names     []string
	totals    map[string]int // calls by operation over the whole run
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
	b.logf("restarting the manager with --sync-period=%s", cfg.SyncPeriod)
	b.phaseCalls()
	restarted := time.Now()
	if stop, err = b.startManager(ctx, cfg.SyncPeriod); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if err := b.measureRestart(ctx, res, restarted); err != nil {
		return nil, err
	}
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
		mem := &MemoryResult{}
		res.Memory = mem
		b.logf("memory: Go heap of the in-process manager, no unrelated Secrets")
		mem.Without.HeapBytes = b.heapOf(ctx, stop)
		stopped = true
		b.logf("memory: RSS of the manager binary, no unrelated Secrets")
		if mem.Without.RSSKiB, mem.Without.PeakRSSKiB, err = b.rssOf(ctx, managerBinary, "without"); err != nil {
			return nil, err
		}
		b.logf("memory: creating %d unrelated Secrets of %d bytes", cfg.Unrelated, cfg.UnrelatedSize)
		t0 := time.Now()
		if err := b.createUnrelated(ctx); err != nil {
			return nil, err
		}
		mem.UnrelatedCreate = metav1.Duration{Duration: time.Since(t0).Round(time.Second)}
		b.logf("memory: RSS of the manager binary, %d unrelated Secrets", cfg.Unrelated)
		if mem.With.RSSKiB, mem.With.PeakRSSKiB, err = b.rssOf(ctx, managerBinary, "with"); err != nil {
			return nil, err
		}
		b.logf("memory: Go heap of the in-process manager, %d unrelated Secrets", cfg.Unrelated)
		stop2, err := b.startManager(ctx, cfg.SyncPeriod)
		if err != nil {
			return nil, err
		}
		if err := sleep(ctx, settleTime(cfg)); err != nil {
			stop2()
			return nil, err
		}
		mem.With.HeapBytes = b.heapOf(ctx, stop2)
		mem.RSSRatio = float64(mem.With.RSSKiB) / float64(mem.Without.RSSKiB)
	}
	res.Targets = targets(res)
	res.Elapsed = metav1.Duration{Duration: time.Since(started).Round(time.Second)}
	return res, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, ">> "+format+"\n", args...)
}

// start brings up the control plane, the simulator and the credentials.
func (b *bench) start(ctx context.Context) error {
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
	b.server = httptest.NewServer(b.sim)
	// The in-process manager's Falcon clients send through it (controller.Options.FalconTransport).
	b.exchanges = &exchangeLog{next: http.DefaultTransport}

	for _, ns := range []string{benchNamespace, unrelatedNamespace} {
		if err := b.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	b.api = b.sim.AddClient(falcontest.APIClient{})
	if err := b.k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: credentialsName},
		StringData: map[string]string{"client_id": b.api.ClientID, "client_secret": b.api.ClientSecret},
	}); err != nil {
		return err
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

var loggerOnce sync.Once

// startManager runs the manager in this process, wired as main.go wires it.
func (b *bench) startManager(ctx context.Context, syncPeriod time.Duration) (stop func(), err error) {
	loggerOnce.Do(func() {
		logFile, err := os.Create(filepath.Join(b.cfg.WorkDir, "manager-in-process.log"))
		if err != nil {
			logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
			return
		}
		logf.SetLogger(zap.New(zap.WriteTo(logFile)))
	})
	cfg := rest.CopyConfig(b.rest)
	cfg.QPS, cfg.Burst = b.cfg.KubeAPIQPS, b.cfg.KubeAPIBurst
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
	endpoints, err := falcon.NewEndpoints(map[string]string{"sim": b.server.URL}, true)
	if err != nil {
		return nil, err
	}
	if err := controller.SetupWithManager(mgr, controller.Options{
		SyncPeriod:              syncPeriod,
		Endpoints:               endpoints,
		Clients:                 falcon.NewCache(nil),
		Clock:                   clock.RealClock{},
		MaxConcurrentReconciles: b.cfg.Workers,
		FalconTransport:         b.exchanges,
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
			FalconAPI:       falconv1alpha1.FalconAPI{Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: "absent"}},
			TokenParameters: falconv1alpha1.TokenParameters{DeletionPolicy: falconv1alpha1.TokenDeletionOrphan},
		},
	}
	if err := b.k8s.Create(ctx, fit); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if err := b.k8s.Get(ctx, client.ObjectKeyFromObject(fit), fit); err != nil {
			return err
		}
		if meta.FindStatusCondition(fit.Status.Conditions, falconv1alpha1.ConditionReady) != nil {
			return nil
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("the manager did not reconcile within two minutes")
}

// measureCreate creates N resources and waits until all are Ready.
func (b *bench) measureCreate(ctx context.Context, res *Result) error {
	n := b.cfg.N
	b.logf("creating %d FalconInstallationTokens (Falcon latency %s, %d workers)", n, b.cfg.Latency, b.cfg.Workers)
	b.names = make([]string, n)
	for i := range b.names {
		b.names[i] = fmt.Sprintf("token-%04d", i)
	}
	cpu0 := cpuSeconds()
	start := time.Now()
	if err := parallel(ctx, 16, n, func(ctx context.Context, i int) error {
		return b.k8s.Create(ctx, &falconv1alpha1.FalconInstallationToken{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: b.names[i]},
			Spec: falconv1alpha1.FalconInstallationTokenSpec{FalconAPI: falconv1alpha1.FalconAPI{
				Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: credentialsName},
			}},
		})
	}); err != nil {
		return err
	}
	last, err := b.tracker.waitReady(ctx, b.names, nil, 5*time.Minute+time.Duration(n)*b.cfg.Latency)
	if err != nil {
		return err
	}
	wall := last.Sub(start)
	cpu := cpuSeconds()
	for k := range cpu {
		cpu[k] -= cpu0[k]
	}
	// Reconciles that follow the last status write (the Secret's own event) run now; their
	// calls, if any, belong to the create.
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	calls := b.phaseCalls()
	res.Create = CreateResult{
		Wall:          metav1.Duration{Duration: wall.Round(time.Millisecond)},
		Floor:         metav1.Duration{Duration: time.Duration(n) * b.cfg.Latency / time.Duration(b.cfg.Workers)},
		Calls:         calls,
		CallsPerToken: float64(sum(calls)) / float64(n),
		CPU:           cpu,
	}
	b.logf("all %d Ready in %s (floor %s), %.3f calls per token %v", n, res.Create.Wall.Duration, res.Create.Floor.Duration, res.Create.CallsPerToken, calls)
	return nil
}

// measureRestart counts the calls of a manager that starts with every token in place: the
// reconcile of every resource and the first drift check.
func (b *bench) measureRestart(ctx context.Context, res *Result, restarted time.Time) error {
	if err := sleep(ctx, settleTime(b.cfg)/2); err != nil {
		return err
	}
	window := time.Since(restarted)
	res.Restart = RestartResult{Window: metav1.Duration{Duration: window.Round(time.Millisecond)}, Calls: b.phaseCalls()}
	b.logf("restart: %v", res.Restart.Calls)
	return nil
}

// measureSteady counts the calls while nothing changes.
func (b *bench) measureSteady(ctx context.Context, res *Result) error {
	window := time.Duration(b.cfg.Periods) * b.cfg.SyncPeriod
	b.logf("steady state: counting calls for %d sync periods of %s", b.cfg.Periods, b.cfg.SyncPeriod)
	b.phaseCalls() // whatever ran between the phases
	if err := sleep(ctx, window); err != nil {
		return err
	}
	calls := b.phaseCalls()
	res.Steady = SteadyResult{
		Window:                 metav1.Duration{Duration: window},
		Calls:                  calls,
		CallsPerTokenPerPeriod: float64(sum(calls)) / float64(b.cfg.N) / float64(b.cfg.Periods),
	}
	b.logf("%.4f calls per token per sync period %v", res.Steady.CallsPerTokenPerPeriod, calls)
	return nil
}

// measureDrift revokes one token and deletes another in the console and times their replacement.
func (b *bench) measureDrift(ctx context.Context, res *Result) error {
	revoked, deleted := b.names[0], b.names[len(b.names)-1]
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
	if _, err := b.tracker.waitReady(ctx, []string{revoked, deleted}, nil, timeout); err != nil {
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

// measureRateLimit forces a 429 window for the credential while resources change, and counts
// the requests that reached Falcon inside it.
func (b *bench) measureRateLimit(ctx context.Context, res *Result) error {
	m := min(b.cfg.RateLimitedCRs, len(b.names))
	if m == 0 {
		return nil
	}
	names := b.names[:m]
	b.logf("rate limit: forcing 429 for %s while %d resources change their label", b.cfg.RateLimitWindow, m)
	b.phaseCalls()
	b.exchanges.reset()
	until := time.Now().Add(b.cfg.RateLimitWindow)
	b.sim.ForceRateLimit(b.api.CID, until)
	generations := make([]int64, m)
	if err := parallel(ctx, 16, m, func(ctx context.Context, i int) error {
		fit := &falconv1alpha1.FalconInstallationToken{}
		if err := b.k8s.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: names[i]}, fit); err != nil {
			return err
		}
		patch := client.MergeFrom(fit.DeepCopy())
		fit.Spec.Label = "bench/relabelled/" + names[i]
		if err := b.k8s.Patch(ctx, fit, patch); err != nil {
			return err
		}
		generations[i] = fit.Generation
		return nil
	}); err != nil {
		return err
	}
	minGeneration := map[string]int64{}
	for i, n := range names {
		minGeneration[n] = generations[i]
	}
	last, err := b.tracker.waitReady(ctx, names, minGeneration, b.cfg.RateLimitWindow+2*time.Minute)
	if err != nil {
		return err
	}
	exchanges := b.exchanges.all()
	r := RateLimitResult{Window: metav1.Duration{Duration: b.cfg.RateLimitWindow}, Recovered: metav1.Duration{Duration: last.Sub(until).Round(time.Millisecond)}}
	first := slices.IndexFunc(exchanges, func(x exchange) bool { return x.status == http.StatusTooManyRequests })
	if first < 0 {
		return errors.New("rate limit: no request was answered 429; the window did not catch any request")
	}
	known := exchanges[first].received // from here on the client has the 429 and its Retryafter
	for i, x := range exchanges {
		if x.status == http.StatusTooManyRequests {
			r.Answered429++
		}
		switch {
		case i == first || !x.sent.Before(until):
		case x.sent.After(known):
			r.SentInWindow++
		case x.status == http.StatusTooManyRequests:
			r.InFlight++ // left before the first 429 came back
		}
	}
	res.RateLimit = r
	b.logf("429s answered: %d; already sent when the first came back: %d; sent inside the window after it: %d; all Ready %s after the window",
		r.Answered429, r.InFlight, r.SentInWindow, r.Recovered.Duration)
	return nil
}

// heapOf measures the live Go heap of the running in-process manager as the difference between
// the heap after GC with it running and after it stopped, then leaves it stopped.
func (b *bench) heapOf(ctx context.Context, stop func()) int64 {
	running := liveHeap()
	stop()
	_ = sleep(ctx, time.Second) // goroutines finish unwinding
	return running - liveHeap()
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// settleTime is how long a freshly started manager is given to reconcile every resource once.
func settleTime(cfg Config) time.Duration {
	return max(10*time.Second, 2*cfg.SyncPeriod)
}

// createUnrelated fills the cluster with Secrets the operator has nothing to do with.
func (b *bench) createUnrelated(ctx context.Context) error {
	data := make([]byte, b.cfg.UnrelatedSize)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	return parallel(ctx, 32, b.cfg.Unrelated, func(ctx context.Context, i int) error {
		return b.k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNamespace, Name: fmt.Sprintf("unrelated-%05d", i), Labels: map[string]string{"app": "unrelated"}},
			Data:       map[string][]byte{"payload": data},
		})
	})
}

// phaseCalls counts the simulator's calls since the last phase, by operation, and starts the next.
func (b *bench) phaseCalls() map[string]int {
	calls := map[string]int{}
	for _, c := range b.sim.CallLog() {
		calls[c.Op]++
		b.totals[c.Op]++
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

// exchangeLog records, on the client side, when each request to the simulator left and when
// its reply came back. A request that left after the client had a 429 reply ignored it; one
// that left before was already on its way, which no client can help.
type exchangeLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

type exchange struct {
	sent, received time.Time
	status         int
}

func (l *exchangeLog) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := l.next.RoundTrip(r)
	x := exchange{sent: sent, received: time.Now()}
	if err == nil {
		x.status = resp.StatusCode
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, x)
	return resp, err
}

func (l *exchangeLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = nil
}

// all returns the exchanges in the order their replies came back.
func (l *exchangeLog) all() []exchange {
	l.mu.Lock()
	out := slices.Clone(l.log)
	l.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].received.Before(out[j].received) })
	return out
}

// targets checks the run against the design's cost per token.
func targets(res *Result) []TargetResult {
	cfg := res.Config
	var out []TargetResult
	add := func(name, target, value string, met bool) {
		out = append(out, TargetResult{Name: name, Target: target, Value: value, Met: met})
	}
	add("Falcon calls per new token", "<= 1.02", fmt.Sprintf("%.3f", res.Create.CallsPerToken), res.Create.CallsPerToken <= 1.02)
	perPeriod := res.Steady.CallsPerTokenPerPeriod
	add("calls per token per sync period (steady)", "<= 0.02", fmt.Sprintf("%.4f", perPeriod), perPeriod <= 0.02)
	slack := cfg.SyncPeriod + time.Second
	worst := max(res.Drift.RevokedFoundAfter.Duration, res.Drift.DeletedFoundAfter.Duration)
	add("console revoke/delete replaced within one period", "<= "+slack.String(), worst.String(), worst <= slack)
	oauthOK := len(res.OAuth) > 0
	for _, n := range res.OAuth {
		oauthOK = oauthOK && n == 1
	}
	add("OAuth fetches per credential per manager run", "1", fmt.Sprint(res.OAuth), oauthOK)
	add("requests inside a 429 window after the 429", "0", fmt.Sprint(res.RateLimit.SentInWindow), res.RateLimit.SentInWindow == 0)
	ratio := float64(res.Create.Wall.Duration) / float64(res.Create.Floor.Duration)
	add("wall time until all Ready / floor", "<= 1.50", fmt.Sprintf("%.2f", ratio), ratio <= 1.5)
	if m := res.Memory; m != nil {
		add("RSS with / without unrelated Secrets", "<= 1.15", fmt.Sprintf("%.3f", m.RSSRatio), m.RSSRatio <= 1.15)
	}
	return out
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryMiB = procField(string(b), "MemTotal") / 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = runtime.GOOS + " " + strings.TrimSpace(string(b))
	}
	return m
}

// cpuSeconds is the CPU time used so far by kube-apiserver, etcd and this process.
func cpuSeconds() map[string]float64 {
	out := map[string]float64{}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		stat := string(data)
		open, closing := strings.Index(stat, "("), strings.LastIndex(stat, ")")
		if open < 0 || closing < 0 || closing+2 > len(stat) {
			continue
		}
		name := stat[open+1 : closing]
		if e.Name() == fmt.Sprint(self) {
			name = "manager+simulator+harness"
		} else if name != "kube-apiserver" && name != "etcd" {
			continue
		}
		fields := strings.Fields(stat[closing+2:])
		if len(fields) < 13 {
			continue
		}
		var user, system float64
		fmt.Sscan(fields[11], &user)
		fmt.Sscan(fields[12], &system)
		out[name] += (user + system) / 100 // clock ticks; USER_HZ is 100 on Linux
	}
	return out
}

// procField reads a "Name:   123 kB" line of a /proc file.
func procField(text, name string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			var n int64
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n
		}
	}
	return 0
}
