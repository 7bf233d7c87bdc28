package falcontest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const queryPath = "/installation-tokens/queries/tokens/v1"

func TestTokenLifecycle(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	expires := h.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)

	tok := h.create(bearer, "team/sensors [fto-abc]", expires)
	id := tok["id"].(string)
	if len(id) != 32 || len(tok["value"].(string)) != 8 || tok["status"] != "valid" || tok["type"] != "customer_managed" {
		t.Fatalf("unexpected entity %v", tok)
	}
	for _, field := range []string{"last_used_timestamp", "revoked_timestamp"} {
		if v, ok := tok[field]; !ok || v != nil {
			t.Errorf("%s = %v, want present and null", field, v)
		}
	}
	if tok["expires_timestamp"] != h.clock.Now().Add(48*time.Hour).Format("2006-01-02T15:04:05Z") {
		t.Errorf("expires_timestamp = %v", tok["expires_timestamp"])
	}

	// Revoke, then restore: revoked_timestamp is set, then cleared; the value never changes.
	r := h.do(http.MethodPatch, tokensPath+"?ids="+id, bearer, map[string]any{"revoked": true})
	if got := r.resources(t)[0].(map[string]any); got["status"] != "revoked" || got["revoked_timestamp"] == nil {
		t.Fatalf("after revoke: %v", got)
	}
	r = h.do(http.MethodPatch, tokensPath+"?ids="+id, bearer, map[string]any{"revoked": false, "expires_timestamp": nil})
	got := r.resources(t)[0].(map[string]any)
	if got["status"] != "valid" || got["revoked_timestamp"] != nil || got["expires_timestamp"] != nil || got["value"] != tok["value"] {
		t.Fatalf("after restore with no expiry: %v", got)
	}
	// "0001-01-01T00:00:00Z" means never, as some clients send it.
	r = h.do(http.MethodPatch, tokensPath+"?ids="+id, bearer, map[string]any{"expires_timestamp": "0001-01-01T00:00:00Z"})
	if r.resources(t)[0].(map[string]any)["expires_timestamp"] != nil {
		t.Errorf("zero time did not mean never: %s", r.body)
	}
	// A label-only patch leaves the expiry alone.
	h.do(http.MethodPatch, tokensPath+"?ids="+id, bearer, map[string]any{"expires_timestamp": expires})
	r = h.do(http.MethodPatch, tokensPath+"?ids="+id, bearer, map[string]any{"label": "renamed"})
	if got := r.resources(t)[0].(map[string]any); got["label"] != "renamed" || got["expires_timestamp"] == nil {
		t.Errorf("label patch changed more than the label: %v", got)
	}

	if r := h.do(http.MethodDelete, tokensPath+"?ids="+id, bearer, nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d", r.status)
	}
	if r := h.do(http.MethodGet, tokensPath+"?ids="+id, bearer, nil); r.status != http.StatusNotFound {
		t.Errorf("read after delete: %d", r.status)
	}
	if r := h.do(http.MethodDelete, tokensPath+"?ids="+id, bearer, nil); r.status != http.StatusNotFound {
		t.Errorf("second delete: %d", r.status)
	}
}

func TestQueryFiltersSortsAndPages(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	labels := []string{"alpha [fto-1]", "beta [fto-2]", "o'brien [fto-3]", "gamma"}
	ids := make([]string, 0, len(labels))
	for i, label := range labels {
		ids = append(ids, h.create(bearer, label, nil)["id"].(string))
		h.clock.Step(time.Second * time.Duration(i+1))
	}
	h.sim.ConsoleRevoke(c.CID, ids[1])

	query := func(params url.Values) (result []string, total int) {
		t.Helper()
		r := h.do(http.MethodGet, queryPath+"?"+params.Encode(), bearer, nil)
		if r.status != http.StatusOK {
			t.Fatalf("query %v: %d %s", params, r.status, r.body)
		}
		for _, v := range r.resources(t) {
			result = append(result, v.(string))
		}
		p := r.json(t)["meta"].(map[string]any)["pagination"].(map[string]any)
		return result, int(p["total"].(float64))
	}
	if got, _ := query(url.Values{"filter": {"status:'valid'"}}); len(got) != 3 {
		t.Errorf("status:'valid' matched %d tokens, want 3", len(got))
	}
	if got, _ := query(url.Values{"filter": {"label:*'*fto-2*'"}}); len(got) != 1 || got[0] != ids[1] {
		t.Errorf("wildcard label matched %v", got)
	}
	if got, _ := query(url.Values{"filter": {`label:'o\'brien [fto-3]'`}}); len(got) != 1 || got[0] != ids[2] {
		t.Errorf("escaped quote matched %v", got)
	}
	if got, _ := query(url.Values{"filter": {"status:'valid'+label:*'*fto*'"}}); len(got) != 2 {
		t.Errorf("AND matched %v", got)
	}
	if got, _ := query(url.Values{"filter": {"label:'alpha [fto-1]',label:'gamma'"}}); len(got) != 2 {
		t.Errorf("OR matched %v", got)
	}
	if got, _ := query(url.Values{"sort": {"created_timestamp.desc"}}); got[0] != ids[3] || got[3] != ids[0] {
		t.Errorf("sort desc gave %v", got)
	}
	page, total := query(url.Values{"sort": {"created_timestamp.asc"}, "limit": {"2"}, "offset": {"2"}})
	if total != 4 || len(page) != 2 || page[0] != ids[2] {
		t.Errorf("page 2 of 2 = %v (total %d)", page, total)
	}
	if r := h.do(http.MethodGet, queryPath+"?limit=1001", bearer, nil); r.status != http.StatusBadRequest {
		t.Errorf("limit 1001: %d", r.status)
	}
}

func TestCreateAnswers409AtTheActiveTokenCap(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	h.sim.ConsoleSetSettings(c.CID, Settings{MaxActiveTokens: 1})
	id := h.create(bearer, "first", nil)["id"].(string)
	if r := h.do(http.MethodPost, tokensPath, bearer, map[string]any{"label": "second"}); r.status != http.StatusConflict {
		t.Fatalf("create over the cap: %d", r.status)
	}
	h.sim.ConsoleRevoke(c.CID, id)
	h.create(bearer, "second", nil) // a revoked token does not count
}

func TestAutodiscoveryRedirectsToTheClientsCloud(t *testing.T) {
	h := newHarness(t, Options{})
	eu := h.sim.AddClient(APIClient{Cloud: "eu-1"})
	form := url.Values{"client_id": {eu.ClientID}, "client_secret": {eu.ClientSecret}}
	r := h.do(http.MethodPost, "/oauth2/token", "", form)
	if r.status != http.StatusPermanentRedirect || r.header.Get("X-Cs-Region") != "eu-1" ||
		r.header.Get("Location") != h.srv.URL+"/eu-1/oauth2/token" {
		t.Fatalf("want 308 to eu-1, got %d %v", r.status, r.header)
	}
	r = h.do(http.MethodPost, "/eu-1/oauth2/token", "", form)
	if r.status != http.StatusCreated || r.header.Get("X-Cs-Region") != "eu-1" {
		t.Fatalf("token at eu-1: %d %v", r.status, r.header)
	}
	bearer := r.json(t)["access_token"].(string)
	if r := h.do(http.MethodGet, queryPath, bearer, nil); r.status != http.StatusUnauthorized {
		t.Errorf("an eu-1 token at us-1: %d, want 401", r.status)
	}
	if r := h.do(http.MethodGet, "/eu-1"+queryPath, bearer, nil); r.status != http.StatusOK {
		t.Errorf("an eu-1 token at eu-1: %d", r.status)
	}

	gov := h.sim.AddClient(APIClient{Cloud: "us-gov-1"})
	r = h.do(http.MethodPost, "/oauth2/token", "", url.Values{"client_id": {gov.ClientID}, "client_secret": {gov.ClientSecret}})
	if r.status != http.StatusForbidden {
		t.Errorf("GovCloud client at us-1: %d, want 403 (GovCloud does not autodiscover)", r.status)
	}
}

func TestMemberCIDActsOnTheChildAccount(t *testing.T) {
	h := newHarness(t, Options{})
	child := strings.Repeat("AB", 16)
	parent := h.sim.AddClient(APIClient{MemberCIDs: []string{child}})
	h.create(h.login(parent, child), "child token", nil)
	if len(h.sim.Tokens(child)) != 1 || len(h.sim.Tokens(parent.CID)) != 0 {
		t.Fatalf("member_cid token landed in the wrong account")
	}
	r := h.do(http.MethodGet, "/sensors/queries/installers/ccid/v1", h.login(parent, child), nil)
	if got := r.resources(t)[0].(string); !strings.HasPrefix(got, child+"-") || len(got) != 35 {
		t.Errorf("ccid = %q, want the child's", got)
	}
	other := url.Values{"client_id": {parent.ClientID}, "client_secret": {parent.ClientSecret}, "member_cid": {strings.Repeat("CD", 16)}}
	if r := h.do(http.MethodPost, "/oauth2/token", "", other); r.status != http.StatusForbidden {
		t.Errorf("a member_cid the client may not use: %d", r.status)
	}
}

func TestSettingsUpdateWritesOnlyTheFieldsSent(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	path := "/installation-tokens/entities/customer-settings/v1"
	h.do(http.MethodPatch, path, bearer, map[string]any{"tokens_required": true, "max_active_tokens": 7})
	h.do(http.MethodPatch, path, bearer, map[string]any{"tokens_required": false})
	if got := h.sim.Settings(c.CID); got != (Settings{TokensRequired: false, MaxActiveTokens: 7}) {
		t.Errorf("settings = %+v", got)
	}
}

func TestRateLimitSlidingWindow(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 3})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	start := h.clock.Now()
	for i := range 3 {
		r := h.do(http.MethodGet, queryPath, bearer, nil)
		if r.status != http.StatusOK || r.header.Get("X-Ratelimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d remaining %s", i, r.status, r.header.Get("X-Ratelimit-Remaining"))
		}
		h.clock.Step(10 * time.Second)
	}
	r := h.do(http.MethodGet, queryPath, bearer, nil)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d", r.status)
	}
	if want := strconv.FormatInt(start.Add(time.Minute).Unix(), 10); r.header.Get("X-Ratelimit-Retryafter") != want {
		t.Errorf("Retryafter = %s, want %s (when the oldest request leaves the window)", r.header.Get("X-Ratelimit-Retryafter"), want)
	}
	other := h.sim.AddClient(APIClient{})
	if r := h.do(http.MethodGet, queryPath, h.login(other, ""), nil); r.status != http.StatusOK {
		t.Errorf("another CID is held back: %d", r.status)
	}
	h.clock.Step(31 * time.Second)
	if r := h.do(http.MethodGet, queryPath, bearer, nil); r.status != http.StatusOK {
		t.Errorf("after the window: %d", r.status)
	}
}

func TestPerIPLimitForBadBearerTokens(t *testing.T) {
	h := newHarness(t, Options{BadBearerPerIP: 2})
	for range 2 {
		if r := h.do(http.MethodGet, queryPath, "nonsense", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("bad bearer: %d", r.status)
		}
	}
	if r := h.do(http.MethodGet, queryPath, "nonsense", nil); r.status != http.StatusTooManyRequests {
		t.Errorf("third bad bearer: %d, want 429", r.status)
	}
}

func TestExpiredAccessTokenAndRotatedSecret(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	h.clock.Step(1800 * time.Second)
	if r := h.do(http.MethodGet, queryPath, bearer, nil); r.status != http.StatusUnauthorized {
		t.Errorf("expired access token: %d", r.status)
	}
	bearer = h.login(c, "")
	newSecret := h.sim.RotateSecret(c.ClientID)
	if r := h.do(http.MethodGet, queryPath, bearer, nil); r.status != http.StatusUnauthorized {
		t.Errorf("access token of a rotated secret: %d", r.status)
	}
	form := url.Values{"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
	if r := h.do(http.MethodPost, "/oauth2/token", "", form); r.status != http.StatusForbidden {
		t.Errorf("old secret: %d", r.status)
	}
	c.ClientSecret = newSecret
	h.login(c, "")
}

func TestFaults(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	send := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+tokensPath, strings.NewReader(`{"label":"f"}`))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}

	h.sim.DropNext("tokens-create", 1)
	if err := send(5 * time.Second); err == nil || len(h.sim.Tokens(c.CID)) != 0 {
		t.Errorf("drop: err %v, tokens %d", err, len(h.sim.Tokens(c.CID)))
	}
	h.sim.FailAfterWrite("tokens-create", 1)
	if err := send(5 * time.Second); err == nil || len(h.sim.Tokens(c.CID)) != 1 {
		t.Errorf("fail after write: err %v, tokens %d (want the create to have happened)", err, len(h.sim.Tokens(c.CID)))
	}
	h.sim.HangNext("tokens-create", 1)
	if err := send(200 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: %v", err)
	}
	held, release := h.sim.HoldNext("tokens-create")
	done := make(chan error, 1)
	go func() { done <- send(5 * time.Second) }()
	<-held
	if len(h.sim.Tokens(c.CID)) != 2 {
		t.Errorf("held create has not taken effect")
	}
	release()
	if err := <-done; err != nil {
		t.Errorf("released reply: %v", err)
	}
	h.sim.SetFaults(Faults{ServerErrorRate: 1, Ops: []string{"tokens-query"}})
	if r := h.do(http.MethodGet, queryPath, bearer, nil); r.status < 500 {
		t.Errorf("server error rate 1: %d", r.status)
	}
	if r := h.do(http.MethodGet, tokensPath+"?ids=x", bearer, nil); r.status >= 500 {
		t.Errorf("faults leaked to another operation: %d", r.status)
	}
	h.sim.SetFaults(Faults{})

	if h.sim.ClientCalls(c.ClientID, "tokens-create") != 4 || h.sim.Calls("oauth2-token") != 1 {
		t.Errorf("counters: creates %d, tokens %d", h.sim.ClientCalls(c.ClientID, "tokens-create"), h.sim.Calls("oauth2-token"))
	}
	if got := len(h.sim.Secrets()); got < 4 {
		t.Errorf("Secrets() lists %d secrets, want the client secret, the access token and the token values", got)
	}
}

func TestSettingsWithoutACap(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.sim.AddClient(APIClient{})
	bearer := h.login(c, "")
	path := "/installation-tokens/entities/customer-settings/v1"
	h.sim.ConsoleSetSettings(c.CID, Settings{TokensRequired: true, MaxActiveTokensUnset: true})

	r := h.do(http.MethodGet, path, bearer, nil)
	expectConformance(t, loadSwagger(t), http.MethodGet, path, r)
	if got := r.resources(t)[0].(map[string]any); len(got) != 1 || got["tokens_required"] != true {
		t.Fatalf("settings without a cap read as %v, want only tokens_required", got)
	}
	h.create(bearer, "no cap applies", nil)

	r = h.do(http.MethodPatch, path, bearer, map[string]any{"max_active_tokens": 5})
	if got := r.resources(t)[0].(map[string]any); got["max_active_tokens"] != float64(5) {
		t.Fatalf("after setting a cap: %v", got)
	}
	if got := h.sim.Settings(c.CID); got != (Settings{TokensRequired: true, MaxActiveTokens: 5}) {
		t.Fatalf("settings = %+v", got)
	}
}
