package install_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// These tests render every way of installing the operator (kustomize config/default and
// config/namespaced, the Helm chart with its default and namespaced values) with the pinned
// tools from bin/, and send the result to a real kube-apiserver as a server-side apply dry run:
// what `kubectl apply --server-side` or `helm install` would meet.

var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	repoRoot  string
	kustomize string
	helm      string
)

func TestInstall(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Install manifests suite")
}

var _ = BeforeSuite(func() {
	kustomize = toolFromEnv("KUSTOMIZE")
	helm = toolFromEnv("HELM")

	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())

	trackToolInputs()

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "start envtest; run `make test` so KUBEBUILDER_ASSETS is set")
	k8sClient, err = client.New(cfg, client.Options{})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// toolFromEnv returns the path of a pinned tool binary that `make test` passes in the
// environment variable name.
func toolFromEnv(name string) string {
	path := os.Getenv(name)
	Expect(path).NotTo(BeEmpty(), "%s is not set: run `make test`, which installs the pinned tool into bin/ and passes its path", name)
	Expect(path).To(BeAnExistingFile(), "%s=%s: run `make %s` to install it", name, path, strings.ToLower(name))
	abs, err := filepath.Abs(path) // the tools run from the repository root
	Expect(err).NotTo(HaveOccurred())
	return abs
}

// trackToolInputs reads every file kustomize and helm render from. `go test` caches a passing
// result until a file this process opened changes; files only the tools open would not count.
func trackToolInputs() {
	for _, dir := range []string{"config", "charts"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, entry fs.DirEntry, err error) error {
			if err != nil || entry.IsDir() {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		Expect(err).NotTo(HaveOccurred())
	}
}
