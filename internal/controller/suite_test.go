package controller_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
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
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// The integration suite: a real kube-apiserver and etcd (envtest), the real manager with every
// controller, and the Falcon simulator over HTTP. The manager, its drift check and the simulator
// run on one fake clock that the tests step: renewals, grace periods, rate-limit windows and sync
// periods pass when a test says so, not in real time.

const (
	// syncPeriod is the manager's --sync-period, on the fake clock; a problem a person must fix
	// is also rechecked after it in real time.
	syncPeriod = 3 * time.Second
	// operatorNamespace is the manager's cluster resource namespace: the credentials of the
	// cluster-scoped kinds live there.
	operatorNamespace = "falcon-operator"
)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	sim       *falcontest.Simulator
	simServer *httptest.Server
	clock     = clocktesting.NewFakeClock(time.Now())
	logs      = &syncBuffer{}
	manager   *runningManager
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Controller suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(false), zap.Level(zapcore.DebugLevel)))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run `make test` so KUBEBUILDER_ASSETS is set")

	k8sClient, err = client.New(cfg, client.Options{Scheme: newScheme()})
	Expect(err).NotTo(HaveOccurred())

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}
	Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())

	// Every OAuth fetch of the suite comes from one address: lift the per-address limit, which
	// the frozen clock would otherwise never let slide.
	sim = falcontest.New(falcontest.Options{Now: clock.Now, TokenRequestsPerIP: 1 << 20})
	simServer = httptest.NewServer(sim)
	DeferCleanup(simServer.Close)

	manager = startManager()
})

var _ = AfterSuite(func(ctx SpecContext) {
	By("checking that no secret reached a log line, event, status or metric")
	expectNoLeaks(ctx)
	manager.stop()
	Expect(testEnv.Stop()).To(Succeed())
})

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(falconv1alpha1.AddToScheme(scheme)).To(Succeed())
	return scheme
}

// runningManager is the operator's manager running in this process.
type runningManager struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startManager starts the manager as main.go wires it, with the simulator registered as the
// cloud "sim".
func startManager() *runningManager {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 newScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controller.CacheOptions(nil),
		// The restart tests start a second manager in this process, with the same controller names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	endpoints, err := falcon.NewEndpoints(map[string]string{"sim": simServer.URL}, true)
	Expect(err).NotTo(HaveOccurred())
	Expect(controller.SetupWithManager(mgr, controller.Options{
		SyncPeriod:               syncPeriod,
		ClusterResourceNamespace: operatorNamespace,
		Endpoints:                endpoints,
		Clients:                  falcon.NewCache(nil),
		Clock:                    clock,
		MaxConcurrentReconciles:  4,
	})).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	m := &runningManager{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(m.done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return m
}

func (m *runningManager) stop() {
	m.cancel()
	Eventually(m.done).Should(BeClosed())
}

// syncBuffer collects the manager's log output for the leak checks.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _ = GinkgoWriter.Write(p) // a copy for the test's output; the leak checks read buf
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newNamespace creates a namespace for one test, removed afterwards.
func newNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fit-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		orphanTokens(ctx, ns.Name)
		Expect(k8sClient.Delete(ctx, ns)).To(Succeed())
	})
	return ns.Name
}

// orphanTokens deletes the FalconInstallationTokens a test left in namespace, with deletionPolicy
// Orphan: envtest has no namespace controller, and a resource left behind would keep working
// (renewals as later tests step the clock) beside the tests that follow.
func orphanTokens(ctx context.Context, namespace string) {
	GinkgoHelper()
	list := &falconv1alpha1.FalconInstallationTokenList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(namespace))).To(Succeed())
	for i := range list.Items {
		fit := &list.Items[i]
		patch := client.MergeFrom(fit.DeepCopy())
		fit.Spec.DeletionPolicy = falconv1alpha1.TokenDeletionOrphan
		Expect(client.IgnoreNotFound(k8sClient.Patch(ctx, fit, patch))).To(Succeed())
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, fit))).To(Succeed())
	}
	Eventually(func() ([]falconv1alpha1.FalconInstallationToken, error) {
		err := k8sClient.List(ctx, list, client.InNamespace(namespace))
		return list.Items, err
	}).Should(BeEmpty())
}

// newAPIClient registers a fresh API client (and so a fresh CID) in the simulator and stores
// its credentials in a Secret in namespace.
func newAPIClient(ctx context.Context, namespace, secretName string, scopes ...string) falcontest.APIClient {
	GinkgoHelper()
	c, err := testutil.NewAPIClient(ctx, k8sClient, sim, namespace, secretName, scopes...)
	Expect(err).NotTo(HaveOccurred())
	return c
}
