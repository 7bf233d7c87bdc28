package install_test

import (
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// chartDir and helmRelease are how the tests install the Helm chart.
const (
	chartDir      = "charts/falcon-token-operator"
	helmRelease   = "falcon-token-operator"
	helmNamespace = "falcon-token-operator"
)

// installMethod is one documented way to install the operator.
type installMethod struct {
	name string
	// render prints the manifests; it runs after BeforeSuite has found the tools.
	render func() manifests
	// namespaced installs watch only some namespaces and get no cluster-wide Secret access.
	namespaced bool
}

func helmTemplate(extraArgs ...string) manifests {
	args := append([]string{"template", helmRelease, chartDir, "--namespace", helmNamespace, "--include-crds"}, extraArgs...)
	return renderWith(helm, args...)
}

var installMethods = []installMethod{
	{name: "kustomize build config/default", render: func() manifests { return renderWith(kustomize, "build", "config/default") }},
	{name: "kustomize build config/namespaced", render: func() manifests { return renderWith(kustomize, "build", "config/namespaced") }, namespaced: true},
	{name: "helm template (default values)", render: func() manifests { return helmTemplate() }},
	{name: "helm template (ci/namespaced-values.yaml)", render: func() manifests {
		return helmTemplate("--values", chartDir+"/ci/namespaced-values.yaml")
	}, namespaced: true},
	// Setting only watchNamespaces is enough to keep the manager out of other namespaces.
	{name: "helm template --set watchNamespaces={team-b}", render: func() manifests {
		return helmTemplate("--set", "watchNamespaces={team-b}")
	}, namespaced: true},
}

var _ = Describe("Installing the operator", func() {
	for _, method := range installMethods {
		Context(method.name, Ordered, ContinueOnFailure, func() {
			var (
				objs    manifests
				manager managerPod
			)
			BeforeAll(func() {
				objs = method.render()
				manager = managerPodOf(objs)
			})

			It("is accepted by the API server", func(ctx context.Context) {
				applyDryRun(ctx, objs)
			})

			It("installs every CRD that `make manifests` generates", func() {
				var names []string
				for _, o := range objs {
					if o.GetKind() == "CustomResourceDefinition" {
						names = append(names, o.GetName())
					}
				}
				Expect(names).To(ConsistOf(generatedCRDNames()), "config/crd/kustomization.yaml and the chart's crds/ list every file of config/crd/bases")
			})

			It("tells the manager its own namespace, the default cluster resource namespace", func() {
				Expect(manager.ownNamespaceFromDownwardAPI()).To(BeTrue(), "POD_NAMESPACE comes from the downward API (metadata.namespace)")
			})

			It("runs the manager hardened", func() {
				expectHardened(manager)
				expectHealthProbes(manager)
			})

			It("logs JSON and serves metrics over authenticated HTTPS on :8443", func() {
				encoder, _ := manager.flag("zap-encoder")
				Expect(encoder).To(Equal("json"))
				expectSecureMetrics(manager, objs)
			})

			It("runs with leader election, so a second replica cannot reconcile at the same time", func() {
				leaderElect, _ := manager.flag("leader-elect")
				Expect(leaderElect).To(Equal("true"))
			})

			It("gives the manager's service account every permission the controllers need, and no wider", func() {
				sa := manager.deployment.Spec.Template.Spec.ServiceAccountName
				var serviceAccounts []string
				for _, s := range ofKind[corev1.ServiceAccount](objs, "ServiceAccount") {
					serviceAccounts = append(serviceAccounts, s.Namespace+"/"+s.Name)
				}
				Expect(serviceAccounts).To(ContainElement(manager.deployment.Namespace+"/"+sa), "the install creates the manager's service account")
				if method.namespaced {
					Expect(manager.watchedNamespaces()).NotTo(BeEmpty(), "a namespaced install sets --watch-namespaces")
				} else {
					Expect(manager.watchedNamespaces()).To(BeEmpty(), "the default install watches every namespace")
				}
				expectManagerPermissions(manager, objs)
			})

			It("is refused by the API server what it should not do: Secrets outside its namespaces, writes to the credentials", func(ctx context.Context) {
				expectAuthorizedByAPIServer(ctx, manager, objs)
			})
		})
	}
})

// generatedCRDNames are the names of the CRDs `make manifests` writes to config/crd/bases.
func generatedCRDNames() []string {
	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		for _, crd := range ofKind[apiextensionsv1.CustomResourceDefinition](decodeManifests(data), "CustomResourceDefinition") {
			names = append(names, crd.Name)
		}
	}
	Expect(names).NotTo(BeEmpty())
	return names
}
