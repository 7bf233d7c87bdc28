package e2e_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Scenario 1: 100 resources applied in batches while the manager is killed with SIGKILL at
// random moments, three times while the simulator holds the reply of a create it performed.
func killStorm(ctx SpecContext) {
	const (
		total = 100
		kills = 12
	)
	holdKills := map[int]bool{1: true, 5: true, 9: true}
	ns := newNamespace(ctx, "e2e-kill-storm")
	api := newAPIClient(ctx, ns, credentialsName)
	rng := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 1))
	ensureLeader()

	perBatch := (total + kills - 2) / (kills - 1) // everything is applied before the last kill
	created, unrecorded, killedWhileHeld := 0, 0, 0
	started := time.Now()
	for i := range kills {
		var held <-chan struct{}
		release := func() {}
		if holdKills[i] {
			held, release = sim.HoldNext("tokens-create")
			DeferCleanup(release)
		}
		batch := min(perBatch, total-created)
		createTokens(ctx, ns, "sensor", created, batch)
		created += batch

		victim := current
		switch {
		case holdKills[i]:
			By(fmt.Sprintf("kill %d of %d: while the simulator holds a create reply", i+1, kills))
			Eventually(held).WithTimeout(2*time.Minute).Should(BeClosed(), "a create reached the simulator")
			victim.kill()
			release()
			killedWhileHeld++
		case i%2 == 0:
			victim.waitLeader()
			delay := time.Duration(100+rng.IntN(2400)) * time.Millisecond
			By(fmt.Sprintf("kill %d of %d: %s after it took the lease", i+1, kills, delay))
			time.Sleep(delay) // a random moment of its work
			victim.kill()
		default:
			delay := time.Duration(300+rng.IntN(int((leaseDuration+3*time.Second).Milliseconds()))) * time.Millisecond
			By(fmt.Sprintf("kill %d of %d: %s after it started", i+1, kills, delay))
			time.Sleep(time.Until(victim.started.Add(delay))) // a random moment of its start or its work
			victim.kill()
		}
		add("all", "kills (SIGKILL)", 1)

		pending := expectUnrecordedTokensPending(ctx, ns, api)
		if holdKills[i] {
			Expect(pending).To(BeNumerically(">=", 1), "the held create made a token the killed manager never recorded")
		}
		unrecorded += pending

		current = startManager()
		add("all", "restarts", 1)
	}

	By("letting the last manager finish")
	current.waitLeader()
	waitAllReady(ctx, ns, total, 4*time.Minute)
	current.expectRunning()
	tokens := expectOneTokenPerResource(ctx, ns, credentialsName, api)

	scenario := "1 kill -9 storm"
	record(scenario, "resources", total)
	record(scenario, "SIGKILLs", kills)
	record(scenario, "SIGKILLs while a create reply was held", killedWhileHeld)
	record(scenario, "tokens created but not in status at a kill (adopted later)", unrecorded)
	record(scenario, "create calls", sim.ClientCalls(api.ClientID, "tokens-create"))
	record(scenario, "tokens in the simulator", tokens)
	record(scenario, "duration", time.Since(started).Round(time.Second))
}

// Scenario 2: two replicas; the leader is killed in the middle of its work and the standby
// takes over within the lease time, finishing the work without a duplicate.
func leaderFailover(ctx SpecContext) {
	const total = 40
	ns := newNamespace(ctx, "e2e-failover")
	api := newAPIClient(ctx, ns, credentialsName)
	leader := ensureLeader()
	standby := startManager()
	Consistently(standby.isLeader).WithTimeout(2 * retryPeriod).Should(BeFalse())

	held, release := sim.HoldNext("tokens-create")
	DeferCleanup(release)
	createTokens(ctx, ns, "node-pool", 0, total)
	Eventually(held).Should(BeClosed(), "the leader is creating tokens")
	Expect(simulator.callsOf(standby.prefix)).To(BeEmpty(), "the standby sends no request while it does not lead")
	oldHolder, err := leaseHolder(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(oldHolder).NotTo(BeEmpty())

	By("killing the leader while it waits for a create reply")
	leader.kill()
	killedAt := time.Now()
	release()
	add("all", "kills (SIGKILL)", 1)

	Eventually(func(g Gomega) {
		holder, err := leaseHolder(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(holder).NotTo(BeEmpty())
		g.Expect(holder).NotTo(Equal(oldHolder))
	}).WithTimeout(3*leaseDuration + 10*time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	takeover := time.Since(killedAt)
	// The standby may take the lease once it has not seen it renewed for a lease duration; it
	// looks every retry period.
	Expect(takeover).To(BeNumerically("<=", leaseDuration+3*retryPeriod+2*time.Second), "takeover within the lease time")
	standby.waitLeader()
	current = standby
	for _, c := range simulator.callsOf(standby.prefix) {
		Expect(c.at).To(BeTemporally(">=", killedAt), "the standby sent nothing before it took over")
	}

	waitAllReady(ctx, ns, total, 3*time.Minute)
	current.expectRunning()
	tokens := expectOneTokenPerResource(ctx, ns, credentialsName, api)

	scenario := "2 leader failover"
	record(scenario, "resources", total)
	record(scenario, "lease duration", leaseDuration)
	record(scenario, "takeover after SIGKILL of the leader", takeover.Round(10*time.Millisecond))
	record(scenario, "create calls", sim.ClientCalls(api.ClientID, "tokens-create"))
	record(scenario, "tokens in the simulator", tokens)
}
