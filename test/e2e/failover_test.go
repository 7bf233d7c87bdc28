package e2e_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Scenario 2: two replicas; the leader is killed in the middle of its work and the standby
// takes over within the lease time, finishing the work without a duplicate.
func leaderFailover(ctx SpecContext) {
	const total = 40
	s := newScenario(ctx, "failover")
	api := s.newAPIClient(ctx, credentialsName)
	leader := s.startLeader()
	standby := s.startManager()
	Consistently(standby.isLeader).WithTimeout(2 * retryPeriod).Should(BeFalse())

	held, release := sim.HoldNext("tokens-create")
	DeferCleanup(release)
	createTokens(ctx, s.ns, "node-pool", 0, total)
	Eventually(held).Should(BeClosed(), "the leader is creating tokens")
	Expect(simulator.callsOf(standby.prefix)).To(BeEmpty(), "the standby sends no request while it does not lead")
	oldHolder, err := s.leaseHolder(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(oldHolder).NotTo(BeEmpty())

	By("killing the leader while it waits for a create reply")
	leader.kill()
	killedAt := time.Now()
	release()
	add("all", "kills (SIGKILL)", 1)

	Eventually(func(g Gomega) {
		holder, err := s.leaseHolder(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(holder).NotTo(BeEmpty())
		g.Expect(holder).NotTo(Equal(oldHolder))
	}).WithTimeout(3*leaseDuration + 10*time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	takeover := time.Since(killedAt)
	// The standby may take the lease once it has not seen it renewed for a lease duration; it
	// looks every retry period.
	Expect(takeover).To(BeNumerically("<=", leaseDuration+3*retryPeriod+2*time.Second), "takeover within the lease time")
	standby.waitLeader()
	for _, c := range simulator.callsOf(standby.prefix) {
		Expect(c.at).To(BeTemporally(">=", killedAt), "the standby sent nothing before it took over")
	}

	waitAllReady(ctx, s.ns, total, 3*time.Minute)
	standby.expectRunning()
	tokens := expectOneTokenPerResource(ctx, s.ns, credentialsName, api)

	scenario := "2 leader failover"
	record(scenario, "resources", total)
	record(scenario, "lease duration", leaseDuration)
	record(scenario, "takeover after SIGKILL of the leader", takeover.Round(10*time.Millisecond))
	record(scenario, "create calls", sim.ClientCalls(api.ClientID, "tokens-create"))
	record(scenario, "tokens in the simulator", tokens)
}
