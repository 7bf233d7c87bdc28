// Package controller holds the reconcilers of falcon-token-operator and what they share:
// credentials, the manager's caches, condition handling and retry timing.
package controller

import (
	"net/http"
	"time"

	"k8s.io/utils/clock"

	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// Options configure both reconcilers.
type Options struct {
	// SyncPeriod is how often Falcon is re-read to find changes made in the console.
	SyncPeriod time.Duration
	// ClusterName prefixes default token labels (<cluster>/<namespace>/<name>).
	ClusterName string
	// Endpoints are the Falcon clouds a resource may name.
	Endpoints falcon.Endpoints
	// Clients holds one API client per credential, shared by every reconcile.
	Clients *falcon.Cache
	// Clock is injected so that renewal and grace periods are testable.
	Clock clock.PassiveClock
	// MaxConcurrentReconciles per kind.
	MaxConcurrentReconciles int
	// Namespaces limits the credentials watch to these namespaces; empty watches all.
	Namespaces []string
	// FalconTransport carries the requests to the Falcon API; nil is the client's default (which
	// honours HTTPS_PROXY). The benchmark sets it to time each exchange on the client side.
	FalconTransport http.RoundTripper
}
