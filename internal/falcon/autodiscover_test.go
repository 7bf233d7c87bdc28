package falcon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestAutodiscoveryFollowsTheRegion(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{Cloud: "eu-1"}, func(cfg *Config) { cfg.Cloud = CloudAutodiscover })
	ctx := ctxFor(t)
	if got := c.Cloud(); got != "" {
		t.Fatalf("Cloud() before the first call = %q, want \"\"", got)
	}
	tok, err := c.CreateToken(ctx, "discovered", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cloud(); got != "eu-1" {
		t.Fatalf("Cloud() = %q, want eu-1", got)
	}
	if _, ok := h.sim.Token(api.CID, tok.ID); !ok {
		t.Fatal("the token is not in the client's CID")
	}
	c.Close() // the next call needs a new access token
	if _, err := c.CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}

	requests := h.requests()
	paths := make([]string, 0, len(requests))
	for _, r := range requests {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := []string{
		"POST /us-1/oauth2/token", // 308 to eu-1
		"POST /eu-1/oauth2/token",
		"POST /eu-1" + tokensEntityPath,
		"POST /eu-1/oauth2/revoke",
		"POST /eu-1/oauth2/token", // straight to eu-1 now
		"GET /eu-1" + tokensQueryPath,
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func TestNamedCloudRefusesTheRedirect(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, _ := h.client(falcontest.APIClient{Cloud: "eu-1"}, func(cfg *Config) { cfg.Cloud = "us-1" })
	_, err := c.CountValidTokens(ctxFor(t))
	e := mustAPIError(t, err)
	if e.Operation != opOAuth2Token || !strings.Contains(err.Error(), `cloud "eu-1"`) || !strings.Contains(e.Hint, CloudAutodiscover) {
		t.Fatalf("got %v", err)
	}
	for _, r := range h.requests() {
		if strings.HasPrefix(r.Path, "/eu-1/") {
			t.Fatalf("the credentials went to eu-1 although the client names us-1: %s", r.Path)
		}
	}
}

func TestRedirectToAForeignHostIsRefused(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		foreignHits.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer foreign.Close()
	h := newHarness(t, falcontest.Options{})
	// us-1 is made to send the token request elsewhere, as a compromised proxy could.
	h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/us-1/oauth2/token" && r.URL.Path != "/us-1"+tokensQueryPath {
			return false
		}
		w.Header().Set("Location", foreign.URL+"/eu-1"+strings.TrimPrefix(r.URL.Path, "/us-1"))
		w.Header().Set("X-Cs-Region", "eu-1")
		w.WriteHeader(http.StatusPermanentRedirect)
		return true
	})
	c, api := h.client(falcontest.APIClient{}, func(cfg *Config) { cfg.Cloud = CloudAutodiscover })
	_, err := c.CountValidTokens(ctxFor(t))
	e := mustAPIError(t, err)
	if e.Operation != opOAuth2Token || !strings.Contains(err.Error(), "not a configured Falcon cloud endpoint") || strings.Contains(err.Error(), api.ClientSecret) {
		t.Fatalf("got %v", err)
	}
	if foreignHits.Load() != 0 {
		t.Fatal("the token request reached a host outside the endpoints")
	}

	// API requests never follow a redirect, even to a known cloud.
	h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/us-1"+tokensQueryPath {
			return false
		}
		w.Header().Set("Location", h.srv.URL+"/eu-1"+tokensQueryPath)
		w.WriteHeader(http.StatusPermanentRedirect)
		return true
	})
	named, _ := h.client(falcontest.APIClient{})
	_, err = named.CountValidTokens(ctxFor(t))
	if e := mustAPIError(t, err); e.StatusCode != http.StatusPermanentRedirect || e.Operation != opTokensQuery {
		t.Fatalf("redirected API call: %v", err)
	}
	for _, r := range h.requests() {
		if r.Path == "/eu-1"+tokensQueryPath {
			t.Fatal("an API request followed a redirect")
		}
	}
}

func TestGovCloudMustBeNamed(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{Cloud: "us-gov-1"}, func(cfg *Config) { cfg.Cloud = CloudAutodiscover })
	_, err := c.CountValidTokens(ctxFor(t))
	if !IsInvalidCredentials(err) || !strings.Contains(err.Error(), "GovCloud clients must name their cloud (us-gov-1 or us-gov-2)") {
		t.Fatalf("got %v, want refused credentials with the GovCloud hint", err)
	}
	if c.Cloud() != "" {
		t.Fatalf("Cloud() = %q after a failed discovery", c.Cloud())
	}

	named, err := New(h.config(api, "us-gov-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := named.CountValidTokens(ctxFor(t)); err != nil {
		t.Fatalf("named GovCloud: %v", err)
	}
	if named.Cloud() != "us-gov-1" {
		t.Fatalf("Cloud() = %q", named.Cloud())
	}
}

func TestRedirectToGovCloudIsRefused(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	h.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/us-1/oauth2/token" {
			return false
		}
		w.Header().Set("Location", h.srv.URL+"/us-gov-1/oauth2/token")
		w.WriteHeader(http.StatusPermanentRedirect)
		return true
	})
	c, _ := h.client(falcontest.APIClient{Cloud: "us-gov-1"}, func(cfg *Config) { cfg.Cloud = CloudAutodiscover })
	_, err := c.CountValidTokens(ctxFor(t))
	if !strings.Contains(err.Error(), govCloudHint) {
		t.Fatalf("got %v", err)
	}
	for _, r := range h.requests() {
		if strings.HasPrefix(r.Path, "/us-gov-1/") {
			t.Fatal("autodiscovery sent the credentials to GovCloud")
		}
	}
}
