// Package falcontest is a Falcon API simulator: an http.Handler that follows the public Falcon
// API for OAuth2, installation tokens, customer settings, audit events and the CCID, with the
// real envelope, headers, status codes, scopes, per-CID rate limits and several clouds on one
// listener (under /<cloud>/). Tests, the demo and the benchmark use it instead of Falcon, and
// switch faults on at run time: latency, 5xx, forced 429 windows, hung and dropped replies,
// creates whose reply is lost, and refusals that quote the request's credentials.
//
// The simulator is at least as strict as the API: it answers 400 to request bodies with fields
// the swagger does not list, to a body that is not Content-Type application/json, to a PATCH
// that sets no field, to token IDs that are not 32 lower-case hex, to timestamps other than
// the API's own YYYY-MM-DDTHH:MM:SSZ, to filters on fields the records do not have, and to
// labels longer than Options.MaxLabelLength. The API documents no label limit: the simulator
// takes 255 characters, a common column size, so that a client does not come to depend on
// longer labels.
package falcontest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Simulator. Zero values take the defaults in the comments.
type Options struct {
	RateLimit      int              // requests per RateWindow per CID; default 6000
	RateWindow     time.Duration    // sliding window; default time.Minute
	AccessTokenTTL time.Duration    // OAuth2 access token lifetime; default 1799s
	Now            func() time.Time // default time.Now
	// TokenCap409 makes create answer 409 when max_active_tokens valid tokens exist; default
	// true (set DisableTokenCap to turn it off).
	DisableTokenCap bool
	// ExpiredStatus makes a token past its expiry read "expired" instead of "valid" (the API's
	// behaviour is unconfirmed).
	ExpiredStatus bool
	// BadBearerPerIP limits requests with a missing or bad bearer token per source IP per
	// minute; default 15.
	BadBearerPerIP int
	// TokenRequestsPerIP limits /oauth2/token requests per source IP per minute; default 300.
	TokenRequestsPerIP int
	// MaxLabelLength is the longest token label accepted, in characters; default 255 (the API
	// documents no limit).
	MaxLabelLength int
}

// Clouds the simulator serves, each under /<cloud>/; "/" serves us-1.
var clouds = []string{"us-1", "us-2", "us-3", "eu-1", "us-gov-1", "us-gov-2"}

const defaultCloud = "us-1"

// Simulator is an in-memory Falcon API. It is safe for concurrent use.
type Simulator struct {
	opts Options

	mu           sync.Mutex
	clients      map[string]*APIClient   // by client ID
	accessTokens map[string]*accessToken // by access token
	accounts     map[string]*account     // by CID
	rateWindows  map[string]*window      // per CID, per-IP keys prefixed
	forced       map[string]time.Time    // CID -> forced 429 until
	calls        map[string]int          // by op
	clientCalls  map[[2]string]int       // by client ID and op
	callLog      []Call
	faults       Faults
	next         map[string]*oneShots // per op
	secrets      map[string]struct{}
	rng          *rand.Rand
}

// New returns an empty simulator; add API clients with AddClient.
func New(opts Options) *Simulator {
	if opts.RateLimit == 0 {
		opts.RateLimit = 6000
	}
	if opts.RateWindow == 0 {
		opts.RateWindow = time.Minute
	}
	if opts.AccessTokenTTL == 0 {
		opts.AccessTokenTTL = 1799 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BadBearerPerIP == 0 {
		opts.BadBearerPerIP = 15
	}
	if opts.TokenRequestsPerIP == 0 {
		opts.TokenRequestsPerIP = 300
	}
	if opts.MaxLabelLength == 0 {
		opts.MaxLabelLength = defaultMaxLabelLength
	}
	return &Simulator{
		opts:         opts,
		clients:      map[string]*APIClient{},
		accessTokens: map[string]*accessToken{},
		accounts:     map[string]*account{},
		rateWindows:  map[string]*window{},
		forced:       map[string]time.Time{},
		calls:        map[string]int{},
		clientCalls:  map[[2]string]int{},
		next:         map[string]*oneShots{},
		secrets:      map[string]struct{}{},
		rng:          rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
}

// ServeHTTP answers one Falcon API request.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cloud, path := splitCloud(r.URL.Path)
	route, ok := routes[path]
	if !ok {
		s.reply(w, envelope(http.StatusNotFound, nil, apiError(http.StatusNotFound, "Not Found")), nil)
		return
	}
	op, ok := route[r.Method]
	if !ok {
		s.reply(w, envelope(http.StatusMethodNotAllowed, nil, apiError(http.StatusMethodNotAllowed, "Method Not Allowed")), nil)
		return
	}
	req := &request{w: w, r: r, op: op, cloud: cloud, now: s.opts.Now()}
	s.serve(req)
}

// request is one call as it moves through the simulator.
type request struct {
	w        http.ResponseWriter
	r        *http.Request
	op       string
	cloud    string
	now      time.Time
	clientID string
	cid      string     // the account the call acts on
	limitKey string     // the rate window the call counts against
	client   *APIClient // nil for unauthenticated calls
}

func (s *Simulator) serve(req *request) {
	fault := s.takeFault(req.op)
	if fault.latency > 0 {
		select {
		case <-time.After(fault.latency):
		case <-req.r.Context().Done():
			return
		}
	}
	var res *response
	if req.op == opToken {
		res = s.issueToken(req)
	} else {
		res = s.authorize(req)
		if res == nil {
			res = s.admit(req)
		}
		if res == nil && fault.serverError != 0 {
			res = envelope(fault.serverError, nil, apiError(fault.serverError, http.StatusText(fault.serverError)))
		}
	}
	if res == nil && fault.echo {
		body, _ := io.ReadAll(io.LimitReader(req.r.Body, 64<<10))
		res = badRequest(fmt.Sprintf("refused: %s %s", req.r.Header.Get("Authorization"), body))
	}
	s.count(req)
	switch {
	case fault.drop:
		s.recordStatus(req, 0)
		dropConnection(req.w)
		return
	case fault.hang:
		s.recordStatus(req, 0)
		// The server notices a client that gave up only once the request body is read.
		_, _ = io.Copy(io.Discard, req.r.Body)
		<-req.r.Context().Done()
		return
	}
	if res == nil {
		res = s.handle(req)
	}
	s.recordStatus(req, res.status)
	switch {
	case fault.failAfterWrite:
		dropConnection(req.w)
		return
	case fault.hold != nil:
		close(fault.hold.held)
		select {
		case <-fault.hold.release:
		case <-req.r.Context().Done():
			<-fault.hold.release
		}
	}
	s.reply(req.w, res, req)
}

// splitCloud takes the cloud prefix off a path: /eu-1/oauth2/token is eu-1's /oauth2/token.
func splitCloud(path string) (cloud, rest string) {
	for _, c := range clouds {
		if prefix := "/" + c; path == prefix || strings.HasPrefix(path, prefix+"/") {
			return c, strings.TrimPrefix(path, prefix)
		}
	}
	return defaultCloud, path
}
