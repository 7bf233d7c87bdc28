package falcon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// harness runs the simulator behind a real HTTP listener, every public cloud name pointing at
// its path prefix, and records what reaches it.
type harness struct {
	t         *testing.T
	sim       *falcontest.Simulator
	srv       *httptest.Server
	endpoints Endpoints

	mu        sync.Mutex
	seen      []seenRequest
	intercept func(w http.ResponseWriter, r *http.Request) bool // true: answered, the simulator never sees it
}

type seenRequest struct {
	Method, Path, Query, Body string
}

func newHarness(t *testing.T, opts falcontest.Options) *harness {
	t.Helper()
	h := &harness{t: t, sim: falcontest.New(opts)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	extra := map[string]string{}
	for name := range PublicClouds() {
		extra[name] = h.srv.URL + "/" + name
	}
	endpoints, err := NewEndpoints(extra, true)
	if err != nil {
		t.Fatal(err)
	}
	h.endpoints = endpoints
	return h
}

func (h *harness) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.mu.Lock()
	h.seen = append(h.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)})
	intercept := h.intercept
	h.mu.Unlock()
	if intercept != nil && intercept(w, r) {
		return
	}
	h.sim.ServeHTTP(w, r)
}

// setIntercept answers matching requests in place of the simulator.
func (h *harness) setIntercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.intercept = f
}

// requests returns what reached the listener, in order.
func (h *harness) requests() []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seenRequest(nil), h.seen...)
}

// lastBody is the body of the last request whose path ends with suffix.
func (h *harness) lastBody(method, pathSuffix string) string {
	h.t.Helper()
	reqs := h.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && strings.HasSuffix(reqs[i].Path, pathSuffix) {
			return reqs[i].Body
		}
	}
	h.t.Fatalf("no %s request to *%s reached the simulator", method, pathSuffix)
	return ""
}

// config is a Config for api on the harness endpoints; cloud "" names the client's own cloud.
func (h *harness) config(api falcontest.APIClient, cloud string) Config {
	if cloud == "" {
		cloud = api.Cloud
		if cloud == "" {
			cloud = "us-1"
		}
	}
	return Config{
		Credentials:  Credentials{ClientID: api.ClientID, ClientSecret: api.ClientSecret},
		Cloud:        cloud,
		Endpoints:    h.endpoints,
		MetricsLabel: "test/" + h.t.Name(),
	}
}

// client registers api with the simulator and returns a Client for it, with cfg adjusted by tweak.
func (h *harness) client(api falcontest.APIClient, tweak ...func(*Config)) (*Client, falcontest.APIClient) {
	h.t.Helper()
	api = h.sim.AddClient(api)
	cfg := h.config(api, "")
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return c, api
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newFakeClock is a wall clock that moves only when told (Step), shared by simulator and client.
func newFakeClock() *clocktesting.FakeClock {
	return clocktesting.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

func mustAPIError(t *testing.T, err error) *APIError {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want *APIError, got %T: %v", err, err)
	}
	return apiErr
}

func ptr[T any](v T) *T { return &v }
