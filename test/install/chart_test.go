package install_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The Helm chart", func() {
	// Helm installs crds/ verbatim and templates the manager's rules from files/, so a stale copy
	// would install an old schema or old permissions.
	It("ships the CRDs and manager rules that `make manifests` generated", func() {
		generated, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(generated).NotTo(BeEmpty())
		copies := map[string]string{
			filepath.Join(repoRoot, "config", "rbac", "role.yaml"): filepath.Join(repoRoot, chartDir, "files", "manager-role.yaml"),
		}
		for _, crd := range generated {
			copies[crd] = filepath.Join(repoRoot, chartDir, "crds", filepath.Base(crd))
		}
		shipped, err := filepath.Glob(filepath.Join(repoRoot, chartDir, "crds", "*"))
		Expect(err).NotTo(HaveOccurred())
		Expect(shipped).To(HaveLen(len(generated)), "the chart's crds/ holds exactly the generated CRDs; run `make manifests`")

		for source, chartCopy := range copies {
			want, err := os.ReadFile(source)
			Expect(err).NotTo(HaveOccurred())
			got, err := os.ReadFile(chartCopy)
			Expect(err).NotTo(HaveOccurred(), "run `make manifests`")
			Expect(string(got)).To(Equal(string(want)), "%s is stale; run `make manifests`", chartCopy)
		}
	})

	It("refuses a namespace-scoped install that names no namespace", func() {
		out, err := helmCommand("template", helmRelease, chartDir, "--set", "rbac.scope=namespace").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("rbac.scope=namespace needs watchNamespaces"))
	})

	It("refuses several replicas without leader election", func() {
		out, err := helmCommand("template", helmRelease, chartDir, "--set", "replicaCount=2", "--set", "leaderElection.enabled=false").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("needs leaderElection.enabled=true"))
	})

	It("passes cloud endpoints, cluster name, sync period and proxy settings to the manager", func() {
		manager := managerPodOf(helmTemplate("--values", chartDir+"/ci/namespaced-values.yaml"))
		Expect(manager.container.Args).To(ContainElements(
			"--cloud-endpoint=corp-proxy=https://falcon-proxy.egress.svc:8443",
			"--cluster-name=prod-eu",
			"--sync-period=5m",
			"--zap-log-level=debug",
			"--watch-namespaces=falcon-system,team-a",
		))
		Expect(manager.container.Env).To(ContainElement(HaveField("Name", "HTTPS_PROXY")))
	})
})
