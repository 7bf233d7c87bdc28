package e2e_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// inFlightGrace is how long after the first 429 a request still counts as sent before that
// reply arrived: the workers that sent requests at the same moment get 429s of their own.
const inFlightGrace = 500 * time.Millisecond

// Scenario 4: one credential's account answers 429 for 20 seconds while 20 resources use it.
func rateLimitStorm(ctx SpecContext) {
	const total = 20
	s := newScenario(ctx, "rate-limit")
	ns := s.ns
	limited := s.newAPIClient(ctx, "creds-limited")
	other := s.newAPIClient(ctx, "creds-other")
	leader := s.startLeader()

	until := time.Now().Add(20 * time.Second)
	sim.ForceRateLimit(limited.CID, until)
	retryAt := time.Unix(until.Unix(), 0) // X-Ratelimit-Retryafter: Unix seconds, rounded up
	if until.Nanosecond() > 0 {
		retryAt = retryAt.Add(time.Second)
	}
	started := time.Now()
	createTokens(ctx, ns, "limited", 0, total, credentials("creds-limited"))
	unaffected := testutil.NewToken(ns, "other-credential", credentials("creds-other"))
	Expect(k8sClient.Create(ctx, unaffected)).To(Succeed())

	// Another credential is not held up by the cooldown of this one.
	Eventually(testutil.Object(ctx, k8sClient, unaffected)).WithTimeout(15 * time.Second).Should(testutil.BeReady())
	otherReady := time.Since(started)
	Expect(time.Now()).To(BeTemporally("<", until), "the other credential's resource was Ready while the window was still closed")

	// Every resource of the limited credential says until when.
	Eventually(func(g Gomega) {
		for _, fit := range listTokens(ctx, ns) {
			if fit.Name == unaffected.Name {
				continue
			}
			c := testutil.ReadyCondition(&fit)
			g.Expect(c).NotTo(BeNil(), fit.Name)
			g.Expect(c.Reason).To(Equal(falconv1alpha1.ReasonRateLimited), fit.Name)
			g.Expect(c.Message).To(ContainSubstring(retryAt.UTC().Format(time.RFC3339)), fit.Name)
		}
	}).WithTimeout(time.Until(until)).Should(Succeed(), "every resource of the limited credential shows RateLimited while the window lasts")

	waitAllReady(ctx, ns, total+1, 2*time.Minute)
	for _, fit := range listTokens(ctx, ns) {
		if fit.Name == unaffected.Name {
			continue
		}
		Expect(testutil.ReadyCondition(&fit).LastTransitionTime.Time).To(BeTemporally(">=", retryAt.Add(-time.Second)), "%s: Ready only after Retryafter", fit.Name)
	}

	calls := callsOf(limited.ClientID, started)
	var first429 *falcontest.Call
	for i := range calls {
		if calls[i].Status == 429 {
			first429 = &calls[i]
			break
		}
	}
	Expect(first429).NotTo(BeNil(), "the simulator answered 429")
	inFlight, inside, after := 0, 0, 0
	for _, c := range calls {
		switch {
		case !c.At.After(first429.At):
			// the first 429, and what arrived with it or before
		case !c.At.Before(retryAt):
			after++
		case c.At.Before(first429.At.Add(inFlightGrace)):
			inFlight++
		default:
			inside++
		}
	}
	add("all", "requests inside 429 windows", inside)
	Expect(inside).To(BeZero(), "no request left for the limited credential between its first 429 and the Retryafter time")
	Expect(after).To(BeNumerically(">", 0), "work resumed after the window")
	expectOneTokenPerResource(ctx, ns, "creds-limited", limited)
	expectOneTokenPerResource(ctx, ns, "creds-other", other)
	leader.expectRunning()

	scenario := "4 429 storm"
	record(scenario, "resources of the limited credential", total)
	record(scenario, "window", until.Sub(started).Round(time.Second))
	record(scenario, "429 replies", countCalls(calls, func(c falcontest.Call) bool { return c.Status == 429 }))
	record(scenario, "requests in flight when the first 429 came", inFlight)
	record(scenario, "requests inside the window after the first 429", inside)
	record(scenario, "requests after Retryafter", after)
	record(scenario, "other credential Ready after", otherReady.Round(100*time.Millisecond))
	record(scenario, "limited resources all Ready after the window in", lastReady(ctx, ns).Sub(retryAt).Round(100*time.Millisecond))
}

// lastReady is the latest time a resource of namespace became Ready.
func lastReady(ctx SpecContext, namespace string) time.Time {
	var last metav1.Time
	for _, fit := range listTokens(ctx, namespace) {
		if c := testutil.ReadyCondition(&fit); c != nil && c.LastTransitionTime.After(last.Time) {
			last = c.LastTransitionTime
		}
	}
	return last.Time
}
