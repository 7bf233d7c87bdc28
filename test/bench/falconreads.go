package main

import (
	"net/http"
	"strings"
	"sync"
)

// tokensReadPath is the Falcon endpoint that reads tokens by ID (?ids=a&ids=b).
const tokensReadPath = "/installation-tokens/entities/tokens/v1"

// tokenReads records, in front of the simulator, which token IDs were read successfully, so that
// "every token was read from Falcon since the restart" can be checked whatever manager made the
// reads: the in-process one or the binary.
type tokenReads struct {
	next http.Handler

	mu   sync.Mutex
	read map[string]bool
}

func (t *tokenReads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != tokensReadPath {
		t.next.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	t.next.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return // refused (429, 5xx) or hung up: nothing was read
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range r.URL.Query()["ids"] { // repeated, or comma-separated as the API also takes
		for _, id := range strings.Split(v, ",") {
			t.read[id] = true
		}
	}
}

// reset forgets the reads so far.
func (t *tokenReads) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.read = map[string]bool{}
}

// all reports whether every one of ids was read since the last reset.
func (t *tokenReads) all(ids []string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if !t.read[id] {
			return false
		}
	}
	return true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
