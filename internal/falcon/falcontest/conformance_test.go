package falcontest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The README's 2026 behaviour, where it differs from the 2023 swagger: updates return the
// updated entities.
var newerSchemas = map[string]string{
	"PATCH " + tokensPath: "api.tokenDetailsResponseV1",
	"PATCH /installation-tokens/entities/customer-settings/v1": "api.customerSettingsResponseV1",
}

// TestRepliesConformToTheSwagger sends every operation into each status it can answer and
// checks the body against the swagger's schema and the headers every reply carries.
func TestRepliesConformToTheSwagger(t *testing.T) {
	spec := loadSwagger(t)
	h := newHarness(t, Options{RateLimit: 1000})
	full := h.sim.AddClient(APIClient{})
	readOnly := h.sim.AddClient(APIClient{Scopes: []string{ScopeTokensRead}})
	bearer := h.login(full, "")
	readBearer := h.login(readOnly, "")
	tok := h.create(bearer, "conformance", nil)
	id := tok["id"].(string)
	settings := "/installation-tokens/entities/customer-settings/v1"

	cases := []struct {
		name         string
		method, path string
		bearer       string
		body         any
		want         int
	}{
		{"token issued", http.MethodPost, "/oauth2/token", "", url.Values{"client_id": {full.ClientID}, "client_secret": {full.ClientSecret}}, 201},
		{"token refused", http.MethodPost, "/oauth2/token", "", url.Values{"client_id": {full.ClientID}, "client_secret": {"wrong"}}, 403},
		{"token at the wrong cloud", http.MethodPost, "/eu-1/oauth2/token", "", url.Values{"client_id": {full.ClientID}, "client_secret": {full.ClientSecret}}, 308},
		{"revoke", http.MethodPost, "/oauth2/revoke", "", nil, 401},
		{"query", http.MethodGet, "/installation-tokens/queries/tokens/v1?filter=status:'valid'", bearer, nil, 200},
		{"query with a bad filter", http.MethodGet, "/installation-tokens/queries/tokens/v1?filter=status", bearer, nil, 400},
		{"query with a bad limit", http.MethodGet, "/installation-tokens/queries/tokens/v1?limit=0", bearer, nil, 400},
		{"read", http.MethodGet, tokensPath + "?ids=" + id, bearer, nil, 200},
		{"read of an unknown id", http.MethodGet, tokensPath + "?ids=00000000000000000000000000000000", bearer, nil, 404},
		{"read without a token", http.MethodGet, tokensPath + "?ids=" + id, "", nil, 401},
		{"create", http.MethodPost, tokensPath, bearer, map[string]any{"label": "x", "expires_timestamp": nil}, 201},
		{"create with a bad body", http.MethodPost, tokensPath, bearer, "[", 400},
		{"create without the write scope", http.MethodPost, tokensPath, readBearer, map[string]any{"label": "x"}, 403},
		{"update", http.MethodPatch, tokensPath + "?ids=" + id, bearer, map[string]any{"label": "y"}, 200},
		{"update of an unknown id", http.MethodPatch, tokensPath + "?ids=00000000000000000000000000000000", bearer, map[string]any{"label": "y"}, 404},
		{"audit query", http.MethodGet, "/installation-tokens/queries/audit-events/v1", bearer, nil, 200},
		{"settings read", http.MethodGet, settings, bearer, nil, 200},
		{"settings update", http.MethodPatch, settings, bearer, map[string]any{"tokens_required": false, "max_active_tokens": 1000}, 200},
		{"settings update without the scope", http.MethodPatch, settings, readBearer, map[string]any{"tokens_required": true}, 403},
		{"ccid", http.MethodGet, "/sensors/queries/installers/ccid/v1", bearer, nil, 200},
		{"ccid without the scope", http.MethodGet, "/sensors/queries/installers/ccid/v1", readBearer, nil, 403},
		{"delete of an unknown id", http.MethodDelete, tokensPath + "?ids=00000000000000000000000000000000", bearer, nil, 404},
		{"delete", http.MethodDelete, tokensPath + "?ids=" + id, bearer, nil, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.method, tc.path, tc.bearer, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			expectConformance(t, spec, tc.method, tc.path, r)
		})
	}

	t.Run("a 429 reply", func(t *testing.T) {
		h.sim.ForceRateLimit(full.CID, h.clock.Now().Add(time.Minute))
		r := h.do(http.MethodGet, tokensPath+"?ids="+id, bearer, nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("X-Ratelimit-Retryafter") == "" {
			t.Fatalf("want 429 with Retryafter, got %d %v", r.status, r.header)
		}
		expectConformance(t, spec, http.MethodGet, tokensPath, r)
	})
}

func expectConformance(t *testing.T, spec *swagger, method, path string, r reply) {
	t.Helper()
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	var body any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	sc := spec.responseSchema(method, trimCloud(path), r.status)
	if name, ok := newerSchemas[method+" "+path]; ok && r.status == http.StatusOK {
		sc = &schema{Ref: "#/definitions/" + name}
	}
	if errs := spec.validate("$", sc, body); len(errs) > 0 {
		t.Errorf("reply does not match the swagger: %v\n%s", errs, r.body)
	}
	for _, header := range []string{"X-Cs-Traceid", "X-Ratelimit-Limit", "X-Ratelimit-Remaining"} {
		if r.header.Get(header) == "" {
			t.Errorf("header %s missing", header)
		}
	}
	if m, ok := body.(map[string]any)["meta"].(map[string]any); ok && m["trace_id"] != r.header.Get("X-Cs-Traceid") {
		t.Errorf("meta.trace_id %v differs from X-Cs-Traceid %s", m["trace_id"], r.header.Get("X-Cs-Traceid"))
	}
}

func trimCloud(path string) string {
	_, rest := splitCloud(path)
	return rest
}
