package falcontest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

type harness struct {
	t     *testing.T
	sim   *Simulator
	srv   *httptest.Server
	clock *clocktesting.FakeClock // rate windows and token lifetimes
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := clocktesting.NewFakeClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, srv: srv, clock: clock}
}

// reply is a response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("reply is not a JSON object: %v: %s", err, r.body)
	}
	return v
}

// resources is the reply's resources array.
func (r reply) resources(t *testing.T) []any {
	t.Helper()
	res, _ := r.json(t)["resources"].([]any)
	return res
}

func (h *harness) do(method, path, bearer string, body any) reply {
	h.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd, contentType = strings.NewReader(string(raw)), "application/json"
	}
	return h.send(h.t, method, path, bearer, contentType, rd)
}

// send makes a request with exactly the Content-Type given ("" for none), without following
// redirects, and fails t if it gets no reply.
func (h *harness) send(t *testing.T, method, path, bearer, contentType string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}
}

// login returns an access token for c at its cloud.
func (h *harness) login(c APIClient, member string) string {
	h.t.Helper()
	form := url.Values{"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	if member != "" {
		form.Set("member_cid", member)
	}
	prefix := ""
	if c.Cloud != "" && c.Cloud != defaultCloud {
		prefix = "/" + c.Cloud
	}
	r := h.do(http.MethodPost, prefix+"/oauth2/token", "", form)
	if r.status != http.StatusCreated {
		h.t.Fatalf("login: %d %s", r.status, r.body)
	}
	return r.json(h.t)["access_token"].(string)
}

const tokensPath = "/installation-tokens/entities/tokens/v1"

// create makes a token through the API and returns its entity.
func (h *harness) create(bearer, label string, expires any) map[string]any {
	h.t.Helper()
	r := h.do(http.MethodPost, tokensPath, bearer, map[string]any{"label": label, "expires_timestamp": expires, "type": "customer_managed"})
	if r.status != http.StatusCreated {
		h.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.resources(h.t)[0].(map[string]any)
}
