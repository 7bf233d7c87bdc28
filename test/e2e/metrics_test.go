package e2e_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/falconops/falcon-token-operator/internal/falcon"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// Scenario 9: a process's metrics cover every request it sent, and the simulator received those
// under the process's own prefix (every scenario ends with that check). Here, after some work
// with a short 429 window, the series of the scenario's credential and every token's expiry
// gauge are compared too, with the simulator's counts and the resources' statuses.
func metricsAreCorrect(ctx SpecContext) {
	const total = 10
	s := newScenario(ctx, "metrics")
	api := s.newAPIClient(ctx, credentialsName)
	p := s.startLeader()
	credential := falcon.ClientLabel(api.ClientID, "")

	started := time.Now()
	sim.ForceRateLimit(api.CID, started.Add(3*time.Second))
	createTokens(ctx, s.ns, "measured", 0, total)
	waitAllReady(ctx, s.ns, total, 2*time.Minute)

	var requests, series int
	Eventually(func(g Gomega) {
		families, err := p.metrics()
		g.Expect(err).NotTo(HaveOccurred())

		// Requests by operation and code: exactly what the simulator received from this process.
		got := expectRequestsCounted(g, p, families)
		g.Expect(got).To(HaveKey("tokens-create 201"))

		// 429s and OAuth2 token fetches of this scenario's credential.
		calls := callsOf(api.ClientID, started)
		limited := countCalls(calls, func(c falcontest.Call) bool { return c.Status == 429 })
		g.Expect(limited).To(BeNumerically(">", 0))
		byCredential := map[string]string{"credential": credential}
		g.Expect(mustMetric(g, families, "falcon_api_rate_limited_total", byCredential)).To(BeNumerically("==", limited))
		all429 := 0.0
		for key, n := range got {
			if strings.HasSuffix(key, " 429") {
				all429 += n
			}
		}
		g.Expect(all429).To(BeNumerically("==", limited), "the only 429s this process got were this credential's")
		fetches := countCalls(calls, func(c falcontest.Call) bool { return c.Op == "oauth2-token" })
		g.Expect(mustMetric(g, families, "falcon_oauth_token_fetches_total", byCredential)).To(BeNumerically("==", fetches))
		g.Expect(mustMetric(g, families, "falcon_api_rate_limit_remaining", byCredential)).To(BeNumerically("<", 6000),
			"the window counts this credential's requests")

		// Each token's expiry, for every resource of the scenario that has one, and no other.
		wantExpiry := map[string]float64{}
		for _, fit := range listTokens(ctx, s.ns) {
			if fit.Status.ExpiresAt != nil {
				wantExpiry[fit.Namespace+"/"+fit.Name] = float64(fit.Status.ExpiresAt.Unix())
			}
		}
		gotExpiry := map[string]float64{}
		for _, m := range families["falcon_installation_token_expiry_timestamp_seconds"].GetMetric() {
			l := labelsOf(m)
			gotExpiry[l["namespace"]+"/"+l["name"]] = m.GetGauge().GetValue()
		}
		g.Expect(gotExpiry).To(Equal(wantExpiry), "falcon_installation_token_expiry_timestamp_seconds{namespace,name}")
		g.Expect(len(gotExpiry)).To(BeNumerically(">=", total/2))

		requests, series = 0, len(got)+len(gotExpiry)
		for _, n := range got {
			requests += int(n)
		}
	}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	p.expectRunning()

	scenario := "9 metrics"
	record(scenario, "requests counted by the process and the simulator alike", requests)
	record(scenario, "series compared", series)
	record(scenario, "429s of the scenario's credential", countCalls(callsOf(api.ClientID, started), func(c falcontest.Call) bool { return c.Status == 429 }))
}
