package e2e_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 13: two managers reconcile at once, as two replicas do when one runs without leader
// election (a misconfigured Deployment, a second installation): both may create a token for
// the same resource. The drift check, every sync period, finds the live tokens that carry a
// resource's marker but are neither its status.tokenID nor a retiring token, and revokes them.
// However many duplicates there were, every resource ends with exactly one live token.
func duplicatesSelfHeal(ctx SpecContext) {
	const (
		total = 20
		sync  = 10 * time.Second
	)
	s := newScenario(ctx, "duplicates")
	api := s.newAPIClient(ctx, credentialsName)
	s.startLeader(syncEvery(sync))
	s.startManager(standalone(), syncEvery(sync))
	// A slow create keeps both managers' creates in flight together, which is when duplicates
	// are made.
	sim.SetFaults(falcontest.Faults{Latency: 300 * time.Millisecond, Ops: []string{"tokens-create"}})
	DeferCleanup(sim.SetFaults, falcontest.Faults{})

	started := time.Now()
	createTokens(ctx, s.ns, "twice", 0, total)
	waitAllReady(ctx, s.ns, total, 2*time.Minute)
	sim.SetFaults(falcontest.Faults{})

	By("waiting for the drift checks to leave one live token per resource")
	Eventually(func(g Gomega) {
		fits := listTokens(ctx, s.ns)
		g.Expect(fits).To(HaveLen(total))
		current := map[string]string{} // token ID -> resource
		for _, fit := range fits {
			g.Expect(&fit).To(testutil.BeReady())
			current[fit.Status.TokenID] = fit.Name
			secret := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: fit.Status.SecretName}, secret)).To(Succeed())
			token, found := sim.Token(api.CID, fit.Status.TokenID)
			g.Expect(found).To(BeTrue(), "%s: its token exists", fit.Name)
			g.Expect(string(secret.Data[tokenKey])).To(Equal(token.Value), "%s: its Secret holds its token", fit.Name)
		}
		g.Expect(current).To(HaveLen(total), "no two resources name the same token")
		var extra []string
		for _, t := range testutil.LiveTokens(sim, api.CID) {
			if _, ok := current[t.ID]; !ok {
				extra = append(extra, t.Label)
			}
		}
		g.Expect(extra).To(BeEmpty(), "no live token but the resources' own")
	}).WithTimeout(6 * sync).WithPolling(time.Second).Should(Succeed())
	healed := time.Since(started)

	created := countCalls(callsOf(api.ClientID, started), func(c falcontest.Call) bool { return c.Op == "tokens-create" && c.Status == 201 })
	duplicates := created - total
	Expect(duplicates).To(BeNumerically(">=", 0), "every resource created at least one token")
	if duplicates > 0 {
		Eventually(func(g Gomega) {
			revoked := 0
			for _, fit := range listTokens(ctx, s.ns) {
				reasons, err := testutil.EventReasons(ctx, k8sClient, &fit)
				g.Expect(err).NotTo(HaveOccurred())
				for _, r := range reasons {
					if r == falconv1alpha1.EventDuplicateRevoked {
						revoked++
					}
				}
			}
			g.Expect(revoked).To(BeNumerically(">=", 1), "%d duplicates were created: events say they were revoked", duplicates)
		}).Should(Succeed())
	}
	for _, m := range s.managers {
		m.expectRunning()
	}

	scenario := "13 duplicates self-heal"
	record(scenario, "resources", total)
	record(scenario, "tokens created", created)
	record(scenario, "duplicates created", duplicates)
	record(scenario, "one live token per resource after", healed.Round(time.Second))
}
