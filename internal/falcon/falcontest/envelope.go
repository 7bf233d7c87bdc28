package falcontest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Operation names, as counted by Calls and named in the API's tables.
const (
	opToken          = "oauth2-token"
	opRevoke         = "oauth2-revoke"
	opTokensQuery    = "tokens-query"
	opTokensRead     = "tokens-read"
	opTokensCreate   = "tokens-create"
	opTokensUpdate   = "tokens-update"
	opTokensDelete   = "tokens-delete"
	opAuditQuery     = "audit-events-query"
	opAuditRead      = "audit-events-read"
	opSettingsRead   = "customer-settings-read"
	opSettingsUpdate = "customer-settings-update"
	opCCID           = "ccid"
)

var routes = map[string]map[string]string{
	"/oauth2/token":                          {http.MethodPost: opToken},
	"/oauth2/revoke":                         {http.MethodPost: opRevoke},
	"/installation-tokens/queries/tokens/v1": {http.MethodGet: opTokensQuery},
	"/installation-tokens/entities/tokens/v1": {
		http.MethodGet: opTokensRead, http.MethodPost: opTokensCreate, http.MethodPatch: opTokensUpdate, http.MethodDelete: opTokensDelete,
	},
	"/installation-tokens/queries/audit-events/v1":  {http.MethodGet: opAuditQuery},
	"/installation-tokens/entities/audit-events/v1": {http.MethodGet: opAuditRead},
	"/installation-tokens/entities/customer-settings/v1": {
		http.MethodGet: opSettingsRead, http.MethodPatch: opSettingsUpdate,
	},
	"/sensors/queries/installers/ccid/v1": {http.MethodGet: opCCID},
}

// response is a reply before it is written.
type response struct {
	status  int
	body    any
	headers map[string]string
}

type errorEntry struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

type paging struct {
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	Total  int `json:"total"`
}

type meta struct {
	QueryTime  float64 `json:"query_time"`
	TraceID    string  `json:"trace_id"`
	PoweredBy  string  `json:"powered_by"`
	Pagination *paging `json:"pagination,omitempty"`
}

type envelopeBody struct {
	Meta      meta         `json:"meta"`
	Errors    []errorEntry `json:"errors"`
	Resources any          `json:"resources"`
}

func apiError(code int, message string) []errorEntry {
	return []errorEntry{{Code: code, Message: message}}
}

// envelope is the standard reply: meta, errors ([] on success) and resources ([] when none).
func envelope(status int, resources any, errs []errorEntry) *response {
	if errs == nil {
		errs = []errorEntry{}
	}
	if resources == nil {
		resources = []any{}
	}
	return &response{status: status, body: &envelopeBody{Errors: errs, Resources: resources}}
}

// reply writes res with the headers every Falcon reply carries.
func (s *Simulator) reply(w http.ResponseWriter, res *response, req *request) {
	trace := newTraceID()
	if body, ok := res.body.(*envelopeBody); ok {
		body.Meta.TraceID = trace
		body.Meta.PoweredBy = "falcon-simulator"
		body.Meta.QueryTime = 0.001
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Cs-Traceid", trace)
	limit, remaining := s.budget(req)
	h.Set("X-Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(remaining))
	for k, v := range res.headers {
		h.Set(k, v)
	}
	w.WriteHeader(res.status)
	_ = json.NewEncoder(w).Encode(res.body)
}

// dropConnection closes the connection without a reply, as a network failure would.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func newTraceID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// formatTime is the API's timestamp format.
func formatTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05Z")
	return &s
}
