package falcon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// TestNoSecretInErrorsLogsOrMetrics drives every failure the client knows and searches
// everything a caller could print or export for the secrets the simulator issued.
func TestNoSecretInErrorsLogsOrMetrics(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, falcontest.Options{Now: clock.Now})
	var text bytes.Buffer
	textLog := slog.New(slog.NewTextHandler(&text, nil))
	jsonLog := slog.New(slog.NewJSONHandler(&text, nil))
	record := func(msg string, args ...any) {
		textLog.Error(msg, args...)
		jsonLog.Error(msg, args...)
		for _, a := range args {
			fmt.Fprintf(&text, "%v %+v %#v %s\n", a, a, a, a)
			if encoded, err := json.Marshal(a); err == nil {
				text.Write(encoded)
			}
		}
	}
	ctx := ctxFor(t)
	useClock := func(cfg *Config) { cfg.Now = clock.Now }
	good, api := h.client(falcontest.APIClient{}, useClock)
	call := func(c *Client, what string, f func(*Client) error) {
		err := f(c)
		record(what, "err", err, "client", c)
	}
	query := func(c *Client) error { _, err := c.CountValidTokens(ctx); return err }
	create := func(c *Client) error {
		tok, err := c.CreateToken(ctx, "leak-test", nil)
		record("created", "token", tok)
		return err
	}

	// Successes whose results carry token values.
	call(good, "create", create)
	tokens, err := good.GetTokens(ctx, []string{h.sim.Tokens(api.CID)[0].ID})
	record("read", "tokens", tokens, "err", err)
	record("config", "config", h.config(api, ""), "credentials", h.config(api, "").Credentials)

	// Refused credentials, at once and after a rotation.
	wrong, _ := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Credentials.ClientSecret += "x" })
	call(wrong, "wrong secret", query)
	rotated, rotatedAPI := h.client(falcontest.APIClient{}, useClock)
	call(rotated, "before rotation", query)
	h.sim.RotateSecret(rotatedAPI.ClientID)
	call(rotated, "after rotation", query)

	// Refusals by the API.
	scopeless, _ := h.client(falcontest.APIClient{Scopes: []string{}}, useClock)
	call(scopeless, "no scope", create)
	call(good, "not found", func(c *Client) error { return c.DeleteTokens(ctx, []string{strings.Repeat("e", 32)}) })
	h.sim.ConsoleSetSettings(api.CID, falcontest.Settings{MaxActiveTokens: 1})
	call(good, "conflict", create)
	call(good, "bad request", func(c *Client) error { _, err := c.GetTokens(ctx, []string{"not-a-token-id"}); return err })

	// Broken transport.
	h.sim.SetFaults(falcontest.Faults{ServerErrorRate: 1, Ops: []string{opTokensQuery}})
	call(good, "5xx", query)
	h.sim.SetFaults(falcontest.Faults{})
	h.sim.DropNext(opTokensCreate, 1)
	call(good, "dropped", create)
	h.sim.FailAfterWrite(opTokensUpdate, 1)
	call(good, "lost reply", func(c *Client) error {
		_, err := c.UpdateTokens(ctx, []string{tokens[0].ID}, TokenUpdate{Revoked: ptr(true)})
		return err
	})
	h.sim.HangNext(opTokensQuery, 1)
	call(good, "hung", func(c *Client) error {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := c.CountValidTokens(short)
		return err
	})

	// Clouds.
	gov, _ := h.client(falcontest.APIClient{Cloud: "us-gov-2"}, func(cfg *Config) { cfg.Cloud = CloudAutodiscover })
	call(gov, "gov autodiscover", query)
	misnamed, _ := h.client(falcontest.APIClient{Cloud: "us-2"}, func(cfg *Config) { cfg.Cloud = "us-1" })
	call(misnamed, "wrong named cloud", query)

	// Rate limit.
	h.sim.ForceRateLimit(api.CID, clock.Now().Add(time.Minute))
	call(good, "429", query)
	call(good, "cooling down", create)

	// A token endpoint that answers garbage around an access token.
	const fakeAccessToken = "fakeAccessToken0123456789abcdefXYZ"
	for _, reply := range []struct {
		status int
		body   string
	}{
		{http.StatusCreated, `{"access_token":"` + fakeAccessToken + `","expires_in":{"x":1}}`},
		{http.StatusCreated, `{"access_token":"` + fakeAccessToken + `","token_type":"bearer","expires_in":1799,`},
		{http.StatusCreated, `{"error":"` + fakeAccessToken + `","access_token":"` + fakeAccessToken + `"}`},
		{http.StatusForbidden, `{"meta":{"trace_id":"` + fakeAccessToken + `"},"errors":[{"code":403,"message":"` + fakeAccessToken + `"}],"access_token":"` + fakeAccessToken + `"}`},
		{http.StatusInternalServerError, fakeAccessToken},
	} {
		h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, "/oauth2/token") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(reply.status)
			_, _ = w.Write([]byte(reply.body))
			return true
		})
		odd, _ := h.client(falcontest.APIClient{})
		call(odd, "odd token reply", query)
	}
	h.setIntercept(nil)

	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "falcon_") {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					fmt.Fprintf(&text, "%s{%s=%q}\n", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}

	secrets := append(h.sim.Secrets(), fakeAccessToken)
	if !slices.Contains(secrets, api.ClientSecret) || !slices.Contains(secrets, tokens[0].Value) {
		t.Fatal("the simulator's secrets do not include the client secret and token value; the search would prove nothing")
	}
	out := text.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			i := strings.Index(out, s)
			t.Errorf("a secret appears in output: ...%s...", strings.ReplaceAll(out[max(0, i-200):i], "\n", " | "))
		}
	}
	if !strings.Contains(out, "falcon oauth2-token: 403") || !strings.Contains(out, "rate limited until") {
		t.Fatal("the scenarios did not produce the errors they should; the search proves nothing")
	}
}
