package e2e_test

import (
	"maps"
	"net/http"
	"strconv"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
)

// Reading a manager's metrics page, and comparing what it counted with what the simulator
// received from it.

// expectRequestsCounted checks that a process's falcon_api_requests_total{operation,code} is
// exactly what the simulator received under the process's prefix, and that there is one
// latency observation per request; it returns those series by "operation code".
//
// One exception: Go's HTTP transport sends a GET again by itself when a reused connection
// closed before any reply, so a GET whose connection the simulator dropped may be one request
// to the simulator and none to the operator's metrics (which count what the transport
// returns). For GETs, the metrics may count fewer "error" codes than the simulator dropped.
func expectRequestsCounted(g Gomega, m *managerProcess, families map[string]*dto.MetricFamily) map[string]float64 {
	want := map[string]float64{}
	droppedGETs := map[string]float64{} // by "operation error"
	for _, c := range simulator.callsOf(m.prefix) {
		key := c.op + " " + codeLabel(c.status)
		if c.status == 0 && c.method == http.MethodGet {
			droppedGETs[key]++
			continue
		}
		want[key]++
	}
	got := map[string]float64{}
	perOperation := map[string]float64{}
	for _, metric := range families["falcon_api_requests_total"].GetMetric() {
		l := labelsOf(metric)
		got[l["operation"]+" "+l["code"]] = metric.GetCounter().GetValue()
		perOperation[l["operation"]] += metric.GetCounter().GetValue()
	}
	counted := maps.Clone(got)
	for key, dropped := range droppedGETs {
		g.Expect(counted[key]).To(BeNumerically("<=", dropped), "%s: %s counts no more than the simulator dropped", m, key)
		delete(counted, key)
	}
	g.Expect(counted).To(Equal(want), "%s: falcon_api_requests_total{operation,code} counts what the simulator received from it", m)
	for op, n := range perOperation {
		count := mustMetric(g, families, "falcon_api_request_duration_seconds", map[string]string{"operation": op})
		g.Expect(count).To(Equal(n), "%s: one latency observation per request of %s", m, op)
	}
	return got
}

// mustMetric is the value of a series that must exist (for a histogram, its count).
func mustMetric(g Gomega, families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	value, found := metricValue(families, family, labels)
	g.Expect(found).To(BeTrue(), "%s%v is on the metrics page", family, labels)
	return value
}

// metricValue is the value of the series of family whose labels include want; found is false
// when there is none.
func metricValue(families map[string]*dto.MetricFamily, family string, want map[string]string) (value float64, found bool) {
	for _, metric := range families[family].GetMetric() {
		if hasLabels(metric, want) {
			switch {
			case metric.Counter != nil:
				return metric.GetCounter().GetValue(), true
			case metric.Gauge != nil:
				return metric.GetGauge().GetValue(), true
			case metric.Histogram != nil:
				return float64(metric.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasLabels(metric *dto.Metric, want map[string]string) bool {
	have := labelsOf(metric)
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// labelsOf returns the labels of a series as a map.
func labelsOf(metric *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range metric.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// codeLabel is the metrics' code label for a status the simulator sent.
func codeLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}
