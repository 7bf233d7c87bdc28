package falcon

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestRateLimitHoldsEveryRequestOfTheCredential(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: clock.Now})
	useClock := func(cfg *Config) { cfg.Now = clock.Now }
	limited, apiA := h.client(falcontest.APIClient{}, useClock)
	other, apiB := h.client(falcontest.APIClient{}, useClock)
	ctx := ctxFor(t)
	for _, c := range []*Client{limited, other} {
		if _, err := c.CountValidTokens(ctx); err != nil {
			t.Fatal(err)
		}
	}
	until := clock.Now().Add(30 * time.Second)
	h.sim.ForceRateLimit(apiA.CID, until)
	h.sim.ResetCalls()
	limitedBefore := testutil.ToFloat64(rateLimited.WithLabelValues(limited.metricsLabel))

	// 20 workers, 5 calls each: only requests already on their way when the first 429
	// arrived may reach the simulator; every call ends in a RateLimitError.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 20 {
		wg.Go(func() {
			for range 5 {
				_, err := limited.CountValidTokens(ctx)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		at, ok := RetryAt(err)
		if !ok || !at.Equal(until) {
			t.Fatalf("got %v (retry at %v), want a RateLimitError until %v", err, at, until)
		}
	}
	sent := h.sim.ClientCalls(apiA.ClientID, opTokensQuery)
	if sent < 1 || sent > 20 {
		t.Fatalf("%d requests reached the simulator, want between 1 and 20 (one in flight per worker)", sent)
	}

	// Nothing leaves now, a token request included.
	limited.Close()
	h.sim.ResetCalls()
	for range 10 {
		if _, err := limited.CreateToken(ctx, "held", nil); !errors.As(err, new(*RateLimitError)) {
			t.Fatalf("during the cooldown: %v", err)
		}
	}
	if n := h.sim.ClientCalls(apiA.ClientID, opOAuth2Token) + h.sim.ClientCalls(apiA.ClientID, opTokensCreate); n != 0 {
		t.Fatalf("%d requests of the cooling-down credential reached the simulator", n)
	}

	// Another credential (another CID) is not held back.
	if _, err := other.CountValidTokens(ctx); err != nil {
		t.Fatalf("second credential during the first's cooldown: %v", err)
	}
	if got := h.sim.ClientCalls(apiB.ClientID, opTokensQuery); got != 1 {
		t.Fatalf("second credential: %d requests", got)
	}

	clock.Step(29 * time.Second)
	if _, err := limited.CountValidTokens(ctx); !errors.As(err, new(*RateLimitError)) {
		t.Fatalf("a second before the end: %v", err)
	}
	clock.Step(2 * time.Second)
	if _, err := limited.CreateToken(ctx, "after", nil); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	if got := testutil.ToFloat64(rateLimited.WithLabelValues(limited.metricsLabel)) - limitedBefore; got != float64(sent) {
		t.Fatalf("rate-limited metric rose by %v, want one per 429 (%d)", got, sent)
	}
}

func TestRetryAfterInMillisecondsAndMissing(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: clock.Now})
	retryAfter := ""
	h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/us-1"+tokensQueryPath {
			return false
		}
		if retryAfter != "" {
			w.Header()["x-ratelimit-retryafter"] = []string{retryAfter} // not canonical case
		}
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	})
	c, _ := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Now = clock.Now })
	ctx := ctxFor(t)

	want := clock.Now().Add(1500 * time.Millisecond)
	retryAfter = strconv.FormatInt(want.UnixMilli(), 10)
	_, err := c.CountValidTokens(ctx)
	if at, ok := RetryAt(err); !ok || !at.Equal(want) {
		t.Fatalf("millisecond Retryafter: %v (retry at %v), want %v", err, at, want)
	}

	clock.Step(2 * time.Second)
	retryAfter = ""
	_, err = c.CountValidTokens(ctx)
	if at, ok := RetryAt(err); !ok || !at.Equal(clock.Now().Add(defaultRetryAfter)) {
		t.Fatalf("missing Retryafter: %v, want a %v cooldown", err, defaultRetryAfter)
	}
}

func TestRetryAfterIsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	header := func(v string) http.Header { return http.Header{"X-Ratelimit-Retryafter": {v}} }
	cases := map[string]time.Time{
		"1800000030":      now.Add(30 * time.Second),
		"1800000030000":   now.Add(30 * time.Second),
		"1800000030.7":    now.Add(30 * time.Second),
		"1700000000":      now.Add(minCooldown),
		"99999999999":     now.Add(maxCooldown),
		"soon":            now.Add(defaultRetryAfter),
		"18000000300000 ": now.Add(maxCooldown),
	}
	for raw, want := range cases {
		if got := retryAfter(header(raw), now); !got.Equal(want) {
			t.Errorf("Retryafter %q: %v, want %v", raw, got, want)
		}
	}
}

func TestLowRemainingSpacesRequestsOut(t *testing.T) {
	h := newHarness(t, falcontest.Options{RateLimit: 100})
	c, _ := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	// Spend 95 of the 100 (96 if the token request counts), then four more go spaced out.
	for range 95 {
		if _, err := c.CountValidTokens(ctx); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for range 4 {
		if _, err := c.CountValidTokens(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if elapsed := time.Since(start); elapsed < 2*lowRemainingSpacing {
		t.Fatalf("4 requests with under 5%% of the window left took %v, want them spaced by %v", elapsed, lowRemainingSpacing)
	}
}
