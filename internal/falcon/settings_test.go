package falcon

import (
	"net/http"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestCustomerSettingsReadAndWrite(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)

	got, err := c.GetCustomerSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.sim.Settings(api.CID); got.TokensRequired != want.TokensRequired || got.MaxActiveTokens != want.MaxActiveTokens {
		t.Fatalf("read %+v, simulator has %+v", got, want)
	}

	updated, err := c.UpdateCustomerSettings(ctx, CustomerSettingsUpdate{TokensRequired: ptr(true), MaxActiveTokens: ptr(7)})
	if err != nil {
		t.Fatal(err)
	}
	if updated != (CustomerSettings{TokensRequired: true, MaxActiveTokens: 7}) || h.sim.Settings(api.CID) != (falcontest.Settings{TokensRequired: true, MaxActiveTokens: 7}) {
		t.Fatalf("after update: client %+v, simulator %+v", updated, h.sim.Settings(api.CID))
	}

	updated, err = c.UpdateCustomerSettings(ctx, CustomerSettingsUpdate{TokensRequired: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if body := h.lastBody(http.MethodPatch, customerSettingsPath); body != `{"tokens_required":false}` {
		t.Fatalf("sent %s, want exactly {\"tokens_required\":false}", body)
	}
	if updated.TokensRequired || h.sim.Settings(api.CID).TokensRequired {
		t.Fatalf("tokens_required:false was not applied: client %+v, simulator %+v", updated, h.sim.Settings(api.CID))
	}
	if h.sim.Settings(api.CID).MaxActiveTokens != 7 {
		t.Fatalf("an unset field changed: %+v", h.sim.Settings(api.CID))
	}

	// Zero is a value too: the client sends it and leaves judging it to the API.
	_, _ = c.UpdateCustomerSettings(ctx, CustomerSettingsUpdate{TokensRequired: ptr(false), MaxActiveTokens: ptr(0)})
	if body := h.lastBody(http.MethodPatch, customerSettingsPath); body != `{"tokens_required":false,"max_active_tokens":0}` {
		t.Fatalf("sent %s, want both fields explicitly", body)
	}
}
