package e2e_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/gomega"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// simServer serves the simulator on a loopback TCP port. Each manager process reaches it under
// its own path prefix (/m<N>), which is taken off before the simulator sees the request, so
// that every request is attributed to the process that sent it.
type simServer struct {
	url      string // http://127.0.0.1:PORT
	server   *http.Server
	listener net.Listener

	mu    sync.Mutex
	calls map[string][]proxiedCall // by process prefix
}

// proxiedCall is one request as a manager process sent it.
type proxiedCall struct {
	at     time.Time
	op     string // the simulator's operation names, which are also the metrics' operation label
	method string
	status int // 0 when no reply reached the manager (dropped, hung)
}

func startSimServer(sim *falcontest.Simulator) *simServer {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	s := &simServer{url: "http://" + listener.Addr().String(), listener: listener, calls: map[string][]proxiedCall{}}
	s.server = &http.Server{Handler: s.handler(sim), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = s.server.Serve(listener) }()
	return s
}

// close stops serving at once: replies the simulator still holds go nowhere.
func (s *simServer) close() { _ = s.server.Close() }

// endpoint is the base URL a manager process with prefix uses for the cloud "sim".
func (s *simServer) endpoint(prefix string) string { return s.url + "/" + prefix }

func (s *simServer) handler(sim *falcontest.Simulator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if !ok || !strings.HasPrefix(prefix, "m") {
			http.NotFound(w, r)
			return
		}
		r.URL.Path, r.URL.RawPath = "/"+rest, ""
		rec := &statusRecorder{ResponseWriter: w}
		at := time.Now()
		sim.ServeHTTP(rec, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls[prefix] = append(s.calls[prefix], proxiedCall{at: at, op: operation(r.Method, r.URL.Path), method: r.Method, status: rec.sent()})
	})
}

// callsOf returns the requests the process with prefix sent so far.
func (s *simServer) callsOf(prefix string) []proxiedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]proxiedCall(nil), s.calls[prefix]...)
}

// operations names the simulator's routes as the simulator and the manager's metrics do.
var operations = map[string]string{
	"POST /oauth2/token":                                       "oauth2-token",
	"POST /oauth2/revoke":                                      "oauth2-revoke",
	"GET /installation-tokens/queries/tokens/v1":               "tokens-query",
	"GET /installation-tokens/entities/tokens/v1":              "tokens-read",
	"POST /installation-tokens/entities/tokens/v1":             "tokens-create",
	"PATCH /installation-tokens/entities/tokens/v1":            "tokens-update",
	"DELETE /installation-tokens/entities/tokens/v1":           "tokens-delete",
	"GET /installation-tokens/queries/audit-events/v1":         "audit-events-query",
	"GET /installation-tokens/entities/audit-events/v1":        "audit-events-read",
	"GET /installation-tokens/entities/customer-settings/v1":   "customer-settings-read",
	"PATCH /installation-tokens/entities/customer-settings/v1": "customer-settings-update",
	"GET /sensors/queries/installers/ccid/v1":                  "ccid",
}

func operation(method, path string) string {
	if op, ok := operations[method+" "+path]; ok {
		return op
	}
	return "unknown"
}

// statusRecorder notes the status the simulator answered, or that it dropped the connection.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be hijacked")
	}
	r.hijacked = true
	return hj.Hijack()
}

// sent is the status the manager received; 0 when the connection was dropped or nothing was
// written (a hung reply the client gave up on).
func (r *statusRecorder) sent() int {
	if r.hijacked {
		return 0
	}
	return r.status
}

// callsOf are the requests the simulator received from clientID, from since on.
func callsOf(clientID string, since time.Time) []falcontest.Call {
	var out []falcontest.Call
	for _, c := range sim.CallLog() {
		if c.ClientID == clientID && !c.At.Before(since) {
			out = append(out, c)
		}
	}
	return out
}

func countCalls(calls []falcontest.Call, match func(falcontest.Call) bool) int {
	n := 0
	for _, c := range calls {
		if match(c) {
			n++
		}
	}
	return n
}
