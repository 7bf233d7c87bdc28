package main

import (
	"net/http/httptest"
	"testing"
)

// TestKubeOp checks that requests are named by the verbs and resources the API server's audit
// log would give them.
func TestKubeOp(t *testing.T) {
	for _, tc := range []struct{ method, url, want string }{
		{"GET", "/apis/falcon.falconops.io/v1alpha1/falconinstallationtokens?limit=500", "list falconinstallationtokens"},
		{"GET", "/apis/falcon.falconops.io/v1alpha1/falconinstallationtokens?watch=true&resourceVersion=1", "watch falconinstallationtokens"},
		{"PUT", "/apis/falcon.falconops.io/v1alpha1/namespaces/a/falconinstallationtokens/t", "update falconinstallationtokens"},
		{"PATCH", "/apis/falcon.falconops.io/v1alpha1/namespaces/a/falconinstallationtokens/t/status", "patch falconinstallationtokens/status"},
		{"GET", "/api/v1/namespaces/a/secrets/s", "get secrets"},
		{"GET", "/api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ds", "list secrets"},
		{"POST", "/api/v1/namespaces/a/secrets?dryRun=All", "create secrets (dry run)"},
		{"POST", "/apis/events.k8s.io/v1/namespaces/a/events", "create events"},
		{"DELETE", "/api/v1/namespaces/a/secrets/s", "delete secrets"},
		{"GET", "/api/v1/namespaces/a", "get namespaces"},
		{"GET", "/api/v1/namespaces", "list namespaces"},
		{"GET", "/apis", "get /apis"},
	} {
		if got := kubeOp(httptest.NewRequest(tc.method, tc.url, nil)); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.url, got, tc.want)
		}
	}
}
