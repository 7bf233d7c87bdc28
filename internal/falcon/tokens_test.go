package falcon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

var tokenValuePattern = regexp.MustCompile(`^[0-9a-f]{8}$`)

func TestCreateTokenWithExpiryAndWithout(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)

	expires := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	tok, err := c.CreateToken(ctx, "team-a/sensors", &expires)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID == "" || !tokenValuePattern.MatchString(tok.Value) || tok.Label != "team-a/sensors" || tok.Status != TokenStatusValid {
		t.Fatalf("created token = %v (value set: %t)", tok, tok.Value != "")
	}
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(expires) {
		t.Fatalf("ExpiresAt = %v, want %v", tok.ExpiresAt, expires)
	}
	stored, ok := h.sim.Token(api.CID, tok.ID)
	if !ok || stored.Value != tok.Value || stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(expires) {
		t.Fatalf("simulator holds %+v, ok=%t", stored, ok)
	}

	forever, err := c.CreateToken(ctx, "team-a/forever", nil)
	if err != nil {
		t.Fatal(err)
	}
	if forever.ExpiresAt != nil {
		t.Fatalf("a token created without expiry expires at %v", forever.ExpiresAt)
	}
	if body := h.lastBody(http.MethodPost, tokensEntityPath); !strings.Contains(body, `"expires_timestamp":null`) {
		t.Fatalf("create body %s does not send expires_timestamp null", body)
	}
	if got := h.sim.ClientCalls(api.ClientID, opTokensCreate); got != 2 {
		t.Fatalf("%d create calls for two tokens", got)
	}
}

func TestQueryAndReadTokensPageAndBatch(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	const n = 1050
	for i := range n {
		h.sim.ConsoleCreateToken(api.CID, fmt.Sprintf("bulk-%04d", i), nil)
	}
	marked := h.sim.ConsoleCreateToken(api.CID, "it's a \\ label", nil)

	ids, total, err := c.QueryTokens(ctx, TokenQuery{Filter: "label:" + QuoteFQL(marked.Label)})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(ids) != 1 || ids[0] != marked.ID {
		t.Fatalf("query by quoted label = %v (total %d), want [%s]", ids, total, marked.ID)
	}

	page, total, err := c.QueryTokens(ctx, TokenQuery{Limit: 10, Offset: 5, Sort: "created_timestamp.desc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 10 || total != n+1 {
		t.Fatalf("page of %d, total %d; want 10 of %d", len(page), total, n+1)
	}

	h.sim.ResetCalls()
	all, err := c.QueryAllTokenIDs(ctx, "", "created_timestamp.desc")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n+1 || len(distinct(all)) != n+1 {
		t.Fatalf("QueryAllTokenIDs returned %d ids (%d distinct), want %d", len(all), len(distinct(all)), n+1)
	}
	if got := h.sim.Calls(opTokensQuery); got != 2 {
		t.Fatalf("%d query calls for %d ids, want 2 pages of 1000", got, n+1)
	}

	h.sim.ResetCalls()
	tokens, err := c.GetTokens(ctx, all[:250])
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 250 {
		t.Fatalf("read %d tokens, want 250", len(tokens))
	}
	if got := h.sim.Calls(opTokensRead); got != 3 {
		t.Fatalf("%d read calls for 250 ids, want 3 batches of at most 100", got)
	}
	for _, r := range h.requests() {
		if strings.HasSuffix(r.Path, tokensEntityPath) && strings.Count(r.Query, "ids=") > maxIDsPerRequest {
			t.Fatalf("a read carried %d ids", strings.Count(r.Query, "ids="))
		}
	}
}

func TestGetTokensLeavesOutUnknownIDs(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	known := h.sim.ConsoleCreateToken(api.CID, "known", nil)

	tokens, err := c.GetTokens(ctxFor(t), []string{known.ID, strings.Repeat("0", 32)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0].ID != known.ID || tokens[0].Value != known.Value {
		t.Fatalf("got %v, want only the known token", tokens)
	}
	none, err := c.GetTokens(ctxFor(t), []string{strings.Repeat("1", 32)})
	if err != nil || len(none) != 0 {
		t.Fatalf("reading only unknown ids = %v, %v; want none and no error", none, err)
	}
}

func TestUpdateTokensSendsFalseAndNull(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	expires := time.Now().Add(24 * time.Hour)
	tok, err := c.CreateToken(ctx, "patch-me", &expires)
	if err != nil {
		t.Fatal(err)
	}

	revoked, err := c.UpdateTokens(ctx, []string{tok.ID}, TokenUpdate{Revoked: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(revoked) != 1 || revoked[0].Status != TokenStatusRevoked || revoked[0].RevokedAt == nil {
		t.Fatalf("after revoke: %v", revoked)
	}

	restored, err := c.UpdateTokens(ctx, []string{tok.ID}, TokenUpdate{Revoked: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if body := h.lastBody(http.MethodPatch, tokensEntityPath); body != `{"revoked":false}` {
		t.Fatalf("restore sent %s, want exactly {\"revoked\":false}", body)
	}
	if restored[0].Status != TokenStatusValid || restored[0].RevokedAt != nil {
		t.Fatalf("after revoked:false: %v (revoked at %v)", restored[0], restored[0].RevokedAt)
	}

	label := "renamed"
	forever, err := c.UpdateTokens(ctx, []string{tok.ID}, TokenUpdate{Label: &label, Expiry: &Expiry{}})
	if err != nil {
		t.Fatal(err)
	}
	if body := h.lastBody(http.MethodPatch, tokensEntityPath); !strings.Contains(body, `"expires_timestamp":null`) {
		t.Fatalf("never-expire sent %s", body)
	}
	if forever[0].ExpiresAt != nil || forever[0].Label != "renamed" || forever[0].Value != tok.Value {
		t.Fatalf("after label+null expiry: %v expires %v", forever[0], forever[0].ExpiresAt)
	}
	stored, _ := h.sim.Token(api.CID, tok.ID)
	if stored.ExpiresAt != nil {
		t.Fatalf("the simulator's token still expires at %v", stored.ExpiresAt)
	}

	later := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	extended, err := c.UpdateTokens(ctx, []string{tok.ID}, TokenUpdate{Expiry: &Expiry{At: &later}})
	if err != nil {
		t.Fatal(err)
	}
	if extended[0].ExpiresAt == nil || !extended[0].ExpiresAt.Equal(later) {
		t.Fatalf("expiry = %v, want %v", extended[0].ExpiresAt, later)
	}
	if q := h.requests()[len(h.requests())-1].Query; !strings.Contains(q, "ids="+tok.ID) {
		t.Fatalf("PATCH query %q does not carry the id", q)
	}
}

func TestDeleteTokens(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	a := h.sim.ConsoleCreateToken(api.CID, "a", nil)
	b := h.sim.ConsoleCreateToken(api.CID, "b", nil)

	if err := c.DeleteTokens(ctx, []string{a.ID, b.ID}); err != nil {
		t.Fatal(err)
	}
	if left := h.sim.Tokens(api.CID); len(left) != 0 {
		t.Fatalf("%d tokens left after delete", len(left))
	}
	if got := h.sim.Calls(opTokensDelete); got != 1 {
		t.Fatalf("%d delete calls for two ids, want one", got)
	}
	if err := c.DeleteTokens(ctx, []string{a.ID}); !IsNotFound(err) {
		t.Fatalf("deleting a deleted token: %v, want IsNotFound", err)
	}
}

func TestExpiredStatusIsReported(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: clock.Now, ExpiredStatus: true})
	c, api := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Now = clock.Now })
	soon := clock.Now().Add(time.Hour)
	tok := h.sim.ConsoleCreateToken(api.CID, "short", &soon)
	clock.Advance(2 * time.Hour)

	got, err := c.GetTokens(ctxFor(t), []string{tok.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != TokenStatusExpired {
		t.Fatalf("got %v, want status expired", got)
	}
}

func TestTokenDecodingIsLiberal(t *testing.T) {
	body := `{"resources":[
	 {"id":"a","value":"0123abcd","label":null,"status":"Expired","type":"customer_managed","extra":{"x":1},
	  "created_timestamp":"2026-01-02T03:04:05.123456Z","expires_timestamp":"2026-02-01T10:00:00+02:00",
	  "last_used_timestamp":"0001-01-01T00:00:00Z","revoked_timestamp":null},
	 {"id":"b","created_timestamp":"2026-01-02T03:04:05"}]}`
	var out []tokenJSON
	if _, err := decodeReply(opTokensRead, http.StatusOK, http.Header{}, []byte(body), &out, false); err != nil {
		t.Fatal(err)
	}
	a, b := out[0].token(), out[1].token()
	if a.Status != TokenStatusExpired || a.Label != "" || a.LastUsedAt != nil || a.RevokedAt != nil {
		t.Fatalf("token a = %+v", a)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC); !a.CreatedAt.Equal(want) {
		t.Fatalf("created %v, want %v", a.CreatedAt, want)
	}
	if want := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC); a.ExpiresAt == nil || !a.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", a.ExpiresAt, want)
	}
	if b.ExpiresAt != nil || b.CreatedAt.IsZero() {
		t.Fatalf("token b (missing fields, zone-less time) = %+v", b)
	}
}

func TestTokenPrintsWithoutValue(t *testing.T) {
	tok := Token{ID: "id1", Value: "secretvalue42", Label: "l", Status: TokenStatusValid}
	encoded, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v %#v %s %q", tok, tok, tok, tok), fmt.Sprint([]Token{tok}), string(encoded)} {
		if strings.Contains(s, tok.Value) || !strings.Contains(s, "id1") {
			t.Fatalf("printed token %q shows the value or hides the id", s)
		}
	}
}

func distinct(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}
