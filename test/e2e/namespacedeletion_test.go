package e2e_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 11: a namespace holding its credentials Secret and 20 resources (deletionPolicy
// Revoke by default) is deleted with one Delete of the Namespace, as a team removes an
// application. The namespace controller deletes the credentials Secret as it deletes the
// resources, maybe first: the operator must still revoke every token with the credentials it
// last used, and the namespace must not hang in Terminating.
func namespaceDeletion(ctx SpecContext) {
	const (
		total   = 20
		timeout = 60 * time.Second
	)
	s := newScenario(ctx, "ns-deletion")
	// The lease stays in the scenario's first namespace; the application lives in another.
	app := s.newNamespace(ctx, "app")
	api, err := testutil.NewAPIClient(ctx, k8sClient, sim, app, credentialsName)
	Expect(err).NotTo(HaveOccurred())
	leader := s.startLeader()
	createTokens(ctx, app, "app", 0, total)
	waitAllReady(ctx, app, total, 2*time.Minute)
	Expect(testutil.LiveTokens(sim, api.CID)).To(HaveLen(total))

	// Falcon answers in a few hundred milliseconds, longer than the namespace controller takes
	// to delete the credentials Secret after the resources: most revocations come after it.
	sim.SetFaults(falcontest.Faults{Latency: 200 * time.Millisecond, Ops: []string{"tokens-update"}})
	DeferCleanup(sim.SetFaults, falcontest.Faults{})

	By("deleting the namespace")
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: app}}
	started := time.Now()
	Expect(k8sClient.Delete(ctx, namespace)).To(Succeed())
	Eventually(testutil.Gone(ctx, k8sClient, namespace)).WithTimeout(timeout).WithPolling(time.Second).Should(BeTrue(), func() string {
		return fmt.Sprintf("the namespace is gone within %s; resources left in it: %v", timeout, tokensLeft(ctx, app))
	})
	gone := time.Since(started)
	Expect(testutil.LiveTokens(sim, api.CID)).To(BeEmpty(), "every token of the deleted namespace is revoked")
	leader.expectRunning()

	scenario := "11 namespace deletion"
	record(scenario, "resources in the namespace", total)
	record(scenario, "namespace gone after its deletion in", gone.Round(100*time.Millisecond))
	record(scenario, "revoke calls", sim.ClientCalls(api.ClientID, "tokens-update"))
}

// tokensLeft names the resources still in namespace, with the reason of their Ready condition.
func tokensLeft(ctx SpecContext, namespace string) []string {
	tokens := listTokens(ctx, namespace)
	left := make([]string, 0, len(tokens))
	for _, fit := range tokens {
		left = append(left, fit.Name+": "+testutil.ReadyReason(&fit))
	}
	return left
}
