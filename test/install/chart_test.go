package install_test

import (
	"context"
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

	It("refuses rbac.scope=cluster beside watchNamespaces, which would open every namespace's Secrets", func() {
		out, err := helmCommand("template", helmRelease, chartDir, "--set", "rbac.scope=cluster", "--set", "watchNamespaces={team-a}").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("rbac.scope=cluster with watchNamespaces would let the manager read Secrets in every namespace"))
	})

	It("still accepts rbac.scope=namespace from older values files", func(ctx context.Context) {
		objs := helmTemplate("--set", "rbac.scope=namespace", "--set", "watchNamespaces={team-a}")
		expectManagerPermissions(managerPodOf(objs), objs)
	})

	It("moves the credentials' read access with clusterResourceNamespace", func(ctx context.Context) {
		objs := helmTemplate("--set", "clusterResourceNamespace=falcon-credentials", "--set", "watchNamespaces={team-a}")
		manager := managerPodOf(objs)
		credentialsNamespace, _ := manager.flag("cluster-resource-namespace")
		Expect(credentialsNamespace).To(Equal("falcon-credentials"))
		expectManagerPermissions(manager, objs)
		expectAuthorizedByAPIServer(ctx, manager, objs)
	})

	It("passes plain http:// endpoints only with allowInsecureEndpoints", func() {
		out, err := helmCommand("template", helmRelease, chartDir, "--set", "cloudEndpoints.simulator=http://falcon-simulator.test.svc:8080").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("cloudEndpoints.simulator is a plain http:// URL"))

		manager := managerPodOf(helmTemplate("--set", "cloudEndpoints.simulator=http://falcon-simulator.test.svc:8080", "--set", "allowInsecureEndpoints=true"))
		Expect(manager.container.Args).To(ContainElements("--allow-insecure-endpoints", "--cloud-endpoint=simulator=http://falcon-simulator.test.svc:8080"))
	})

	It("runs the manager with the cluster resource namespace and leader election timing of the defaults", func() {
		manager := managerPodOf(helmTemplate())
		Expect(manager.container.Args).To(ContainElements(
			"--cluster-resource-namespace="+helmNamespace,
			"--leader-elect-lease-duration=15s",
			"--leader-elect-renew-deadline=10s",
			"--leader-elect-retry-period=2s",
		))
		Expect(manager.container.Args).NotTo(ContainElement(HavePrefix("--allow-insecure-endpoints")), "http:// endpoints stay refused")
	})

	It("passes helm lint --strict with the default values and each file in ci/", func() {
		files, err := filepath.Glob(filepath.Join(repoRoot, chartDir, "ci", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(ContainElement(HaveSuffix("namespaced-values.yaml")))
		for _, args := range append([][]string{nil}, valuesArgs(files)...) {
			out, err := helmCommand(append([]string{"lint", "--strict", chartDir}, args...)...).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), "helm lint --strict %v:\n%s", args, out)
		}
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
			"--leader-elect-lease-duration=60s",
			"--leader-elect-renew-deadline=40s",
			"--leader-elect-retry-period=5s",
		))
		Expect(manager.container.Env).To(ContainElement(HaveField("Name", "HTTPS_PROXY")))
	})
})

func valuesArgs(files []string) [][]string {
	out := make([][]string, 0, len(files))
	for _, f := range files {
		out = append(out, []string{"--values", f})
	}
	return out
}
