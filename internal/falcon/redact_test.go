package falcon

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		secrets    []string
		want       string
	}{
		{"no secret", "falcon tokens-read: 500 boom", nil, "falcon tokens-read: 500 boom"},
		{"every occurrence", "Bearer s3cr3t and again s3cr3t", []string{"s3cr3t"}, "Bearer [redacted] and again [redacted]"},
		{"empty secrets are ignored", "nothing here", []string{"", ""}, "nothing here"},
		{"several secrets", "id=abc&client_secret=s3cr3t token=t0k3n", []string{"s3cr3t", "t0k3n"}, "id=abc&client_secret=[redacted] token=[redacted]"},
		{"overlapping secrets leave no part", "x-abcdefghi-y", []string{"abcdef", "defghi"}, "x-[redacted]-y"},
		{"query-escaped, as in an echoed form", "client_secret=a%2Bb%2Fc%3D", []string{"a+b/c="}, "client_secret=[redacted]"},
		{"JSON-escaped, as in an echoed JSON body", `{"message":"p\"q\\r"}`, []string{`p"q\r`}, `{"message":"[redacted]"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.text, tc.secrets...); got != tc.want {
				t.Fatalf("Redact(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// echoUpstream stands for a proxy or upstream that quotes the request it got: its
// Authorization header, or for the token request its form body (with the client secret).
type echoUpstream func(w http.ResponseWriter, quoted string)

func echoJSON(status int) echoUpstream {
	return func(w http.ResponseWriter, quoted string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"meta":{},"errors":[{"code":%d,"message":%q,"id":%q}]}`, status, "you sent "+quoted, quoted)
	}
}

func echoTraceHeader(status int) echoUpstream {
	return func(w http.ResponseWriter, quoted string) {
		w.Header().Set("X-Cs-Traceid", quoted)
		w.WriteHeader(status)
	}
}

func echoText(status int) echoUpstream {
	return func(w http.ResponseWriter, quoted string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, quoted)
	}
}

// echoBrokenReply writes the quote where the status line belongs and drops the connection:
// net/http's error then quotes it ("malformed HTTP response ...").
func echoBrokenReply(w http.ResponseWriter, quoted string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_, _ = buf.WriteString(quoted + "\r\n\r\n")
	_ = buf.Flush()
	_ = conn.Close()
}

func TestNoEchoedSecretInErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tokenCall  bool // echo at the token request, else at the API call
		echo       echoUpstream
		classified func(error) bool
		quoted     bool // the error keeps the echo, scrubbed
	}{
		{"token request, 400 quoting the form in a message", true, echoJSON(http.StatusBadRequest), IsInvalidCredentials, true},
		{"token request, 500 quoting the form in the trace header", true, echoTraceHeader(http.StatusInternalServerError), IsServerError, true},
		{"token request, 500 with the form as text", true, echoText(http.StatusInternalServerError), IsServerError, false},
		{"token request, broken reply quoting the form", true, echoBrokenReply, IsServerError, true},
		{"API call, 400 quoting the bearer in a message", false, echoJSON(http.StatusBadRequest), func(err error) bool { return !IsServerError(err) }, true},
		{"API call, 500 quoting the bearer in a message", false, echoJSON(http.StatusInternalServerError), IsServerError, true},
		{"API call, 400 quoting the bearer in the trace header", false, echoTraceHeader(http.StatusBadRequest), func(err error) bool { return !IsServerError(err) }, true},
		{"API call, 500 with the bearer as text", false, echoText(http.StatusInternalServerError), IsServerError, false},
		{"API call, broken reply quoting the bearer", false, echoBrokenReply, IsServerError, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, falcontest.Options{})
			c, _ := h.client(falcontest.APIClient{})
			h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
				isToken := strings.HasSuffix(r.URL.Path, "/oauth2/token")
				if isToken != tc.tokenCall {
					return false
				}
				quoted := r.Header.Get("Authorization")
				if isToken {
					form, _ := io.ReadAll(r.Body)
					quoted = string(form)
				}
				tc.echo(w, quoted)
				return true
			})
			_, err := c.CountValidTokens(ctxFor(t))
			if err == nil || !tc.classified(err) {
				t.Fatalf("got %v: not the error class the reply calls for", err)
			}
			assertNoneOf(t, err, h.sim.Secrets())
			if tc.quoted != strings.Contains(err.Error(), redactedText) {
				t.Fatalf("error %q: want the echo quoted and scrubbed: %t", err, tc.quoted)
			}
		})
	}
}

// TestNoRetiredAccessTokenInErrors: a reply may quote the access token the client has just
// replaced after a 401.
func TestNoRetiredAccessTokenInErrors(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{})
	var (
		mu      sync.Mutex
		refused string // the Authorization header answered 401
	)
	h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if refused == "" {
			refused = r.Header.Get("Authorization")
			echoJSON(http.StatusUnauthorized)(w, "")
			return true
		}
		echoJSON(http.StatusInternalServerError)(w, refused+" and "+r.Header.Get("Authorization"))
		return true
	})
	_, err := c.CountValidTokens(ctxFor(t))
	if !IsServerError(err) || h.sim.Calls(opOAuth2Token) != 2 {
		t.Fatalf("got %v after %d token requests, want a 500 after a refresh", err, h.sim.Calls(opOAuth2Token))
	}
	assertNoneOf(t, err, h.sim.Secrets())
}

func assertNoneOf(t *testing.T, err error, secrets []string) {
	t.Helper()
	if len(secrets) == 0 {
		t.Fatal("the simulator issued no secrets: the search would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q quotes the secret %q", err, s)
		}
	}
}
