package install_test

import (
	"strings"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// managerContainerName is the container that runs /manager in every install method.
const managerContainerName = "manager"

// managerPod is the one manager Deployment of a rendering and its manager container.
type managerPod struct {
	deployment *appsv1.Deployment
	container  corev1.Container
}

func managerPodOf(objs manifests) managerPod {
	deployments := ofKind[appsv1.Deployment](objs, "Deployment")
	Expect(deployments).To(HaveLen(1), "one manager Deployment")
	d := deployments[0]
	var names []string
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == managerContainerName {
			return managerPod{deployment: d, container: c}
		}
		names = append(names, c.Name)
	}
	Expect(names).To(ContainElement(managerContainerName), "Deployment %s runs the manager container", d.Name)
	return managerPod{}
}

// flag returns the value of --name=value in the manager's arguments, and whether it is there.
// A bare --name counts as "true".
func (m managerPod) flag(name string) (string, bool) {
	for _, arg := range m.container.Args {
		if arg == "--"+name {
			return "true", true
		}
		if value, ok := strings.CutPrefix(arg, "--"+name+"="); ok {
			return value, true
		}
	}
	return "", false
}

// watchedNamespaces is what --watch-namespaces restricts the manager to; nil means all.
func (m managerPod) watchedNamespaces() []string {
	value, _ := m.flag("watch-namespaces")
	if value == "" {
		return nil
	}
	return strings.Split(value, ",")
}

// clusterResourceNamespace is where the cluster-scoped kinds read their credentials:
// --cluster-resource-namespace, else the manager's own namespace, which it learns from
// POD_NAMESPACE (the downward API).
func (m managerPod) clusterResourceNamespace() string {
	if ns, ok := m.flag("cluster-resource-namespace"); ok {
		return ns
	}
	Expect(m.ownNamespaceFromDownwardAPI()).To(BeTrue(), "without --cluster-resource-namespace the manager needs POD_NAMESPACE")
	return m.deployment.Namespace
}

// ownNamespaceFromDownwardAPI tells whether POD_NAMESPACE is set to the pod's namespace.
func (m managerPod) ownNamespaceFromDownwardAPI() bool {
	for _, env := range m.container.Env {
		if env.Name == "POD_NAMESPACE" {
			return env.Value == "" && env.ValueFrom != nil && env.ValueFrom.FieldRef != nil &&
				env.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
		}
	}
	return false
}

// containerPort resolves a Service targetPort or probe port, by name or number, to the manager
// container's port number; 0 when the container does not expose it.
func (m managerPod) containerPort(port intstr.IntOrString) int32 {
	for _, p := range m.container.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort
		}
	}
	if port.Type == intstr.Int {
		return port.IntVal // a port need not be declared to be served
	}
	return 0
}

func (m managerPod) selectedBy(selector map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(m.deployment.Spec.Template.Labels))
}

// expectHardened checks the pod runs as the restricted Pod Security Standard requires: non-root,
// read-only root filesystem, no privilege escalation, no capabilities, the runtime's seccomp
// profile. Container settings override the pod's.
func expectHardened(m managerPod) {
	pod := m.deployment.Spec.Template.Spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	sc := m.container.SecurityContext
	Expect(sc).NotTo(BeNil(), "the manager container has a securityContext")

	runAsNonRoot := pod.RunAsNonRoot
	if sc.RunAsNonRoot != nil {
		runAsNonRoot = sc.RunAsNonRoot
	}
	Expect(runAsNonRoot).To(HaveValue(BeTrue()), "runAsNonRoot")

	seccomp := pod.SeccompProfile
	if sc.SeccompProfile != nil {
		seccomp = sc.SeccompProfile
	}
	Expect(seccomp).NotTo(BeNil(), "seccompProfile")
	Expect(seccomp.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault), "seccompProfile")

	Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()), "readOnlyRootFilesystem")
	Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()), "allowPrivilegeEscalation")
	Expect(sc.Capabilities).NotTo(BeNil(), "capabilities")
	Expect(sc.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")), "capabilities.drop")
	Expect(sc.Capabilities.Add).To(BeEmpty(), "capabilities.add")
	Expect(sc.Privileged == nil || !*sc.Privileged).To(BeTrue(), "not privileged")

	Expect(m.deployment.Spec.Template.Spec.AutomountServiceAccountToken).To(HaveValue(BeTrue()),
		"the manager needs its service account token to reach the Kubernetes API")
	Expect(m.container.Resources.Requests).NotTo(BeEmpty(), "resource requests")
	Expect(m.container.Resources.Limits).To(HaveKey(corev1.ResourceMemory), "a memory limit")
}

// expectHealthProbes checks that liveness and readiness probe the manager's health endpoint.
func expectHealthProbes(m managerPod) {
	addr, ok := m.flag("health-probe-bind-address")
	if !ok {
		addr = ":8081" // the manager's default
	}
	Expect(m.container.LivenessProbe).NotTo(BeNil(), "livenessProbe")
	Expect(m.container.ReadinessProbe).NotTo(BeNil(), "readinessProbe")
	for path, probe := range map[string]*corev1.Probe{"/healthz": m.container.LivenessProbe, "/readyz": m.container.ReadinessProbe} {
		Expect(probe.HTTPGet).NotTo(BeNil(), "%s is probed over HTTP", path)
		Expect(probe.HTTPGet.Path).To(Equal(path))
		Expect(addr).To(HaveSuffix(":%d", m.containerPort(probe.HTTPGet.Port)), "%s probes the port of --health-probe-bind-address", path)
	}
}

// expectSecureMetrics checks that metrics are served over HTTPS with authentication on :8443,
// and that a Service in the rendering routes to that port.
func expectSecureMetrics(m managerPod, objs manifests) {
	addr, _ := m.flag("metrics-bind-address")
	Expect(addr).To(Equal(":8443"), "--metrics-bind-address")
	secure, set := m.flag("metrics-secure")
	Expect(!set || secure == "true").To(BeTrue(), "metrics stay behind HTTPS and authentication (--metrics-secure=%s)", secure)

	var routed bool
	for _, svc := range ofKind[corev1.Service](objs, "Service") {
		if !m.selectedBy(svc.Spec.Selector) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if m.containerPort(p.TargetPort) == 8443 {
				routed = true
				Expect(p.Name).To(Equal("https"), "the metrics Service port is named for what it speaks")
			}
		}
	}
	Expect(routed).To(BeTrue(), "a Service selects the manager pod and targets its metrics port 8443")
}
