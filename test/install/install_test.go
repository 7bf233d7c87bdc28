package install_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
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

			It("installs the CRDs of both kinds", func() {
				var names []string
				for _, o := range objs {
					if o.GetKind() == "CustomResourceDefinition" {
						names = append(names, o.GetName())
					}
				}
				Expect(names).To(ConsistOf("falconinstallationtokens.falcon.falconops.io", "falcontokensettings.falcon.falconops.io"))
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
		})
	}
})
