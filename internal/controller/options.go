// Package controller holds the reconcilers of falcon-token-operator and what they share: one
// reconcile skeleton (status shape, status write, finalizer, cache fence, error classification),
// credentials, the manager's caches and the drift check.
package controller

import (
	"net/http"
	"time"

	"k8s.io/utils/clock"

	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// Options configure every reconciler.
type Options struct {
	// SyncPeriod is how often Falcon is re-read to find changes made in the console.
	SyncPeriod time.Duration
	// ClusterName prefixes default token labels (<cluster>/<namespace>/<name>).
	ClusterName string
	// ClusterResourceNamespace holds the credentials Secrets of the cluster-scoped kinds.
	ClusterResourceNamespace string
	// Endpoints are the Falcon clouds a resource may name.
	Endpoints falcon.Endpoints
	// Clients holds one API client per credential, shared by every reconcile.
	Clients *falcon.Cache
	// Clock times renewals, grace periods, backoff and the drift check; tests step a fake one.
	Clock clock.WithTicker
	// MaxConcurrentReconciles per kind.
	MaxConcurrentReconciles int
	// Namespaces limits the namespaced kinds and the Secrets to these namespaces; empty: all.
	Namespaces []string
	// FalconTransport carries the requests to the Falcon API; nil is the client's default (which
	// honours HTTPS_PROXY). The benchmark sets it to time each exchange on the client side.
	FalconTransport http.RoundTripper
}
