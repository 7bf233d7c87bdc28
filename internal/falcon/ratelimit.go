package falcon

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// defaultRetryAfter is the cooldown after a 429 that names no Retryafter time.
	defaultRetryAfter = 5 * time.Second
	// minCooldown keeps a 429 whose Retryafter is already past (clock skew) from a hot loop.
	minCooldown = time.Second
	// maxCooldown bounds a nonsensical Retryafter so a credential is not silenced for good.
	maxCooldown = time.Hour
	// lowRemainingShare: below limit/lowRemainingShare (5%) requests are spaced out.
	lowRemainingShare = 20
	// lowRemainingSpacing is the gap between requests while few remain in the window.
	lowRemainingSpacing = 250 * time.Millisecond
	// retryAfterMillisAbove: Retryafter is documented in seconds, but the swagger says
	// milliseconds; a value this large can only be milliseconds.
	retryAfterMillisAbove = 1_000_000_000_000
)

// rateGate holds one credential's rate-limit state. After a 429 no request leaves the process
// until the Retryafter time, whichever goroutine asks; callers fail fast instead of queueing.
type rateGate struct {
	now        func() time.Time // wall clock, comparable with the server's Retryafter
	credential string           // metrics label

	mu        sync.Mutex
	until     time.Time // end of the cooldown
	limit     int       // last X-Ratelimit-Limit; 0 = unknown
	remaining int       // last X-Ratelimit-Remaining
	nextSend  time.Time // earliest send while remaining is low (monotonic clock)
}

func newRateGate(now func() time.Time, credential string) *rateGate {
	return &rateGate{now: now, credential: credential}
}

// admit returns a *RateLimitError during a cooldown, and otherwise waits, honouring ctx, until
// the request may go: at once, or after a short gap when the window is nearly spent.
func (g *rateGate) admit(ctx context.Context, op string) error {
	for {
		wait, err := g.reserve(op)
		if err != nil || wait <= 0 {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// reserve returns how long to wait before asking again, 0 when the request may go now.
func (g *rateGate) reserve(op string) (time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.cooldownLocked(op); err != nil {
		return 0, err
	}
	if g.limit <= 0 || g.remaining*lowRemainingShare >= g.limit {
		return 0, nil
	}
	now := time.Now()
	if wait := g.nextSend.Sub(now); wait > 0 {
		return wait, nil
	}
	g.nextSend = now.Add(lowRemainingSpacing)
	return 0, nil
}

// check fails fast during a cooldown without reserving a send slot.
func (g *rateGate) check(op string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cooldownLocked(op)
}

func (g *rateGate) cooldownLocked(op string) error {
	if g.now().Before(g.until) {
		return &RateLimitError{Operation: op, RetryAt: g.until}
	}
	return nil
}

// retryAt is the end of the current (or last) cooldown.
func (g *rateGate) retryAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// observe reads the rate-limit headers of a reply.
func (g *rateGate) observe(status int, h http.Header) {
	limit, limitOK := headerInt(h, "X-Ratelimit-Limit")
	remaining, remainingOK := headerInt(h, "X-Ratelimit-Remaining")
	limited := status == http.StatusTooManyRequests
	g.mu.Lock()
	if limitOK {
		g.limit = int(limit)
	}
	if remainingOK {
		g.remaining = int(remaining)
	}
	if limited {
		if until := retryAfter(h, g.now()); until.After(g.until) {
			g.until = until
		}
	}
	g.mu.Unlock()
	if remainingOK {
		rateLimitRemaining.WithLabelValues(g.credential).Set(float64(remaining))
	}
	if limited {
		rateLimited.WithLabelValues(g.credential).Inc()
	}
}

// retryAfter reads X-Ratelimit-Retryafter (Unix seconds, or milliseconds when huge), kept
// between minCooldown and maxCooldown from now.
func retryAfter(h http.Header, now time.Time) time.Time {
	v, ok := headerInt(h, "X-Ratelimit-Retryafter")
	if !ok {
		return now.Add(defaultRetryAfter)
	}
	at := time.Unix(v, 0)
	if v > retryAfterMillisAbove {
		at = time.UnixMilli(v)
	}
	switch {
	case at.Before(now.Add(minCooldown)):
		return now.Add(minCooldown)
	case at.After(now.Add(maxCooldown)):
		return now.Add(maxCooldown)
	}
	return at
}

// headerInt reads an integer header (a fraction is dropped), matching the name case-insensitively.
func headerInt(h http.Header, name string) (int64, bool) {
	raw := strings.TrimSpace(headerValue(h, name))
	if raw == "" {
		return 0, false
	}
	if v, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e18 {
		return 0, false
	}
	return int64(f), true
}

// headerValue is h.Get that also finds keys stored without canonical case.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for key, values := range h {
		if strings.EqualFold(key, name) && len(values) > 0 {
			return values[0]
		}
	}
	return ""
}
