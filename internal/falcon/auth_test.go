package falcon

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestOneAccessTokenServesManyGoroutines(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	fetchesBefore := testutil.ToFloat64(tokenFetches.WithLabelValues(c.metricsLabel))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 20 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.CountValidTokens(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Token); got != 1 {
		t.Fatalf("%d token requests for 100 calls, want 1", got)
	}
	if got := testutil.ToFloat64(tokenFetches.WithLabelValues(c.metricsLabel)) - fetchesBefore; got != 1 {
		t.Fatalf("token fetch metric rose by %v, want 1", got)
	}
	if got := h.sim.ClientCalls(api.ClientID, opTokensQuery); got != 100 {
		t.Fatalf("%d query calls, want 100", got)
	}
}

func TestAccessTokenIsRenewedBeforeItExpires(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: clock.Now})
	c, api := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Now = clock.Now })
	ctx := ctxFor(t)
	call := func() {
		t.Helper()
		if _, err := c.CountValidTokens(ctx); err != nil {
			t.Fatal(err)
		}
	}
	call()
	clock.Step(20 * time.Minute)
	call()
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Token); got != 1 {
		t.Fatalf("%d token requests within the token's lifetime, want 1", got)
	}
	clock.Step(9*time.Minute + 30*time.Second) // 30 s before the 1799 s token expires
	call()
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Token); got != 2 {
		t.Fatalf("%d token requests, want a second one shortly before expiry", got)
	}
	for _, call := range h.sim.CallLog() {
		if call.Status == http.StatusUnauthorized {
			t.Fatalf("a request went out with an expired token: %+v", call)
		}
	}
}

func TestUnauthorizedRefreshesTheTokenOnce(t *testing.T) {
	simClock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: simClock.Now})
	// The client keeps real time, so it cannot know the simulator let its token lapse.
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}
	simClock.Step(2 * time.Hour)
	h.sim.ResetCalls()

	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatalf("after the token lapsed: %v", err)
	}
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Token); got != 1 {
		t.Fatalf("%d token requests after a 401, want 1", got)
	}
	if got := h.sim.Calls(opTokensQuery); got != 2 {
		t.Fatalf("%d query requests, want the refused one and one retry", got)
	}
}

func TestUnauthorizedTwiceIsReported(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{})
	// Something between client and API (a proxy) drops the bearer token.
	h.setIntercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/oauth2/") {
			r.Header.Del("Authorization")
		}
		return false
	})
	_, err := c.CountValidTokens(ctxFor(t))
	if !IsUnauthorized(err) || IsInvalidCredentials(err) {
		t.Fatalf("got %v, want IsUnauthorized", err)
	}
	if got := h.sim.Calls(opTokensQuery); got != 2 {
		t.Fatalf("%d query requests, want exactly 2 (one retry)", got)
	}
	if got := h.sim.Calls(opOAuth2Token); got != 2 {
		t.Fatalf("%d token requests, want 2 (one refresh)", got)
	}
}

func TestRotatedSecretIsInvalidCredentials(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}
	h.sim.RotateSecret(api.ClientID)

	_, err := c.CountValidTokens(ctx)
	if !IsInvalidCredentials(err) {
		t.Fatalf("got %v, want IsInvalidCredentials", err)
	}
	if e := mustAPIError(t, err); e.Operation != opOAuth2Token || e.StatusCode != http.StatusForbidden {
		t.Fatalf("got %+v", e)
	}
}

func TestWrongSecretIsInvalidCredentials(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Credentials.ClientSecret = "not-the-secret-0123456789" })
	_, err := c.CreateToken(ctxFor(t), "x", nil)
	e := mustAPIError(t, err)
	if !IsInvalidCredentials(err) || IsForbidden(err) || e.Operation != opOAuth2Token {
		t.Fatalf("got %v, want invalid credentials on oauth2-token", err)
	}
	if !strings.Contains(err.Error(), "Failed to issue access token") || strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("error %q", err)
	}
	if h.sim.Calls(opTokensCreate) != 0 {
		t.Fatal("a create was sent without a token")
	}
}

func TestCloseRevokesTheAccessToken(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Revoke); got != 1 {
		t.Fatalf("%d revoke calls, want 1", got)
	}
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatalf("a closed client's next call: %v", err)
	}
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Token); got != 2 {
		t.Fatalf("%d token requests, want a fresh token after Close", got)
	}
}
