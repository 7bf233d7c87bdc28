package install_test

import (
	"context"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The optional pieces around the metrics endpoint: a ServiceMonitor must find the metrics
// Service and speak HTTPS to it, and the NetworkPolicies must let scrapers, DNS and the APIs
// through.
var _ = Describe("Reaching the metrics endpoint", func() {
	It("config/prometheus scrapes the metrics Service of config/default over HTTPS", func() {
		installed := renderWith(kustomize, "build", "config/default")
		expectMonitorScrapes(renderWith(kustomize, "build", "config/prometheus"), installed)
	})

	It("the chart's ServiceMonitor scrapes its metrics Service over HTTPS", func() {
		installed := helmTemplate("--set", "metrics.serviceMonitor.enabled=true")
		expectMonitorScrapes(installed, installed)
	})

	It("config/network-policy and its egress example are valid and let the manager's traffic through", func(ctx context.Context) {
		policies := renderWith(kustomize, "build", "config/network-policy")
		example, err := os.ReadFile(filepath.Join(repoRoot, "config", "network-policy", "allow-egress.yaml"))
		Expect(err).NotTo(HaveOccurred())
		policies = append(policies, decodeManifests(example)...)
		applyDryRun(ctx, policies)
		expectPoliciesAllowManagerTraffic(policies, managerPodOf(renderWith(kustomize, "build", "config/default")))
	})

	It("the chart's network policies let the manager's traffic through", func() {
		installed := helmTemplate("--values", chartDir+"/ci/namespaced-values.yaml")
		expectPoliciesAllowManagerTraffic(installed, managerPodOf(installed))
	})
})

// expectMonitorScrapes checks that the one ServiceMonitor in monitors selects a Service in
// installed that routes to the manager's HTTPS metrics port, by that port's name.
func expectMonitorScrapes(monitors, installed manifests) {
	var monitor map[string]any
	for _, o := range monitors {
		if o.GetKind() == "ServiceMonitor" {
			Expect(monitor).To(BeNil(), "one ServiceMonitor")
			monitor = o.Object
		}
	}
	Expect(monitor).NotTo(BeNil(), "a ServiceMonitor")
	Expect(monitor).To(HaveKeyWithValue("spec", HaveKeyWithValue("endpoints", HaveLen(1))))
	spec := monitor["spec"].(map[string]any)
	endpoint := spec["endpoints"].([]any)[0].(map[string]any)
	Expect(endpoint).To(HaveKeyWithValue("scheme", "https"))
	Expect(endpoint).To(HaveKey("bearerTokenFile"), "the scraper authenticates: the endpoint refuses anonymous callers")
	matchLabels := map[string]string{}
	for k, v := range spec["selector"].(map[string]any)["matchLabels"].(map[string]any) {
		matchLabels[k] = v.(string)
	}

	manager := managerPodOf(installed)
	var scraped bool
	for _, svc := range ofKind[corev1.Service](installed, "Service") {
		if !labels.SelectorFromSet(matchLabels).Matches(labels.Set(svc.Labels)) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == endpoint["port"] && manager.selectedBy(svc.Spec.Selector) && manager.containerPort(p.TargetPort) == 8443 {
				scraped = true
			}
		}
	}
	Expect(scraped).To(BeTrue(), "the ServiceMonitor selects a Service port %q that reaches the manager's metrics port", endpoint["port"])
}

// expectPoliciesAllowManagerTraffic checks that every NetworkPolicy applies to the manager pod,
// that scrapers in namespaces labelled metrics=enabled reach port 8443, and that an egress
// policy, if any, lets DNS and HTTPS out.
func expectPoliciesAllowManagerTraffic(objs manifests, manager managerPod) {
	policies := ofKind[networkingv1.NetworkPolicy](objs, "NetworkPolicy")
	Expect(policies).NotTo(BeEmpty())
	metricsNamespace := labels.Set{"metrics": "enabled"}
	var scrapeAllowed bool
	for _, np := range policies {
		selector, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		Expect(err).NotTo(HaveOccurred())
		Expect(selector.Matches(labels.Set(manager.deployment.Spec.Template.Labels))).To(BeTrue(), "NetworkPolicy %s selects the manager pod", np.Name)
		for _, rule := range np.Spec.Ingress {
			if allowsPort(rule.Ports, corev1.ProtocolTCP, 8443) && fromNamespaceMatching(rule.From, metricsNamespace) {
				scrapeAllowed = true
			}
		}
		if len(np.Spec.Egress) > 0 {
			Expect(egressAllows(np.Spec.Egress, corev1.ProtocolUDP, 53)).To(BeTrue(), "%s lets DNS out", np.Name)
			Expect(egressAllows(np.Spec.Egress, corev1.ProtocolTCP, 443)).To(BeTrue(), "%s lets HTTPS to the Falcon and Kubernetes APIs out", np.Name)
		}
	}
	Expect(scrapeAllowed).To(BeTrue(), "an ingress rule lets namespaces labelled metrics=enabled reach port 8443")
}

func allowsPort(ports []networkingv1.NetworkPolicyPort, protocol corev1.Protocol, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if (p.Protocol == nil || *p.Protocol == protocol) && (p.Port == nil || *p.Port == intstr.FromInt32(port)) {
			return true
		}
	}
	return false
}

func fromNamespaceMatching(peers []networkingv1.NetworkPolicyPeer, namespaceLabels labels.Set) bool {
	for _, peer := range peers {
		if peer.NamespaceSelector == nil {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		Expect(err).NotTo(HaveOccurred())
		if selector.Matches(namespaceLabels) {
			return true
		}
	}
	return false
}

func egressAllows(rules []networkingv1.NetworkPolicyEgressRule, protocol corev1.Protocol, port int32) bool {
	for _, rule := range rules {
		if allowsPort(rule.Ports, protocol, port) {
			return true
		}
	}
	return false
}
