package install_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// metricsCertDir is where controller-runtime's metrics server looks for tls.crt and tls.key
// (its default CertDir, with TMPDIR unset); without them it serves a self-signed certificate.
const metricsCertDir = "/tmp/k8s-metrics-server/serving-certs"

// The optional pieces around the metrics endpoint: a ServiceMonitor must find the metrics
// Service, speak HTTPS to it and verify whom it talks to (it sends Prometheus' token), and the
// NetworkPolicies must let scrapers, DNS and the APIs through.
var _ = Describe("Reaching the metrics endpoint", func() {
	It("config/prometheus never skips certificate verification", func() {
		monitor := serviceMonitorOf(renderWith(kustomize, "build", "config/prometheus"))
		Expect(monitor.TLSConfig.InsecureSkipVerify).To(BeFalse())
		Expect(monitor.TLSConfig.ServerName).NotTo(BeEmpty())
		Expect(monitor.TLSConfig.CA).NotTo(BeNil(), "a CA to verify against")
	})

	It("config/default with its [PROMETHEUS] and [CERTMANAGER] switches on scrapes the metrics Service over verified HTTPS", func(ctx context.Context) {
		installed := kustomizeDefaultWith("- ../prometheus", "- ../certmanager", "- path: cert_metrics_manager_patch.yaml")
		applyDryRun(ctx, servedOnly(installed))
		expectVerifiedScrape(installed)
	})

	It("the chart refuses a ServiceMonitor that could not verify the manager's certificate", func() {
		out, err := helmCommand("template", helmRelease, chartDir, "--set", "metrics.serviceMonitor.enabled=true").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("metrics.serviceMonitor verifies the metrics endpoint's certificate, but the manager has none"))
	})

	It("the chart's ServiceMonitor verifies the certificate cert-manager issues for the metrics Service", func(ctx context.Context) {
		installed := helmTemplate("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.tls.certManager.enabled=true")
		applyDryRun(ctx, servedOnly(installed))
		expectVerifiedScrape(installed)
	})

	It("the chart's ServiceMonitor verifies against a CA bundle of your own (ci/monitoring-values.yaml)", func() {
		installed := helmTemplate("--values", chartDir+"/ci/monitoring-values.yaml")
		expectVerifiedScrape(installed)
		Expect(serviceMonitorOf(installed).TLSConfig.CA.ConfigMap).To(Equal(&keyRef{Name: "cluster-ca-bundle", Key: "ca.crt"}))
		Expect(ofKind[certificate](installed, "Certificate")[0].Spec.IssuerRef).To(Equal(issuerRef{Kind: "ClusterIssuer", Name: "cluster-ca"}))
		Expect(namesOf(installed, "Issuer", "")).To(BeEmpty(), "no self-signed Issuer beside the one asked for")
	})

	It("the chart's manager serves the certificate of metrics.tls.secretName, which its ServiceMonitor trusts", func() {
		installed := helmTemplate("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.tls.secretName=corp-metrics-tls")
		expectVerifiedScrape(installed)
		Expect(servedCertSecret(managerPodOf(installed))).To(Equal("corp-metrics-tls"))
		Expect(ofKind[certificate](installed, "Certificate")).To(BeEmpty())
	})

	It("the chart's ServiceMonitor skips verification only when a value asks for it", func() {
		monitor := serviceMonitorOf(helmTemplate("--set", "metrics.serviceMonitor.enabled=true",
			"--set", "metrics.serviceMonitor.tlsConfig.insecureSkipVerify=true"))
		Expect(monitor.TLSConfig.InsecureSkipVerify).To(BeTrue())
	})

	It("config/network-policy and its egress example are valid and let the manager's traffic through", func(ctx context.Context) {
		policies := renderWith(kustomize, "build", "config/network-policy")
		example, err := os.ReadFile(filepath.Join(repoRoot, "config", "network-policy", "allow-egress.yaml"))
		Expect(err).NotTo(HaveOccurred())
		policies = append(policies, decodeManifests(example)...)
		applyDryRun(ctx, policies)
		expectPoliciesAllowManagerTraffic(policies, managerPodOf(renderWith(kustomize, "build", "config/default")))
	})

	It("the chart restricts ingress to the manager by default, and leaves egress alone", func() {
		installed := helmTemplate()
		expectPoliciesAllowManagerTraffic(installed, managerPodOf(installed))
		for _, np := range ofKind[networkingv1.NetworkPolicy](installed, "NetworkPolicy") {
			Expect(np.Spec.PolicyTypes).NotTo(ContainElement(networkingv1.PolicyTypeEgress),
				"%s: an egress policy could cut the manager off from DNS, the API server or a proxy it cannot know of", np.Name)
		}
	})

	It("the chart's network policies let the manager's traffic through, to its proxy and endpoints too", func() {
		installed := helmTemplate("--values", chartDir+"/ci/namespaced-values.yaml")
		manager := managerPodOf(installed)
		expectPoliciesAllowManagerTraffic(installed, manager)
		var egress []networkingv1.NetworkPolicyEgressRule
		for _, np := range ofKind[networkingv1.NetworkPolicy](installed, "NetworkPolicy") {
			egress = append(egress, np.Spec.Egress...)
		}
		Expect(egress).NotTo(BeEmpty(), "ci/namespaced-values.yaml enables the egress policy")
		for _, arg := range manager.container.Args {
			if endpoint, ok := strings.CutPrefix(arg, "--cloud-endpoint="); ok {
				_, url, _ := strings.Cut(endpoint, "=")
				Expect(egressAllows(egress, corev1.ProtocolTCP, portOf(url))).To(BeTrue(), "egress to cloud endpoint %s", url)
			}
		}
		for _, env := range manager.container.Env {
			if env.Name == "HTTPS_PROXY" {
				Expect(egressAllows(egress, corev1.ProtocolTCP, portOf(env.Value))).To(BeTrue(), "egress to the proxy %s", env.Value)
			}
		}
	})
})

// portOf is the TCP port a URL connects to.
func portOf(url string) int32 {
	scheme, rest, _ := strings.Cut(url, "://")
	host, _, _ := strings.Cut(rest, "/")
	if _, port, ok := strings.Cut(host, ":"); ok {
		n, err := strconv.Atoi(port)
		Expect(err).NotTo(HaveOccurred(), url)
		return int32(n)
	}
	if scheme == "http" {
		return 80
	}
	return 443
}

// kustomizeDefaultWith renders config/default with some of its commented switches turned on, as a
// user would: in a copy of config/, each given line is uncommented.
func kustomizeDefaultWith(lines ...string) manifests {
	dir := GinkgoT().TempDir()
	Expect(os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "config")))).To(Succeed())
	file := filepath.Join(dir, "default", "kustomization.yaml")
	data, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	text := string(data)
	for _, line := range lines {
		Expect(text).To(ContainSubstring("\n#"+line+"\n"), "config/default/kustomization.yaml has the switch %q", line)
		text = strings.Replace(text, "\n#"+line+"\n", "\n"+line+"\n", 1)
	}
	Expect(os.WriteFile(file, []byte(text), 0o644)).To(Succeed())
	return renderWith(kustomize, "build", filepath.Join(dir, "default"))
}

// The parts of the Prometheus Operator's ServiceMonitor and cert-manager's Certificate the tests
// look at.
type (
	keyRef struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	tlsConfig struct {
		ServerName         string `json:"serverName"`
		InsecureSkipVerify bool   `json:"insecureSkipVerify"`
		CA                 *struct {
			Secret    *keyRef `json:"secret"`
			ConfigMap *keyRef `json:"configMap"`
		} `json:"ca"`
	}
	monitorEndpoint struct {
		Port            string    `json:"port"`
		Scheme          string    `json:"scheme"`
		BearerTokenFile string    `json:"bearerTokenFile"`
		TLSConfig       tlsConfig `json:"tlsConfig"`
	}
	serviceMonitor struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Endpoints []monitorEndpoint    `json:"endpoints"`
			Selector  metav1.LabelSelector `json:"selector"`
		} `json:"spec"`
	}
	issuerRef struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	}
	certificate struct {
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			SecretName string    `json:"secretName"`
			DNSNames   []string  `json:"dnsNames"`
			IssuerRef  issuerRef `json:"issuerRef"`
		} `json:"spec"`
	}
)

// serviceMonitorOf returns the one endpoint of the one ServiceMonitor in objs.
func serviceMonitorOf(objs manifests) monitorEndpoint {
	monitors := ofKind[serviceMonitor](objs, "ServiceMonitor")
	Expect(monitors).To(HaveLen(1), "one ServiceMonitor")
	Expect(monitors[0].Spec.Endpoints).To(HaveLen(1), "one endpoint")
	return monitors[0].Spec.Endpoints[0]
}

// scrapedService checks that the one ServiceMonitor selects a Service that routes to the
// manager's HTTPS metrics port, by that port's name, with the scraper's token, and returns it.
func scrapedService(objs manifests) *corev1.Service {
	monitor := ofKind[serviceMonitor](objs, "ServiceMonitor")[0]
	endpoint := serviceMonitorOf(objs)
	Expect(endpoint.Scheme).To(Equal("https"))
	Expect(endpoint.BearerTokenFile).NotTo(BeEmpty(), "the scraper authenticates: the endpoint refuses anonymous callers")
	selector, err := metav1.LabelSelectorAsSelector(&monitor.Spec.Selector)
	Expect(err).NotTo(HaveOccurred())

	manager := managerPodOf(objs)
	for _, svc := range ofKind[corev1.Service](objs, "Service") {
		if svc.Namespace != monitor.Namespace || !selector.Matches(labels.Set(svc.Labels)) || !manager.selectedBy(svc.Spec.Selector) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == endpoint.Port && manager.containerPort(p.TargetPort) == 8443 {
				return svc
			}
		}
	}
	Fail("the ServiceMonitor selects no Service port " + endpoint.Port + " that reaches the manager's metrics port")
	return nil
}

// servedCertSecret is the Secret the manager serves its metrics certificate from, "" if none.
func servedCertSecret(m managerPod) string {
	for _, env := range m.container.Env {
		Expect(env.Name).NotTo(Equal("TMPDIR"), "TMPDIR would move the metrics server's certificate directory")
	}
	for _, mount := range m.container.VolumeMounts {
		if mount.MountPath != metricsCertDir {
			continue
		}
		for _, v := range m.deployment.Spec.Template.Spec.Volumes {
			if v.Name == mount.Name && v.Secret != nil {
				Expect(v.Secret.Optional).To(Or(BeNil(), HaveValue(BeFalse())),
					"the pod waits for the certificate instead of serving a self-signed one")
				return v.Secret.SecretName
			}
		}
	}
	return ""
}

// expectVerifiedScrape checks the chain a scrape is verified along: the ServiceMonitor checks
// the certificate for the metrics Service's DNS name against a CA; the manager serves a
// certificate from a mounted Secret; and where cert-manager issues it, the Certificate names the
// Service and writes that Secret, from an Issuer the install has or the one configured.
func expectVerifiedScrape(objs manifests) {
	svc := scrapedService(objs)
	endpoint := serviceMonitorOf(objs)
	Expect(endpoint.TLSConfig.InsecureSkipVerify).To(BeFalse(), "the scraper verifies the certificate")
	serverName := svc.Name + "." + svc.Namespace + ".svc"
	Expect(endpoint.TLSConfig.ServerName).To(Equal(serverName), "the certificate is checked for the metrics Service's name")
	Expect(endpoint.TLSConfig.CA).NotTo(BeNil(), "a CA to verify against")
	Expect(endpoint.TLSConfig.CA.Secret == nil).NotTo(Equal(endpoint.TLSConfig.CA.ConfigMap == nil), "the CA comes from a Secret or a ConfigMap")

	served := servedCertSecret(managerPodOf(objs))
	Expect(served).NotTo(BeEmpty(), "the manager mounts its metrics certificate at %s", metricsCertDir)
	if ca := endpoint.TLSConfig.CA.Secret; ca != nil {
		Expect(*ca).To(Equal(keyRef{Name: served, Key: "ca.crt"}), "the scraper trusts the CA published with the served certificate")
	}

	for _, cert := range ofKind[certificate](objs, "Certificate") {
		Expect(cert.Namespace).To(Equal(svc.Namespace))
		Expect(cert.Spec.SecretName).To(Equal(served), "cert-manager writes the Secret the manager serves")
		Expect(cert.Spec.DNSNames).To(ContainElement(serverName))
		if cert.Spec.IssuerRef.Kind == "Issuer" {
			Expect(namesOf(objs, "Issuer", cert.Namespace)).To(ContainElement(cert.Spec.IssuerRef.Name), "the Certificate's Issuer is installed beside it")
		}
	}
}

// namesOf lists the names of the objects of one kind, in one namespace unless namespace is "".
func namesOf(objs manifests, kind, namespace string) []string {
	var names []string
	for _, o := range objs {
		if o.GetKind() == kind && (namespace == "" || o.GetNamespace() == namespace) {
			names = append(names, o.GetName())
		}
	}
	return names
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
