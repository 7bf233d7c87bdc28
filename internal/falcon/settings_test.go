package falcon

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestCustomerSettingsReadAndWrite(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	h.sim.ConsoleSetSettings(api.CID, falcontest.Settings{TokensRequired: true, MaxActiveTokens: 20})

	got, err := c.GetCustomerSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (CustomerSettings{TokensRequired: ptr(true), MaxActiveTokens: ptr(20)}); !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v, want %+v", got, want)
	}

	for _, tc := range []struct {
		name     string
		write    CustomerSettings
		wantBody string
		stored   falcontest.Settings
	}{
		{"both", CustomerSettings{TokensRequired: ptr(true), MaxActiveTokens: ptr(7)},
			`{"tokens_required":true,"max_active_tokens":7}`, falcontest.Settings{TokensRequired: true, MaxActiveTokens: 7}},
		{"false is a value", CustomerSettings{TokensRequired: ptr(false), MaxActiveTokens: ptr(7)},
			`{"tokens_required":false,"max_active_tokens":7}`, falcontest.Settings{TokensRequired: false, MaxActiveTokens: 7}},
		{"zero is a value", CustomerSettings{TokensRequired: ptr(false), MaxActiveTokens: ptr(0)},
			`{"tokens_required":false,"max_active_tokens":0}`, falcontest.Settings{TokensRequired: false, MaxActiveTokens: 0}},
		{"only what is known", CustomerSettings{TokensRequired: ptr(true)},
			`{"tokens_required":true}`, falcontest.Settings{TokensRequired: true, MaxActiveTokens: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			updated, err := c.UpdateCustomerSettings(ctx, tc.write)
			if err != nil {
				t.Fatal(err)
			}
			if body := h.lastBody(http.MethodPatch, customerSettingsPath); body != tc.wantBody {
				t.Fatalf("sent %s, want %s", body, tc.wantBody)
			}
			if stored := h.sim.Settings(api.CID); stored != tc.stored {
				t.Fatalf("the simulator holds %+v, want %+v", stored, tc.stored)
			}
			want := CustomerSettings{TokensRequired: ptr(tc.stored.TokensRequired), MaxActiveTokens: ptr(tc.stored.MaxActiveTokens)}
			if !reflect.DeepEqual(updated, want) {
				t.Fatalf("returned %+v, want %+v", updated, want)
			}
		})
	}
}

func TestCustomerSettingsMissingFieldIsNil(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	h.sim.ConsoleSetSettings(api.CID, falcontest.Settings{TokensRequired: false, MaxActiveTokensUnset: true})

	got, err := c.GetCustomerSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxActiveTokens != nil || got.TokensRequired == nil || *got.TokensRequired {
		t.Fatalf("read %+v, want tokens_required false and no max_active_tokens", got)
	}

	got.TokensRequired = ptr(true)
	if _, err := c.UpdateCustomerSettings(ctx, got); err != nil {
		t.Fatal(err)
	}
	if body := h.lastBody(http.MethodPatch, customerSettingsPath); body != `{"tokens_required":true}` {
		t.Fatalf("sent %s: an unknown field must not be sent as 0", body)
	}
}

func TestEmptyUpdatesAreRefusedWithoutARequest(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	tok := h.sim.ConsoleCreateToken(api.CID, "x", nil)
	h.sim.ResetCalls()

	_, settingsErr := c.UpdateCustomerSettings(ctx, CustomerSettings{})
	_, tokenErr := c.UpdateTokens(ctx, []string{tok.ID}, TokenUpdate{})
	for _, err := range []error{settingsErr, tokenErr} {
		if err == nil || IsServerError(err) {
			t.Errorf("empty update: %v, want a refusal that is not retried", err)
		}
	}
	if n := h.sim.TotalCalls(); n != 0 {
		t.Fatalf("%d requests sent for empty updates", n)
	}
}
