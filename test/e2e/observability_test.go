package e2e_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// Scenario 9: a process's metrics cover every request it sent, and the simulator received those
// under the process's own prefix. After some work with a short 429 window, every series of the
// operator is compared with the simulator's counts and the resources' statuses.
func metricsAreCorrect(ctx SpecContext) {
	const total = 10
	p := ensureLeader()
	ns := newNamespace(ctx, "e2e-metrics")
	api := newAPIClient(ctx, ns, credentialsName)
	credential := ns + "/" + credentialsName

	started := time.Now()
	sim.ForceRateLimit(api.CID, started.Add(3*time.Second))
	createTokens(ctx, ns, "measured", 0, total)
	waitAllReady(ctx, ns, total, 2*time.Minute)

	var requests, series int
	Eventually(func(g Gomega) {
		families, err := p.metrics()
		g.Expect(err).NotTo(HaveOccurred())

		// Requests by operation and code: exactly what the simulator received from this process.
		want := map[string]float64{}
		for _, c := range simulator.callsOf(p.prefix) {
			want[c.op+" "+codeLabel(c.status)]++
		}
		got := map[string]float64{}
		perOperation := map[string]float64{}
		for _, m := range families["falcon_api_requests_total"].GetMetric() {
			l := labelsOf(m)
			got[l["operation"]+" "+l["code"]] = m.GetCounter().GetValue()
			perOperation[l["operation"]] += m.GetCounter().GetValue()
		}
		g.Expect(got).To(Equal(want), "falcon_api_requests_total{operation,code}")
		g.Expect(got).To(HaveKey("tokens-create 201"))
		for op, n := range perOperation {
			count := mustMetric(g, families, "falcon_api_request_duration_seconds", map[string]string{"operation": op})
			g.Expect(count).To(Equal(n), "one latency observation per request of %s", op)
		}

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

		// Each token's expiry, for every resource of the cluster that has one, and no other.
		wantExpiry := map[string]float64{}
		for _, fit := range listTokens(ctx, "") {
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
	p.scrapeForLeakCheck()
	current.expectRunning()

	scenario := "9 metrics"
	record(scenario, "requests counted by the process and the simulator alike", requests)
	record(scenario, "series compared", series)
	record(scenario, "429s of the scenario's credential", countCalls(callsOf(api.ClientID, started), func(c falcontest.Call) bool { return c.Status == 429 }))
}

// mustMetric is the value of a series that must exist (for a histogram, its count).
func mustMetric(g Gomega, families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	value, found := metricValue(families, family, labels)
	g.Expect(found).To(BeTrue(), "%s%v is on the metrics page", family, labels)
	return value
}

// Scenario 8: every client secret, access token and installation-token value the simulator
// issued is searched for in the output of every manager process, all events, the status of
// every resource and every metrics page scraped, as text and base64-encoded (as a Secret's data
// would appear in JSON).
func secretsNeverLeak(ctx SpecContext) {
	for _, m := range managers {
		if m.running() {
			m.scrapeForLeakCheck()
		}
	}
	logs, processes := allManagerLogs()
	events, eventCount := allEventsText(ctx)
	statuses, statusCount := allStatusesText(ctx)
	metrics := strings.Join(metricsPages, "\n")
	places := map[string]string{"manager logs": logs, "events": events, "statuses": statuses, "metrics": metrics}
	for place, text := range places {
		Expect(text).NotTo(BeEmpty(), place)
	}
	secrets := sim.Secrets()
	Expect(secrets).NotTo(BeEmpty())

	var leaks []string
	for place, text := range places {
		for i, secret := range secrets {
			if containsWord(text, secret) || strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(secret))) {
				leaks = append(leaks, fmt.Sprintf("%s holds secret #%d (%d characters)", place, i, len(secret)))
			}
		}
	}
	add("all", "leaks found", len(leaks))

	scenario := "8 secrets never leak"
	record(scenario, "secrets searched for", len(secrets))
	record(scenario, "manager processes' logs", processes)
	record(scenario, "log bytes", len(logs))
	record(scenario, "events", eventCount)
	record(scenario, "statuses", statusCount)
	record(scenario, "metrics pages", len(metricsPages))
	record(scenario, "leaks", len(leaks))
	Expect(leaks).To(BeEmpty())
}

// containsWord reports whether secret occurs in text other than inside a longer run of letters,
// digits, dots or dashes. Installation-token values are 8 hex characters: inside the UUIDs,
// token IDs, trace IDs and numbers of a large log, such a string turns up by chance; as a value
// that leaked it stands on its own (quoted, after '=' or ':', between spaces).
func containsWord(text, secret string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], secret)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(secret)
		if (start == 0 || !isWordByte(text[start-1])) && (end == len(text) || !isWordByte(text[end])) {
			return true
		}
		from = start + 1
	}
}

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '.'
}
