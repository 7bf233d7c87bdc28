package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// RateLimitResult: a forced 429 window while resources change.
type RateLimitResult struct {
	Window       metav1.Duration `json:"window"`
	Answered429  int             `json:"answered429"`
	InFlight     int             `json:"inFlightWhenFirst429CameBack"`
	SentInWindow int             `json:"sentInsideWindowAfterFirst429"`
	Recovered    metav1.Duration `json:"allReadyAfterWindowEnd"`
}

// measureRateLimit forces a 429 window for the customer account while resources change, and
// counts the requests that reached Falcon inside it on a credential that already had its 429.
func (b *bench) measureRateLimit(ctx context.Context, res *Result) error {
	m := min(b.cfg.RateLimitedCRs, len(b.keys))
	if m == 0 {
		return nil
	}
	keys := b.keys[:m]
	b.logf("rate limit: forcing 429 for %s while %d resources change their label", b.cfg.RateLimitWindow, m)
	b.phaseCalls()
	b.exchanges.reset()
	until := time.Now().Add(b.cfg.RateLimitWindow)
	b.sim.ForceRateLimit(b.api.CID, until)
	generations := make([]int64, m)
	if err := parallel(ctx, 16, m, func(ctx context.Context, i int) error {
		fit := &falconv1alpha1.FalconInstallationToken{}
		if err := b.k8s.Get(ctx, keys[i], fit); err != nil {
			return err
		}
		patch := client.MergeFrom(fit.DeepCopy())
		fit.Spec.Label = "bench/relabelled/" + keys[i].String()
		if err := b.k8s.Patch(ctx, fit, patch); err != nil {
			return err
		}
		generations[i] = fit.Generation
		return nil
	}); err != nil {
		return err
	}
	minGeneration := map[types.NamespacedName]int64{}
	for i, k := range keys {
		minGeneration[k] = generations[i]
	}
	last, err := b.tracker.waitReady(ctx, keys, minGeneration, b.cfg.RateLimitWindow+2*time.Minute)
	if err != nil {
		return err
	}
	r, err := analyse429(b.exchanges.all(), until)
	if err != nil {
		return err
	}
	r.Window = metav1.Duration{Duration: b.cfg.RateLimitWindow}
	r.Recovered = metav1.Duration{Duration: last.Sub(until).Round(time.Millisecond)}
	res.RateLimit = r
	b.logf("429s answered: %d; already sent when the first came back: %d; sent inside the window after it: %d; all Ready %s after the window",
		r.Answered429, r.InFlight, r.SentInWindow, r.Recovered.Duration)
	return nil
}

// analyse429 classifies the exchanges of each credential (an API client, told apart by its
// access token) against the first 429 that credential got: the rate limit is the customer
// account's, but each client learns of it from its own first 429.
func analyse429(exchanges []exchange, until time.Time) (RateLimitResult, error) {
	var r RateLimitResult
	byClient := map[string][]exchange{}
	for _, x := range exchanges {
		byClient[x.client] = append(byClient[x.client], x)
	}
	any429 := false
	for _, xs := range byClient {
		first := slices.IndexFunc(xs, func(x exchange) bool { return x.status == http.StatusTooManyRequests })
		if first < 0 {
			continue
		}
		any429 = true
		known := xs[first].received // from here on this client has the 429 and its Retryafter
		for i, x := range xs {
			if x.status == http.StatusTooManyRequests {
				r.Answered429++
			}
			switch {
			case i == first || !x.sent.Before(until):
			case x.sent.After(known):
				r.SentInWindow++
			case x.status == http.StatusTooManyRequests:
				r.InFlight++ // left before the first 429 came back
			}
		}
	}
	if !any429 {
		return r, errors.New("rate limit: no request was answered 429; the window did not catch any request")
	}
	return r, nil
}

// exchangeLog records, on the client side, when each request to the simulator left and when
// its reply came back. A request that left after its client had a 429 reply ignored it; one
// that left before was already on its way, which no client can help.
type exchangeLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

type exchange struct {
	sent, received time.Time
	status         int
	client         string // the Authorization header: one access token per API client
}

func (l *exchangeLog) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := l.next.RoundTrip(r)
	x := exchange{sent: sent, received: time.Now(), client: r.Header.Get("Authorization")}
	if err == nil {
		x.status = resp.StatusCode
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, x)
	return resp, err
}

func (l *exchangeLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = nil
}

// all returns the exchanges in the order their replies came back.
func (l *exchangeLog) all() []exchange {
	l.mu.Lock()
	out := slices.Clone(l.log)
	l.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].received.Before(out[j].received) })
	return out
}
