package falcon

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// credentialLabel is the label naming the credentials a series counts: Config.MetricsLabel (the
// credentials Secret's namespace/name), never the client ID.
const credentialLabel = "credential"

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "falcon_api_requests_total",
		Help: "Requests sent to the Falcon API, by operation and HTTP status code (\"error\" when no reply came).",
	}, []string{"operation", "code"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "falcon_api_request_duration_seconds",
		Help:    "Time until the Falcon API's reply headers arrived, by operation.",
		Buckets: prometheus.DefBuckets,
	}, []string{"operation"})
	rateLimitRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "falcon_api_rate_limit_remaining",
		Help: "X-Ratelimit-Remaining of the last Falcon API reply, by credential.",
	}, []string{credentialLabel})
	rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "falcon_api_rate_limited_total",
		Help: "Falcon API replies with status 429, by credential.",
	}, []string{credentialLabel})
	tokenFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "falcon_oauth_token_fetches_total",
		Help: "OAuth2 access-token requests, by credential.",
	}, []string{credentialLabel})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, rateLimitRemaining, rateLimited, tokenFetches)
}
