package falcon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

const (
	defaultUserAgent = "falcon-token-operator"
	// maxReplyBytes bounds what is read of a reply; the largest (1000 query IDs) is ~40 KB.
	maxReplyBytes = 8 << 20
	// defaultRequestTimeout bounds one HTTP exchange, so a hung reply never holds a caller for long.
	defaultRequestTimeout = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	Credentials Credentials
	// Cloud is a name in Endpoints or "autodiscover" (also the default).
	Cloud string
	// Endpoints defaults to PublicClouds.
	Endpoints Endpoints
	// Transport sends the requests; nil is a shared transport that honours the proxy
	// environment variables. The Client keeps its own redirect policy.
	Transport http.RoundTripper
	// RequestTimeout bounds one HTTP exchange, redirects included; 0 means 30s.
	RequestTimeout time.Duration
	// MetricsLabel identifies the credential in metrics: the Secret's namespace/name, never the
	// client ID.
	MetricsLabel string
	// Now is the wall clock for the rate gate and token expiry; defaults to time.Now.
	Now       func() time.Time
	UserAgent string
}

// sharedTransport is http.DefaultTransport (proxy settings from the environment included) with
// enough idle connections per host for the concurrent reconciles of a credential: the default
// keeps two, and each new connection to Falcon costs a TLS handshake.
var sharedTransport = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}()

// Client calls the Falcon API with one credential: one access token, reused until shortly
// before it expires, and one rate-limit state, shared by every goroutine that uses the Client.
type Client struct {
	credentials  Credentials
	endpoints    Endpoints
	autodiscover bool
	metricsLabel string
	now          func() time.Time
	http         *http.Client
	gate         *rateGate

	tokenFetch ctxMutex // held while an access token is fetched: concurrent callers share one fetch
	ccidFetch  ctxMutex // held while the CCID is fetched

	mu          sync.Mutex
	cloud       string // "" until an autodiscovering client has its first token
	baseURL     string
	accessToken string
	// retiredAccessToken is the one before accessToken: a reply to a request sent with it may
	// still arrive, and must not quote it in an error either.
	retiredAccessToken string
	refreshAt          time.Time
	ccid               string
}

// New returns a Client. It sends nothing until the first call.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials.ClientID == "" || cfg.Credentials.ClientSecret == "" {
		return nil, errors.New("falcon: credentials need a client ID and a client secret")
	}
	endpoints := cfg.Endpoints
	if endpoints == nil {
		endpoints = PublicClouds()
	}
	cloud := cfg.Cloud
	if cloud == "" {
		cloud = CloudAutodiscover
	}
	baseURL, err := endpoints.Resolve(cloud)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	userAgent := cfg.UserAgent
	if userAgent == "" {
		userAgent = defaultUserAgent
	}
	base := cfg.Transport
	if base == nil {
		base = sharedTransport
	}
	timeout := cfg.RequestTimeout
	if timeout == 0 {
		timeout = defaultRequestTimeout
	}
	c := &Client{
		credentials:  cfg.Credentials,
		endpoints:    endpoints,
		autodiscover: cloud == CloudAutodiscover,
		metricsLabel: cfg.MetricsLabel,
		now:          now,
		gate:         newRateGate(now, cfg.MetricsLabel),
		tokenFetch:   newCtxMutex(),
		ccidFetch:    newCtxMutex(),
		baseURL:      baseURL,
	}
	if !c.autodiscover {
		c.cloud = cloud
	}
	c.http = &http.Client{
		Transport:     &meteredTransport{base: base, gate: c.gate, userAgent: userAgent},
		CheckRedirect: c.checkRedirect,
		Timeout:       timeout,
	}
	return c, nil
}

// Cloud is the cloud the Client talks to: the named one, or for autodiscover the discovered
// one ("" before the first call).
func (c *Client) Cloud() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cloud
}

// Identity is the API client's ID and member CID: what tells customer accounts apart when the
// client may not read its CCID. The client ID is not a secret, but it is only ever published
// as a digest.
func (c *Client) Identity() (clientID, memberCID string) {
	return c.credentials.ClientID, c.credentials.MemberCID
}

// String names the cloud and the credential's metrics label; nothing secret.
func (c *Client) String() string {
	return fmt.Sprintf("falcon.Client{cloud: %q, credential: %q}", c.Cloud(), c.metricsLabel)
}

// Format makes every fmt verb print String, so a logged *Client shows no secret.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// request is one API call.
type request struct {
	op     string
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded when not nil
	// missingOK: a 404 still returns the resources present (reads of IDs, some of them gone).
	missingOK bool
}

// do sends rq with the current access token and decodes the resources into out. A 401 drops
// the token and the call is tried once more with a fresh one. Every error it returns is
// scrubbed of the secrets the Client knows.
func (c *Client) do(ctx context.Context, rq request, out any) (meta replyMeta, err error) {
	var token string
	defer func() { err = c.scrub(err, token) }()
	for attempt := 1; ; attempt++ {
		if token, err = c.token(ctx); err != nil {
			return replyMeta{}, err
		}
		resp, body, err := c.send(ctx, rq, token)
		if err != nil {
			return replyMeta{}, requestFailure(rq.op, err)
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && attempt == 1:
			c.dropToken(token)
			continue
		case resp.StatusCode == http.StatusTooManyRequests:
			return replyMeta{}, &RateLimitError{Operation: rq.op, RetryAt: c.gate.retryAt()}
		}
		return decodeReply(rq.op, resp.StatusCode, resp.Header, body, out, rq.missingOK)
	}
}

// first returns the reply's first resource; found is false when the reply holds none.
func first[T any](ctx context.Context, c *Client, rq request) (resource T, found bool, err error) {
	var resources []T
	if _, err := c.do(ctx, rq, &resources); err != nil || len(resources) == 0 {
		return resource, false, err
	}
	return resources[0], true, nil
}

// send performs one HTTP exchange and reads the reply.
func (c *Client) send(ctx context.Context, rq request, token string) (*http.Response, []byte, error) {
	var body io.Reader
	if rq.body != nil {
		encoded, err := json.Marshal(rq.body)
		if err != nil {
			return nil, nil, err
		}
		body = bytes.NewReader(encoded)
	}
	c.mu.Lock()
	target := c.baseURL + rq.path
	c.mu.Unlock()
	if len(rq.query) > 0 {
		target += "?" + rq.query.Encode()
	}
	req, err := http.NewRequestWithContext(withOperation(ctx, rq.op), rq.method, target, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return nil, nil, err
	}
	return resp, data, nil
}

// requestFailure classifies an error that left no usable reply. Its text may quote what a
// proxy echoed (a secret among it): callers scrub it.
func requestFailure(op string, err error) error {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl
	}
	if refused, ok := asAPIError(err); ok {
		return refused
	}
	return &transportError{op: op, err: err}
}

// ctxMutex is a mutex whose Lock gives up when the context ends.
type ctxMutex chan struct{}

func newCtxMutex() ctxMutex { return make(ctxMutex, 1) }

func (m ctxMutex) lock(ctx context.Context, op string) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &transportError{op: op, err: ctx.Err()}
	}
}

func (m ctxMutex) unlock() { <-m }
