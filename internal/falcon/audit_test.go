package falcon

import (
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestAuditEventsOfCreatedTokens(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	tok, err := c.CreateToken(ctx, "audited", nil)
	if err != nil {
		t.Fatal(err)
	}

	ids, total, err := c.QueryAuditEventIDs(ctx, TokenQuery{Filter: "action:" + QuoteFQL("token_create")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 || total < len(ids) {
		t.Fatalf("query found %v (total %d)", ids, total)
	}
	events, err := c.GetAuditEvents(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		if e.Action != "token_create" {
			t.Fatalf("filtered on token_create, got %+v", e)
		}
		found = found || (e.TokenID == tok.ID && !e.Timestamp.IsZero())
	}
	if !found {
		t.Fatalf("no token_create event for %s in %+v", tok.ID, events)
	}
}
