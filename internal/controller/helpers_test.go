package controller_test

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

const credentialsName = "falcon-api"

// passSyncPeriod moves the fake clock one sync period on and waits until the drift check has
// read the tokens of api's account in it.
func passSyncPeriod(api falcontest.APIClient) {
	GinkgoHelper()
	before := sim.ClientCalls(api.ClientID, "tokens-read")
	clock.Step(syncPeriod)
	Eventually(func() int { return sim.ClientCalls(api.ClientID, "tokens-read") }).Should(BeNumerically(">", before),
		"the drift check reads the account's tokens once a sync period")
}

// newToken builds a FalconInstallationToken on the simulator's cloud with the test's
// credentials; change adjusts its spec.
func newToken(namespace, name string, change ...func(*falconv1alpha1.FalconInstallationToken)) *falconv1alpha1.FalconInstallationToken {
	fit := &falconv1alpha1.FalconInstallationToken{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: falconv1alpha1.FalconInstallationTokenSpec{
			FalconAPI: falconv1alpha1.FalconAPI{Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: credentialsName}},
		},
	}
	for _, c := range change {
		c(fit)
	}
	return fit
}

// fetch reads the current state of obj.
func fetch[T client.Object](ctx context.Context, obj T) T {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}

// waitGone waits until obj no longer exists: its finalizer ran.
func waitGone(ctx context.Context, obj client.Object) {
	GinkgoHelper()
	Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj) }).Should(MatchError(ContainSubstring("not found")))
}

// statusOf is what the readiness helpers need of either kind's status.
func statusOf(obj client.Object) (conditions []metav1.Condition, observedGeneration int64) {
	switch o := obj.(type) {
	case interface {
		GetCommonStatus() *falconv1alpha1.CommonStatus
	}:
		st := o.GetCommonStatus()
		return st.Conditions, st.ObservedGeneration
	}
	panic(fmt.Sprintf("no status helper for %T", obj))
}

// readyOf is the current Ready condition of a resource of either kind, or nil.
func readyOf(ctx context.Context, obj client.Object) *metav1.Condition {
	conditions, _ := statusOf(fetch(ctx, obj))
	return meta.FindStatusCondition(conditions, falconv1alpha1.ConditionReady)
}

// readyReason is a function for Eventually: the reason of Ready, "" without one.
func readyReason(ctx context.Context, obj client.Object) func() string {
	return func() string {
		if c := readyOf(ctx, obj); c != nil {
			return c.Reason
		}
		return ""
	}
}

// waitReady waits until Ready is True for the current generation and returns the resource.
func waitReady[T client.Object](ctx context.Context, obj T) T {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		conditions, observedGeneration := statusOf(fetch(ctx, obj))
		c := meta.FindStatusCondition(conditions, falconv1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Ready: %s %s", c.Reason, c.Message)
		g.Expect(observedGeneration).To(Equal(obj.GetGeneration()))
	}).Should(Succeed())
	return obj
}

// liveTokens are the valid tokens the simulator holds for cid.
func liveTokens(cid string) []falcontest.Token {
	var live []falcontest.Token
	for _, t := range sim.Tokens(cid) {
		if t.Status == falcon.TokenStatusValid {
			live = append(live, t)
		}
	}
	return live
}

// secretOf reads the Secret a FalconInstallationToken publishes.
func secretOf(ctx context.Context, namespace, name string) *corev1.Secret {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s)).To(Succeed())
	return s
}

// eventReasons lists the reasons of the events recorded about obj, oldest first.
func eventReasons(ctx context.Context, obj client.Object) []string {
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(eventNamespace(obj)))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

func eventNamespace(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return metav1.NamespaceDefault
	}
	return obj.GetNamespace()
}

// allEventText is every event note in the cluster, for the leak checks.
func allEventText(ctx context.Context) string {
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list)).To(Succeed())
	var b strings.Builder
	for _, e := range list.Items {
		fmt.Fprintln(&b, e.Reason, e.Note)
	}
	return b.String()
}
