package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// tokenExpiry publishes each token's expiry for alerts such as "expires in less than 7 days".
var tokenExpiry = expiryGauge{prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "falcon_installation_token_expiry_timestamp_seconds",
	Help: "When the current installation token of a FalconInstallationToken expires, as a Unix time; absent for tokens that never expire.",
}, []string{"namespace", "name"})}

func init() {
	metrics.Registry.MustRegister(tokenExpiry.vec)
}

type expiryGauge struct{ vec *prometheus.GaugeVec }

func (g expiryGauge) set(fit *falconv1alpha1.FalconInstallationToken, expiresAt *metav1.Time) {
	if expiresAt == nil {
		g.forget(fit)
		return
	}
	g.vec.WithLabelValues(fit.Namespace, fit.Name).Set(float64(expiresAt.Unix()))
}

func (g expiryGauge) forget(fit *falconv1alpha1.FalconInstallationToken) {
	g.vec.DeleteLabelValues(fit.Namespace, fit.Name)
}
