package falcon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// secretLooking matches what real secrets look like (hex and base64 runs holding letters and
// digits), which fixed words of the client's messages never are.
var secretLooking = regexp.MustCompile(`^[A-Za-z0-9_\-.]{8,}$`)

// secretsForTest lists the values of secret-bearing keys in body by decoding it generically;
// it is written apart from the client's own scan so one checks the other.
func secretsForTest(body []byte) []string {
	var found []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if s, ok := child.(string); ok && isSecretKeyForTest(k) && secretLooking.MatchString(s) && strings.ContainsAny(s, "0123456789") && strings.IndexFunc(s, isLetter) >= 0 {
					found = append(found, s)
				}
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		walk(v)
	}
	return found
}

func isSecretKeyForTest(k string) bool {
	switch strings.ToLower(k) {
	case "access_token", "refresh_token", "id_token", "client_secret", "value", "token":
		return true
	}
	return false
}

func isLetter(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q contains the secret %q", err, s)
		}
	}
}

const fuzzToken = `{"id":"0123456789abcdef0123456789abcdef","value":"a1b2c3d4","label":"x","status":"valid","type":"customer_managed","created_timestamp":"2026-01-01T00:00:00Z","expires_timestamp":null,"last_used_timestamp":null,"revoked_timestamp":null}`

func FuzzDecodeReply(f *testing.F) {
	f.Add(200, []byte(`{"meta":{"query_time":0.1,"trace_id":"t"},"errors":[],"resources":[`+fuzzToken+`]}`))
	f.Add(200, []byte(`{"resources":[{"id":"a","created_timestamp":"2026-01-01T00:00:00.5+01:00","expires_timestamp":"0001-01-01T00:00:00Z","status":"expired"}]}`))
	f.Add(404, []byte(`{"meta":{"trace_id":"t"},"errors":[{"code":404,"message":"not found"}],"resources":[`+fuzzToken+`]}`))
	f.Add(403, []byte(`{"meta":{"trace_id":"a1b2c3d4"},"errors":[{"code":"403","message":"access denied, scope not permitted a1b2c3d4","id":"a1b2c3d4"}],"resources":[`+fuzzToken+`]}`))
	f.Add(500, []byte(`<html>a1b2c3d4</html>`))
	f.Add(200, []byte(``))
	f.Add(200, []byte(`{"resources":[{"value":"a1b2c3d4","value":"x","created_timestamp":7}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var out []tokenJSON
		_, err := decodeReply(opTokensRead, status, http.Header{"X-Cs-Traceid": {"trace"}}, body, &out, true)
		assertNoSecret(t, err, secretsForTest(body)...)
		for _, w := range out {
			_ = w.token()
		}
	})
}

// fuzzTransport answers every request with one fixed reply, in process.
type fuzzTransport struct {
	status int
	body   []byte
}

func (ft fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: ft.status, Status: http.StatusText(ft.status), Request: r,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Cs-Region": {"us-1"}},
		Body:   io.NopCloser(bytes.NewReader(ft.body)),
	}, nil
}

func FuzzTokenReply(f *testing.F) {
	f.Add(201, []byte(`{"access_token":"eyJhbGciOiJSUzI1NiJ9.abc123","token_type":"bearer","expires_in":1799}`))
	f.Add(201, []byte(`{"access_token":"eyJhbGciOiJSUzI1NiJ9.abc123","expires_in":"1799"}`))
	f.Add(201, []byte(`{"access_token":"eyJhbGciOiJSUzI1NiJ9.abc123","expires_in":{}}`))
	f.Add(200, []byte(`{"error":"eyJhbGciOiJSUzI1NiJ9.abc123","access_token":"eyJhbGciOiJSUzI1NiJ9.abc123"}`))
	f.Add(403, []byte(`{"meta":{"trace_id":"x"},"errors":[{"code":403,"message":"Failed to issue access token - Not Authorized"}]}`))
	f.Add(400, []byte(`access_token=eyJhbGciOiJSUzI1NiJ9.abc123`))
	f.Add(429, []byte(`{}`))
	f.Add(201, []byte(`{"access_token":""}`))
	const clientSecret = "clientSecret0123456789abcdef"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return // not an HTTP status net/http could deliver
		}
		c, err := New(Config{
			Credentials: Credentials{ClientID: "fuzz", ClientSecret: clientSecret},
			Cloud:       "us-1",
			Transport:   fuzzTransport{status: status, body: body},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.token(context.Background())
		assertNoSecret(t, err, append(secretsForTest(body), clientSecret)...)
	})
}

// unquoteFQL reads one FQL string literal at the start of s and returns its value and the
// rest of s after the closing quote.
func unquoteFQL(s string) (value, rest string, ok bool) {
	if !strings.HasPrefix(s, "'") {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", false
}

func FuzzQuoteFQL(f *testing.F) {
	for _, seed := range []string{"", "plain", "it's", `back\slash`, `\'`, `'+status:'valid`, `x\`, "ünï\x00\xff", "*wild*"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		quoted := QuoteFQL(value)
		got, rest, ok := unquoteFQL(quoted)
		if !ok || got != value || rest != "" {
			t.Fatalf("QuoteFQL(%q) = %q reads back as %q, rest %q, ok %t", value, quoted, got, rest, ok)
		}
		// Inside a longer filter the literal still ends where QuoteFQL put its closing quote.
		filter := "label:" + quoted + "+status:'valid'"
		got, rest, ok = unquoteFQL(strings.TrimPrefix(filter, "label:"))
		if !ok || got != value || rest != "+status:'valid'" {
			t.Fatalf("filter %q broke out of the literal: value %q, rest %q", filter, got, rest)
		}
	})
}
