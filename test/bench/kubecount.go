package main

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// kubeRequests counts the Kubernetes API requests of the in-process manager by verb and
// resource. It wraps the transport of the manager's rest.Config, which every client the manager
// builds shares (its cache's lists and watches, the client's reads and writes, the API reader,
// the event recorder, the credentials' metadata watches), so it sees each request that leaves
// the manager, after client-go's rate limiter and nothing of the benchmark's own. Requests in
// the namespace of the harness's sentinels (waitReconciling) are left out of the counts: they
// are the harness's probe, not the cost of the benchmark's resources.
type kubeRequests struct {
	mu       sync.Mutex
	counts   map[string]int // by "verb resource"
	inFlight int            // sent and not yet answered, long-running watches left out
	last     time.Time      // when the last request was sent
}

func newKubeRequests() *kubeRequests { return &kubeRequests{counts: map[string]int{}} }

// wrap is a rest.Config WrapTransport.
func (k *kubeRequests) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		op := kubeOp(r)
		watch := strings.HasPrefix(op, "watch ")
		k.mu.Lock()
		if !strings.Contains(r.URL.Path, "/namespaces/"+unrelatedNamespace+"/") {
			k.counts[op]++
		}
		k.last = time.Now()
		if !watch {
			k.inFlight++
		}
		k.mu.Unlock()
		resp, err := next.RoundTrip(r)
		if !watch {
			k.mu.Lock()
			k.inFlight--
			k.mu.Unlock()
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// take returns the counts since the last take and starts over.
func (k *kubeRequests) take() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.counts
	k.counts = map[string]int{}
	return out
}

// idle reports whether no request is in flight and none was sent for quiet.
func (k *kubeRequests) idle(quiet time.Duration) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.inFlight == 0 && time.Since(k.last) >= quiet
}

// kubeOp names a request as "verb resource[/subresource]", with the verbs of the API server's
// audit log (get, list, watch, create, update, patch, delete, deletecollection) and " (dry run)"
// for a dry run.
func kubeOp(r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// /api/v1/... or /apis/GROUP/VERSION/...; anything else (discovery) is named by its path.
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		segs = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		segs = segs[3:]
	default:
		return strings.ToLower(r.Method) + " " + r.URL.Path
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		segs = segs[2:] // namespaced: namespaces/NS/RESOURCE/...
	}
	resource, named := "", len(segs) >= 2
	if len(segs) > 0 {
		resource = segs[0]
	}
	if len(segs) >= 3 {
		resource += "/" + segs[2]
	}
	q := r.URL.Query()
	var verb string
	switch r.Method {
	case http.MethodGet:
		switch {
		case named:
			verb = "get"
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			verb = "watch"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(r.Method)
	}
	op := verb + " " + resource
	if q.Has("dryRun") {
		op += " (dry run)"
	}
	return op
}

// isWrite: a request that asks the API server to change something, dry runs included (they
// cost it an admission pass all the same).
func isWrite(op string) bool {
	verb, _, _ := strings.Cut(op, " ")
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// writes sums the write requests of counts.
func writes(counts map[string]int) int {
	n := 0
	for op, c := range counts {
		if isWrite(op) {
			n += c
		}
	}
	return n
}
