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
	s := newScenario(ctx, "kill-storm")
	api := s.newAPIClient(ctx, credentialsName)
	rng := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 1))
	current := s.startLeader()

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
		createTokens(ctx, s.ns, "sensor", created, batch)
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

		pending := expectUnrecordedTokensPending(ctx, s.ns, api)
		if holdKills[i] {
			Expect(pending).To(BeNumerically(">=", 1), "the held create made a token the killed manager never recorded")
		}
		unrecorded += pending

		current = s.startManager()
		add("all", "restarts", 1)
	}

	By("letting the last manager finish")
	current.waitLeader()
	waitAllReady(ctx, s.ns, total, 4*time.Minute)
	current.expectRunning()
	tokens := expectOneTokenPerResource(ctx, s.ns, credentialsName, api)

	scenario := "1 kill -9 storm"
	record(scenario, "resources", total)
	record(scenario, "SIGKILLs", kills)
	record(scenario, "SIGKILLs while a create reply was held", killedWhileHeld)
	record(scenario, "tokens created but not in status at a kill (adopted later)", unrecorded)
	record(scenario, "create calls", sim.ClientCalls(api.ClientID, "tokens-create"))
	record(scenario, "tokens in the simulator", tokens)
	record(scenario, "duration", time.Since(started).Round(time.Second))
}
