package controller_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

const credentialsName = testutil.CredentialsName

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
	return testutil.NewToken(namespace, name, change...)
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
	Eventually(testutil.Gone(ctx, k8sClient, obj)).Should(BeTrue())
}

// readyOf is the current Ready condition of a resource of any kind, or nil.
func readyOf(ctx context.Context, obj client.Object) *metav1.Condition {
	return testutil.ReadyCondition(fetch(ctx, obj))
}

// readyReason is a function for Eventually: the reason of Ready, "" without one.
func readyReason(ctx context.Context, obj client.Object) func() string {
	return func() string { return testutil.ReadyReason(fetch(ctx, obj)) }
}

// waitReady waits until Ready is True for the current generation and returns the resource.
func waitReady[T client.Object](ctx context.Context, obj T) T {
	GinkgoHelper()
	Eventually(testutil.Object(ctx, k8sClient, obj)).Should(testutil.BeReady())
	return obj
}

// liveTokens are the valid tokens the simulator holds for cid.
func liveTokens(cid string) []falcontest.Token { return testutil.LiveTokens(sim, cid) }

// secretOf reads the Secret a FalconInstallationToken publishes.
func secretOf(ctx context.Context, namespace, name string) *corev1.Secret {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s)).To(Succeed())
	return s
}

// eventReasons lists the reasons of the events recorded about obj, oldest first.
func eventReasons(ctx context.Context, obj client.Object) []string {
	GinkgoHelper()
	reasons, err := testutil.EventReasons(ctx, k8sClient, obj)
	Expect(err).NotTo(HaveOccurred())
	return reasons
}
