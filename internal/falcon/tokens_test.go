package falcon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
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

func TestCreateSendsOnlyLabelAndExpiry(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{})
	if _, err := c.CreateToken(ctxFor(t), "team-a/sensors", nil); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(h.lastBody(http.MethodPost, tokensEntityPath)), &body); err != nil {
		t.Fatal(err)
	}
	if len(body) != 2 || body["label"] != "team-a/sensors" || body["expires_timestamp"] != nil {
		t.Fatalf("create sent %v, want exactly label and expires_timestamp, as CrowdStrike's own clients do", body)
	}
}

func TestCreateReplyWithoutIDIsMalformed(t *testing.T) {
	for _, entity := range []string{
		`{"value":"0123abcd","label":"x","status":"valid"}`,
		`{"id":null,"value":"0123abcd","label":"x","status":"valid"}`,
		`{"id":"","value":"0123abcd","label":"x","status":"valid"}`,
	} {
		t.Run(entity, func(t *testing.T) {
			h := newHarness(t, falcontest.Options{})
			c, _ := h.client(falcontest.APIClient{})
			h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, tokensEntityPath) {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				_, _ = fmt.Fprintf(w, `{"meta":{"trace_id":"t"},"errors":[],"resources":[%s]}`, entity)
				return true
			})
			tok, err := c.CreateToken(ctxFor(t), "x", nil)
			if !IsServerError(err) || !strings.Contains(err.Error(), "malformed reply") || tok.Value != "" {
				t.Fatalf("got %v, %v; want a retryable malformed-reply error and no token", tok, err)
			}
		})
	}
}

func TestFindTokensByMarkerPagesReadsAndMatchesExactly(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: clock.Now})
	c, api := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Now = clock.Now })
	create := func(label string) falcontest.Token {
		clock.Step(time.Second)
		return h.sim.ConsoleCreateToken(api.CID, label, nil)
	}
	const marker = "fto-0a1b2c3d4e"
	oldest := create(MarkLabel("team/sensors", marker))
	revoked := create(MarkLabel("team/sensors", marker))
	h.sim.ConsoleRevoke(api.CID, revoked.ID)
	// 1050 near misses: the wildcard query finds them, the exact match must not.
	for i := range 1050 {
		create(fmt.Sprintf("bulk-%04d [%s%d]", i, marker, i))
	}
	create(marker + " in the middle [other]")
	create(strings.ToUpper(marker) + " [" + strings.ToUpper(marker) + "]")
	newest := create("renamed in the console [" + marker + "]")
	h.sim.ResetCalls()

	found, err := c.FindTokensByMarker(ctxFor(t), marker)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(found))
	for _, tok := range found {
		got = append(got, tok.ID)
	}
	if want := []string{oldest.ID, revoked.ID, newest.ID}; !slices.Equal(got, want) {
		t.Fatalf("found %v, want %v (oldest first, any status)", found, want)
	}
	if found[1].Status != TokenStatusRevoked || found[0].Value != oldest.Value {
		t.Fatalf("found %v: want the tokens as read", found)
	}
	if queries, reads := h.sim.Calls(opTokensQuery), h.sim.Calls(opTokensRead); queries != 2 || reads != 11 {
		t.Fatalf("%d queries and %d reads for 1055 candidates, want 2 pages of 1000 and 11 reads of 100", queries, reads)
	}
}

func TestFindValidMarkedTokenIDs(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	const marked = 1001 // more than a page of 1000
	want := make([]string, 0, marked)
	for i := range marked {
		want = append(want, h.sim.ConsoleCreateToken(api.CID, MarkLabel("ns/name", fmt.Sprintf("fto-%010d", i)), nil).ID)
	}
	revoked := h.sim.ConsoleCreateToken(api.CID, MarkLabel("ns/revoked", "fto-revoked"), nil)
	h.sim.ConsoleRevoke(api.CID, revoked.ID)
	h.sim.ConsoleCreateToken(api.CID, "fto-unbracketed", nil)
	h.sim.ConsoleCreateToken(api.CID, MarkLabel("ns/other", "other-1"), nil)
	h.sim.ResetCalls()

	ids, err := c.FindValidMarkedTokenIDs(ctxFor(t), "fto-")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("found %d ids, want the %d valid tokens marked fto-*", len(ids), len(want))
	}
	if got := h.sim.Calls(opTokensQuery); got != 2 {
		t.Fatalf("%d queries for 1001 ids, want 2 pages of 1000", got)
	}
}

func TestCountValidTokens(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	for _, label := range []string{"a", "b", "c"} {
		h.sim.ConsoleCreateToken(api.CID, label, nil)
	}
	h.sim.ConsoleRevoke(api.CID, h.sim.ConsoleCreateToken(api.CID, "revoked", nil).ID)
	h.sim.ResetCalls()

	n, err := c.CountValidTokens(ctxFor(t))
	if err != nil || n != 3 {
		t.Fatalf("CountValidTokens = %d, %v; want 3", n, err)
	}
	if got := h.sim.Calls(opTokensQuery); got != 1 {
		t.Fatalf("%d queries, want one", got)
	}

	h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, tokensQueryPath) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"meta":{"trace_id":"t"},"errors":[],"resources":["0123456789abcdef0123456789abcdef"]}`))
		return true
	})
	if _, err := c.CountValidTokens(ctxFor(t)); !IsServerError(err) || !strings.Contains(err.Error(), "malformed reply") {
		t.Fatalf("a reply without pagination: %v, want a malformed reply, not a guess", err)
	}
}

func TestMarkedLabels(t *testing.T) {
	for _, tc := range []struct {
		label, marker string
		marked        bool
	}{
		{MarkLabel("team/sensors", "fto-1"), "fto-1", true},
		{"team/sensors[fto-1]", "fto-1", true},
		{MarkLabel("team/sensors", "fto-12"), "fto-1", false},
		{MarkLabel("team/sensors", "xfto-1"), "fto-1", false},
		{MarkLabel("team/sensors", "fto-1") + " edited", "fto-1", false},
		{MarkLabel("team/sensors", "FTO-1"), "fto-1", false},
		{"team/sensors fto-1", "fto-1", false},
	} {
		if got := HasMarker(tc.label, tc.marker); got != tc.marked {
			t.Errorf("HasMarker(%q, %q) = %t, want %t", tc.label, tc.marker, got, tc.marked)
		}
	}
	if got := MarkLabel("team/sensors", "fto-1"); got != "team/sensors [fto-1]" {
		t.Errorf("MarkLabel = %q", got)
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
	clock.Step(2 * time.Hour)

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

func TestUnreadableTimestampNamesTheField(t *testing.T) {
	for _, tc := range []struct{ entity, want string }{
		{`{"id":"a","created_timestamp":12345}`, `field "created_timestamp" has an unexpected type`},
		{`{"id":"a","expires_timestamp":{"at":"2026-01-01T00:00:00Z"}}`, `field "expires_timestamp" has an unexpected type`},
		{`{"id":"a","last_used_timestamp":true}`, `field "last_used_timestamp" has an unexpected type`},
		{`{"id":"a","revoked_timestamp":"yesterday"}`, `field "revoked_timestamp" is not an RFC 3339 time`},
	} {
		t.Run(tc.entity, func(t *testing.T) {
			var out []tokenJSON
			_, err := decodeReply(opTokensRead, http.StatusOK, http.Header{}, []byte(`{"resources":[`+tc.entity+`]}`), &out, false)
			if !IsServerError(err) || !strings.Contains(err.Error(), "malformed reply") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a malformed reply saying %s", err, tc.want)
			}
		})
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
