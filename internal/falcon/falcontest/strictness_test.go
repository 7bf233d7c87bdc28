package falcontest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRefusesWhatTheAPIDoesNotAccept sends requests the swagger does not allow, each next to
// its allowed twin, and expects a 400 with an error entry, in the normal envelope, for each.
func TestRefusesWhatTheAPIDoesNotAccept(t *testing.T) {
	spec := loadSwagger(t)
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	id := h.create(bearer, "strict", nil)["id"].(string)
	const (
		jsonType = "application/json"
		settings = "/installation-tokens/entities/customer-settings/v1"
		audit    = "/installation-tokens/queries/audit-events/v1"
	)
	label := func(n int) string { return `{"label":"` + strings.Repeat("é", n) + `"}` }

	cases := []struct {
		name                      string
		method, path, contentType string
		body                      string
		want                      int
	}{
		{"read of a well-formed unknown id", http.MethodGet, tokensPath + "?ids=" + strings.Repeat("0", 32), "", "", 404},
		{"read of an upper-case id", http.MethodGet, tokensPath + "?ids=" + strings.ToUpper(id), "", "", 400},
		{"read of a short id", http.MethodGet, tokensPath + "?ids=" + id[:31], "", "", 400},
		{"read with one malformed id among good ones", http.MethodGet, tokensPath + "?ids=" + id + "&ids=x", "", "", 400},
		{"update of a malformed id", http.MethodPatch, tokensPath + "?ids=not-an-id", jsonType, `{"label":"x"}`, 400},
		{"delete of a malformed id", http.MethodDelete, tokensPath + "?ids=" + id + ",not-an-id", "", "", 400},

		{"create with the swagger's fields", http.MethodPost, tokensPath, jsonType, `{"label":"x","expires_timestamp":null,"type":"customer_managed"}`, 201},
		{"create with an unknown field", http.MethodPost, tokensPath, jsonType, `{"label":"x","value":"0123abcd"}`, 400},
		{"token patch with an unknown field", http.MethodPatch, tokensPath + "?ids=" + id, jsonType, `{"status":"revoked"}`, 400},
		{"token patch with a create-only field", http.MethodPatch, tokensPath + "?ids=" + id, jsonType, `{"type":"customer_managed"}`, 400},
		{"settings patch with an unknown field", http.MethodPatch, settings, jsonType, `{"tokens_required":true,"max_tokens":5}`, 400},

		{"create with a label at the limit", http.MethodPost, tokensPath, jsonType, label(255), 201},
		{"create with a label over the limit", http.MethodPost, tokensPath, jsonType, label(256), 400},
		{"token patch with a label over the limit", http.MethodPatch, tokensPath + "?ids=" + id, jsonType, label(256), 400},

		{"create with the API's time format", http.MethodPost, tokensPath, jsonType, `{"label":"x","expires_timestamp":"2030-01-02T03:04:05Z"}`, 201},
		{"create with an offset", http.MethodPost, tokensPath, jsonType, `{"label":"x","expires_timestamp":"2030-01-02T03:04:05+02:00"}`, 400},
		{"create with fractional seconds", http.MethodPost, tokensPath, jsonType, `{"label":"x","expires_timestamp":"2030-01-02T03:04:05.5Z"}`, 400},
		{"token patch with an offset", http.MethodPatch, tokensPath + "?ids=" + id, jsonType, `{"expires_timestamp":"2030-01-02T03:04:05-05:00"}`, 400},
		{"token patch with fractional seconds", http.MethodPatch, tokensPath + "?ids=" + id, jsonType, `{"expires_timestamp":"2030-01-02T03:04:05.000Z"}`, 400},

		{"create with a charset", http.MethodPost, tokensPath, "application/json; charset=utf-8", `{"label":"x"}`, 201},
		{"create without a content type", http.MethodPost, tokensPath, "", `{"label":"x"}`, 400},
		{"create as text", http.MethodPost, tokensPath, "text/plain", `{"label":"x"}`, 400},
		{"token patch as a form", http.MethodPatch, tokensPath + "?ids=" + id, "application/x-www-form-urlencoded", `{"label":"x"}`, 400},
		{"settings patch without a content type", http.MethodPatch, settings, "", `{"tokens_required":true}`, 400},

		{"token patch setting nothing", http.MethodPatch, tokensPath + "?ids=" + id, jsonType, `{}`, 400},
		{"settings patch setting nothing", http.MethodPatch, settings, jsonType, `{}`, 400},

		{"token query on entity fields", http.MethodGet, queryPath + "?filter=status:'valid'%2Blabel:*'*x*'", "", "", 200},
		{"token query on an unknown field", http.MethodGet, queryPath + "?filter=value:'0123abcd'", "", "", 400},
		{"token query on an unknown field after a known one", http.MethodGet, queryPath + "?filter=status:'valid',owner:'me'", "", "", 400},
		{"audit query on its fields", http.MethodGet, audit + "?filter=action:'token_create'", "", "", 200},
		{"audit query on an unknown field", http.MethodGet, audit + "?filter=label:'x'", "", "", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := h.send(t, tc.method, tc.path, bearer, tc.contentType, body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			expectConformance(t, spec, tc.method, tc.path, r)
			if errs, _ := r.json(t)["errors"].([]any); (len(errs) > 0) != (tc.want >= 400) {
				t.Fatalf("errors = %v for status %d", errs, r.status)
			}
		})
	}
}

func TestLabelLimitIsConfigurable(t *testing.T) {
	h := newHarness(t, Options{MaxLabelLength: 10})
	bearer := h.login(h.sim.AddClient(APIClient{}), "")
	h.create(bearer, strings.Repeat("x", 10), nil)
	if r := h.do(http.MethodPost, tokensPath, bearer, map[string]any{"label": strings.Repeat("x", 11)}); r.status != http.StatusBadRequest {
		t.Fatalf("an 11-character label with a limit of 10: %d %s", r.status, r.body)
	}
}
