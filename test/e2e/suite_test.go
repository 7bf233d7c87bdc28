// Package e2e_test is the end-to-end suite: the built manager binary against a real control
// plane and the Falcon simulator, checked from the outside.
//
// The arrangement:
//
//   - kube-apiserver and etcd run as processes started by controller-runtime's envtest, from the
//     binaries hack/setup-envtest.sh builds (KUBEBUILDER_ASSETS), with the CRDs of
//     config/crd/bases installed; then kube-controller-manager from the same directory, with
//     the namespace controller and the garbage collector only, so that namespaces are deleted
//     and owned objects collected as in a real cluster.
//   - The manager is built once (go build) and every replica runs as its own OS process with a
//     kubeconfig file, leader election and JSON logs captured to a file per process. Tests kill it
//     with SIGKILL, stop it with SIGTERM and start it again.
//   - The Falcon simulator (internal/falcon/falcontest) runs inside this test process, served over
//     TCP on 127.0.0.1, so that the test reads its token store, counters and call log directly
//     while the manager talks to it over the network like to Falcon. Each manager process is given
//     its own path prefix on the simulator's address (--cloud-endpoint sim=http://ADDR/m<N>); the
//     prefix is stripped before the simulator sees the request, and lets the test attribute every
//     request to the process that sent it, to compare with that process's own metrics.
//
// The control plane and the simulator are shared; everything else belongs to one scenario (see
// scenario): its namespaces, its API clients (and so its customer accounts), and its manager
// processes, which watch only its namespaces and keep their lease there. So each scenario runs
// alone (-ginkgo.focus) or in any order, and ends with its own leak check and metrics
// comparison. The counts they measure are printed at the end.
package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// Timing of every manager process. The lease is short so that a restarted or standby replica
// takes over within seconds; the sync period is long enough that a problem a person must fix
// is rechecked only a few times while scenario 7 watches, and scenarios that need the drift
// check sooner choose their own.
const (
	syncPeriod    = time.Minute
	leaseDuration = 5 * time.Second
	renewDeadline = 4 * time.Second
	retryPeriod   = time.Second
	// gracePeriod is terminationGracePeriodSeconds of config/manager/manager.yaml.
	gracePeriod = 10 * time.Second
	// leaseName is the manager's LeaderElectionID; the lease lives in the scenario's namespace.
	leaseName = "falcon-token-operator.falconops.io"
)

var (
	repoRoot          string
	workDir           string // the manager binary, the kubeconfig and the log of every process
	managerBinary     string
	kubeconfig        string
	testEnv           *envtest.Environment
	controllerManager *process
	k8sClient         client.WithWatch
	sim               *falcontest.Simulator
	simulator         *simServer
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "End-to-end suite")
}

var _ = BeforeSuite(func() {
	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	workDir, err = os.MkdirTemp("", "falcon-e2e-")
	Expect(err).NotTo(HaveOccurred())

	By("building the manager binary")
	started := time.Now()
	managerBinary = filepath.Join(workDir, "manager")
	build := exec.Command("go", "build", "-o", managerBinary, ".")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build: %s", out)
	record("setup", "manager build", time.Since(started).Round(time.Second))

	By("starting kube-apiserver and etcd, with the CRDs")
	started = time.Now()
	assets := envtestAssets()
	testEnv = &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	_, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(testEnv.Stop()).To(Succeed()) })

	admin, err := testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, &rest.Config{QPS: -1})
	Expect(err).NotTo(HaveOccurred())
	raw, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(workDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, raw, 0o600)).To(Succeed())
	k8sClient, err = client.NewWithWatch(admin.Config(), client.Options{Scheme: newScheme()})
	Expect(err).NotTo(HaveOccurred())

	By("starting kube-controller-manager: the namespace controller and the garbage collector")
	controllerManager = startControllerManager(assets, kubeconfig)
	DeferCleanup(func() { controllerManager.terminate(30 * time.Second) })
	record("setup", "control plane start", time.Since(started).Round(time.Second))

	By("serving the Falcon simulator")
	sim = falcontest.New(falcontest.Options{})
	simulator = startSimServer(sim)
	DeferCleanup(simulator.close)
})

var _ = AfterSuite(func() {
	stopAllManagers()
})

var _ = ReportAfterSuite("scenario counts", func(r Report) {
	printReport(os.Stdout)
	if workDir == "" {
		return
	}
	if r.SuiteSucceeded {
		_ = os.RemoveAll(workDir)
		return
	}
	fmt.Printf("\nThe logs of every process, the kubeconfig and the manager binary are kept in %s\n", workDir)
	printLogTails(os.Stdout, 40)
})

// envtestAssets is KUBEBUILDER_ASSETS as `make test-e2e` sets it, or else what
// hack/setup-envtest.sh builds (once; it caches the binaries in bin/).
func envtestAssets() string {
	if assets := os.Getenv("KUBEBUILDER_ASSETS"); assets != "" {
		return assets
	}
	setup := exec.Command(filepath.Join(repoRoot, "hack", "setup-envtest.sh"))
	setup.Stderr = GinkgoWriter
	out, err := setup.Output()
	Expect(err).NotTo(HaveOccurred(), "hack/setup-envtest.sh")
	return strings.TrimSpace(string(out))
}

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(falconv1alpha1.AddToScheme(scheme)).To(Succeed())
	return scheme
}
