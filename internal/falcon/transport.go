package falcon

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

type operationKey struct{}

// withOperation names the operation a request belongs to, for the rate gate, metrics and the
// redirect policy; redirected requests keep their original's context and so its name.
func withOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operationOf(ctx context.Context) string {
	if op, ok := ctx.Value(operationKey{}).(string); ok {
		return op
	}
	return "unknown"
}

// meteredTransport is the one path every request of a Client takes, the token request
// included: the rate gate before sending, metrics and rate-limit headers after.
type meteredTransport struct {
	base      http.RoundTripper
	gate      *rateGate
	userAgent string
}

func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op := operationOf(ctx)
	if err := t.gate.admit(ctx, op); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body even when it fails
		}
		return nil, err
	}
	req = req.Clone(ctx)
	req.Header.Set("User-Agent", t.userAgent)
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		// First of all, so that no other request leaves on a spent budget meanwhile.
		t.gate.observe(resp.StatusCode, resp.Header)
	}
	requestDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		requestsTotal.WithLabelValues(op, "error").Inc()
		return nil, err
	}
	requestsTotal.WithLabelValues(op, strconv.Itoa(resp.StatusCode)).Inc()
	if d := discoveryOf(ctx); d != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		d.record(req.URL, resp.Header)
	}
	return resp, nil
}
