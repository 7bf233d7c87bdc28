package falcon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestMissingScopeNamesTheConsoleScope(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{Scopes: []string{}})
	ctx := ctxFor(t)
	cases := []struct {
		op    string
		call  func() error
		scope string
	}{
		{opTokensQuery, func() error { _, err := c.CountValidTokens(ctx); return err }, "Installation Tokens: Read"},
		{opTokensCreate, func() error { _, err := c.CreateToken(ctx, "x", nil); return err }, "Installation Tokens: Write"},
		{opCustomerSettingsUpdate, func() error {
			_, err := c.UpdateCustomerSettings(ctx, CustomerSettings{TokensRequired: ptr(true)})
			return err
		}, "Installation Tokens Settings: Write"},
		{opCCID, func() error { _, err := c.CCID(ctx); return err }, "Sensor Download: Read"},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			err := tc.call()
			scope, ok := MissingScope(err)
			if !ok || scope != tc.scope || !IsForbidden(err) || IsInvalidCredentials(err) {
				t.Fatalf("got %v; MissingScope = %q, %t; want %q", err, scope, ok, tc.scope)
			}
			e := mustAPIError(t, err)
			if e.Operation != tc.op || e.TraceID == "" {
				t.Fatalf("got %+v", e)
			}
			msg := err.Error()
			for _, want := range []string{"falcon " + tc.op + ": 403 access denied, scope not permitted (trace " + e.TraceID + ")", tc.scope} {
				if !strings.Contains(msg, want) {
					t.Fatalf("error %q does not contain %q", msg, want)
				}
			}
		})
	}

	h.sim.SetScopes(api.ClientID, []string{"installation-tokens:read"})
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatalf("after granting read: %v", err)
	}
}

func TestAPIRefusalsMapToKinds(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	missing := strings.Repeat("f", 32)

	_, err := c.UpdateTokens(ctx, []string{missing}, TokenUpdate{Revoked: ptr(true)})
	if !IsNotFound(err) || IsServerError(err) {
		t.Fatalf("update of a missing token: %v, want IsNotFound", err)
	}

	h.sim.ConsoleSetSettings(api.CID, falcontest.Settings{MaxActiveTokens: 1})
	if _, err := c.CreateToken(ctx, "first", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateToken(ctx, "second", nil)
	if !IsConflict(err) || IsServerError(err) {
		t.Fatalf("create over the cap: %v, want IsConflict", err)
	}

	_, err = c.GetTokens(ctx, []string{"not-a-token-id"})
	if e := mustAPIError(t, err); e.StatusCode != http.StatusBadRequest || IsServerError(err) || IsNotFound(err) {
		t.Fatalf("read of a malformed ID: %v, want a 400", err)
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	h.sim.SetFaults(falcontest.Faults{ServerErrorRate: 1, Ops: []string{opTokensQuery}})

	_, err := c.CountValidTokens(ctx)
	if e := mustAPIError(t, err); e.StatusCode < 500 || !IsServerError(err) {
		t.Fatalf("got %v, want a retryable 5xx", err)
	}
	if _, err := c.GetCustomerSettings(ctx); err != nil {
		t.Fatalf("an operation without faults failed: %v", err)
	}
}

func TestDroppedConnections(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)

	h.sim.DropNext(opTokensCreate, 1)
	_, err := c.CreateToken(ctx, "dropped", nil)
	if !IsServerError(err) || !strings.Contains(err.Error(), "falcon tokens-create:") {
		t.Fatalf("dropped create: %v, want a retryable error naming the operation", err)
	}
	if n := len(h.sim.Tokens(api.CID)); n != 0 {
		t.Fatalf("%d tokens after a create dropped before it took effect", n)
	}

	h.sim.FailAfterWrite(opTokensCreate, 1)
	_, err = c.CreateToken(ctx, "written", nil)
	if !IsServerError(err) {
		t.Fatalf("create dropped after writing: %v, want a retryable error", err)
	}
	if n := len(h.sim.Tokens(api.CID)); n != 1 {
		t.Fatalf("%d tokens, want the one the lost reply created", n)
	}

	// Reads are idempotent, so net/http may resend one on a fresh connection: drop them all.
	h.sim.DropNext(opTokensQuery, 10)
	if _, err = c.CountValidTokens(ctx); !IsServerError(err) {
		t.Fatalf("dropped query: %v, want a retryable error", err)
	}
}

func TestHungReplyTimesOut(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.RequestTimeout = 300 * time.Millisecond })
	ctx := ctxFor(t)
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}

	h.sim.HangNext(opTokensQuery, 1)
	start := time.Now()
	_, err := c.CountValidTokens(ctx)
	if !IsServerError(err) || time.Since(start) > 5*time.Second {
		t.Fatalf("hung reply: %v after %v, want a retryable timeout", err, time.Since(start))
	}

	h.sim.HangNext(opTokensQuery, 1)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = c.CountValidTokens(short)
	if !IsServerError(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung reply with a deadline: %v", err)
	}

	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if _, err = c.CountValidTokens(cancelled); err == nil || IsServerError(err) {
		t.Fatalf("cancelled call: %v, want a non-retryable error", err)
	}
}

func TestUnreachableEndpointIsRetryable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	endpoints, err := NewEndpoints(map[string]string{"down": down.URL}, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Credentials: Credentials{ClientID: "id", ClientSecret: "secret-xyz"}, Cloud: "down", Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CountValidTokens(ctxFor(t))
	if !IsServerError(err) || !strings.HasPrefix(err.Error(), "falcon oauth2-token: ") || strings.Contains(err.Error(), "secret-xyz") {
		t.Fatalf("got %v", err)
	}
}

func TestErrorClassesDoNotOverlap(t *testing.T) {
	rl := &RateLimitError{Operation: opTokensCreate, RetryAt: time.Unix(1700000000, 0)}
	if IsServerError(rl) || IsNotFound(rl) {
		t.Fatal("a rate-limit error is classed as something else")
	}
	if at, ok := RetryAt(rl); !ok || !at.Equal(rl.RetryAt) {
		t.Fatalf("RetryAt = %v, %t", at, ok)
	}
	if _, ok := RetryAt(errors.New("other")); ok {
		t.Fatal("RetryAt of a plain error")
	}
	if want := "falcon tokens-create: rate limited until 2023-11-14T22:13:20Z"; rl.Error() != want {
		t.Fatalf("%q, want %q", rl.Error(), want)
	}
	plain := &APIError{Operation: opTokensRead, StatusCode: 502}
	if plain.Error() != "falcon tokens-read: 502 bad gateway" || !IsServerError(plain) {
		t.Fatalf("%q", plain.Error())
	}
}
