package e2e_test

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 3: 40 resources applied while 20% of API requests are answered 5xx, 5% of connections
// dropped, up to 200 ms added to every reply and three creates lose their reply after the token
// was made. Then five more during a short outage (every API request answered 5xx), which makes
// the backoff show in their attempt counts, and which they get over once the API is back.
func flakyAPI(ctx SpecContext) {
	const (
		total = 40
		late  = 5
		// outageAttempts is how many failed attempts the outage lasts for the first resource
		// applied during it: 1s, 2s and 4s apart.
		outageAttempts = 4
	)
	s := newScenario(ctx, "flaky-api")
	ns := s.ns
	api := s.newAPIClient(ctx, credentialsName)
	s.startLeader()
	attempts := watchAttempts(ns)
	DeferCleanup(sim.SetFaults, falcontest.Faults{})

	sim.SetFaults(falcontest.Faults{ServerErrorRate: 0.20, DropRate: 0.05, LatencyJitter: 200 * time.Millisecond})
	sim.FailAfterWrite("tokens-create", 3)
	started := time.Now()
	createTokens(ctx, ns, "flaky", 0, total)
	waitAllReady(ctx, ns, total, 4*time.Minute)
	converged := time.Since(started)

	By("applying more during an outage")
	sim.SetFaults(falcontest.Faults{ServerErrorRate: 1})
	outageStarted := time.Now()
	createTokens(ctx, ns, "flaky", total, late)
	lateNames := make([]string, 0, late)
	for i := total; i < total+late; i++ {
		lateNames = append(lateNames, tokenName("flaky", i))
	}
	Eventually(func() int32 { return attempts.highest(lateNames) }).WithTimeout(time.Minute).Should(
		BeNumerically(">=", outageAttempts), "the outage counts failed attempts")
	outage := time.Since(outageStarted)
	sim.SetFaults(falcontest.Faults{})
	waitAllReady(ctx, ns, total+late, 2*time.Minute)
	recovered := time.Since(outageStarted) - outage
	calls := callsOf(api.ClientID, started)
	serverErrors := countCalls(calls, func(c falcontest.Call) bool { return c.Status >= 500 })
	dropped := countCalls(calls, func(c falcontest.Call) bool { return c.Status == 0 })
	Expect(serverErrors).To(BeNumerically(">", 0), "the simulator answered 5xx")
	tokens := expectOneTokenPerResource(ctx, ns, credentialsName, api)

	By("finding the backoff in the attempt counts of status")
	failed, maxAttempts := attempts.expectBackoff()
	Expect(failed).To(BeNumerically(">=", 1), "some resource counted failed attempts in status")
	Expect(maxAttempts).To(BeNumerically(">=", outageAttempts), "attempts went on with backoff through the outage")
	for _, fit := range listTokens(ctx, ns) {
		Expect(fit.Status.FailedAttempts).To(BeZero(), "%s: the count is reset once Ready", fit.Name)
	}

	scenario := "3 flaky API"
	record(scenario, "resources", total+late)
	record(scenario, "requests", len(calls))
	record(scenario, "5xx replies", serverErrors)
	record(scenario, "dropped connections", dropped)
	record(scenario, "resources that counted failed attempts", failed)
	record(scenario, "most failed attempts of one resource", maxAttempts)
	record(scenario, "tokens in the simulator", tokens)
	record(scenario, "converged under random faults in", converged.Round(time.Second))
	record(scenario, "outage (all 5xx)", outage.Round(100*time.Millisecond))
	record(scenario, "converged after the outage in", recovered.Round(100*time.Millisecond))
}

// attemptWatch records, from a watch, every value of status.failedAttempts and
// status.lastFailureTime that each resource of a namespace went through.
type attemptWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	seen map[string][]attemptObservation
}

type attemptObservation struct {
	attempts    int32
	lastFailure time.Time
	reason      string
}

func watchAttempts(namespace string) *attemptWatch {
	GinkgoHelper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := k8sClient.Watch(ctx, &falconv1alpha1.FalconInstallationTokenList{}, client.InNamespace(namespace))
	Expect(err).NotTo(HaveOccurred())
	aw := &attemptWatch{cancel: cancel, done: make(chan struct{}), seen: map[string][]attemptObservation{}}
	go func() {
		defer close(aw.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if fit, ok := ev.Object.(*falconv1alpha1.FalconInstallationToken); ok {
					aw.observe(fit)
				}
			}
		}
	}()
	DeferCleanup(aw.stop)
	return aw
}

func (aw *attemptWatch) observe(fit *falconv1alpha1.FalconInstallationToken) {
	obs := attemptObservation{attempts: fit.Status.FailedAttempts, reason: testutil.ReadyReason(fit)}
	if fit.Status.LastFailureTime != nil {
		obs.lastFailure = fit.Status.LastFailureTime.Time
	}
	aw.mu.Lock()
	defer aw.mu.Unlock()
	list := aw.seen[fit.Name]
	if len(list) == 0 || list[len(list)-1] != obs {
		aw.seen[fit.Name] = append(list, obs)
	}
}

// highest is the highest attempt count the named resources showed so far.
func (aw *attemptWatch) highest(names []string) int32 {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	var n int32
	for _, name := range names {
		for _, obs := range aw.seen[name] {
			n = max(n, obs.attempts)
		}
	}
	return n
}

func (aw *attemptWatch) stop() {
	aw.cancel()
	<-aw.done
}

// expectBackoff checks what status showed of each resource's failures: the count rose by one
// per failed attempt, with reason APIUnavailable, and the failures were spaced at least as the
// backoff says (1s doubling; lastFailureTime has whole seconds). It returns how many resources
// counted failures and the highest count.
func (aw *attemptWatch) expectBackoff() (failed int, maxAttempts int32) {
	GinkgoHelper()
	aw.mu.Lock()
	defer aw.mu.Unlock()
	for name, list := range aw.seen {
		counted := false
		for i, obs := range list {
			if obs.attempts == 0 {
				continue
			}
			counted = true
			maxAttempts = max(maxAttempts, obs.attempts)
			Expect(obs.reason).To(Equal(falconv1alpha1.ReasonAPIUnavailable), "%s: the reason while attempts fail", name)
			if i == 0 || list[i-1].attempts == obs.attempts {
				continue
			}
			prev := list[i-1]
			Expect(obs.attempts).To(Equal(prev.attempts+1), "%s: each failure counts once, and the count survives until success", name)
			if prev.attempts >= 1 {
				backoff := time.Second << (prev.attempts - 1)
				Expect(obs.lastFailure.Sub(prev.lastFailure)).To(BeNumerically(">=", backoff-time.Second),
					"%s: attempt %d came no sooner than the backoff after attempt %d", name, obs.attempts, prev.attempts)
			}
		}
		if counted {
			failed++
		}
	}
	return failed, maxAttempts
}
