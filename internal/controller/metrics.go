package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// tokenExpiry publishes each token's expiry for alerts such as "expires in less than 7 days".
	tokenExpiry = expiryGauge{prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "falcon_installation_token_expiry_timestamp_seconds",
		Help: "When the current installation token of a FalconInstallationToken (namespace set) or " +
			"ClusterFalconInstallationToken (namespace empty) expires, as a Unix time; absent for tokens that never expire.",
	}, []string{"namespace", "name"})}

	// reconcileFailures counts failed reconciles by reason. They end in a condition and a
	// requeue, not in an error returned to controller-runtime, so its error counter misses them.
	reconcileFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "falcon_reconcile_failures_total",
		Help: "Reconciles that ended in a failure condition, by kind and condition reason.",
	}, []string{"kind", "reason"})
)

func init() {
	metrics.Registry.MustRegister(tokenExpiry.vec, reconcileFailures)
}

type expiryGauge struct{ vec *prometheus.GaugeVec }

func (g expiryGauge) set(obj client.Object, expiresAt *metav1.Time) {
	if expiresAt == nil {
		g.forget(obj)
		return
	}
	g.vec.WithLabelValues(obj.GetNamespace(), obj.GetName()).Set(float64(expiresAt.Unix()))
}

func (g expiryGauge) forget(obj client.Object) {
	g.vec.DeleteLabelValues(obj.GetNamespace(), obj.GetName())
}
