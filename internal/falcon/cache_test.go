package falcon

import (
	"sync"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestCacheSharesOneClientPerCredential(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	api := h.sim.AddClient(falcontest.APIClient{})
	cfg := h.config(api, "")
	cache := NewCache(nil)
	key := NewCredentialKey(cfg.Credentials, "us-1")
	ctx := ctxFor(t)

	var wg sync.WaitGroup
	got := make([]*Client, 20)
	for i := range got {
		wg.Go(func() {
			// Twenty Secrets holding the same API client, read concurrently.
			c, err := cache.Get(NewCredentialKey(Credentials{ClientID: api.ClientID, ClientSecret: api.ClientSecret}, "us-1"), cfg)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("one credential gave different clients")
		}
	}
	if _, err := got[0].CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}

	otherCloud, err := cache.Get(NewCredentialKey(cfg.Credentials, "eu-1"), h.config(api, "eu-1"))
	if err != nil || otherCloud == got[0] || cache.Len() != 2 {
		t.Fatalf("another cloud: %v, same client %t, len %d", err, otherCloud == got[0], cache.Len())
	}
	reset := cfg.Credentials
	reset.ClientSecret = "reset"
	if NewCredentialKey(reset, "us-1") == key {
		t.Fatal("a new client secret is a new credential")
	}
	member := cfg.Credentials
	member.MemberCID = "abc"
	if NewCredentialKey(member, "us-1") == key {
		t.Fatal("another member CID is a new credential")
	}

	cache.Keep(map[CredentialKey]bool{key: true})
	if cache.Len() != 1 {
		t.Fatalf("len %d after keeping one key, want 1", cache.Len())
	}
	if c, _ := cache.Get(key, cfg); c != got[0] {
		t.Fatal("Keep replaced a client it was told to keep")
	}
	cache.Keep(nil)
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Revoke); got != 1 {
		t.Fatalf("%d revokes, want the dropped client's access token revoked", got)
	}
}

func TestCacheReportsBuildErrors(t *testing.T) {
	builds := 0
	cache := NewCache(func(cfg Config) (*Client, error) {
		builds++
		return New(cfg)
	})
	_, err := cache.Get(NewCredentialKey(Credentials{ClientID: "id"}, "us-1"), Config{Credentials: Credentials{ClientID: "id"}})
	if err == nil || cache.Len() != 0 || builds != 1 {
		t.Fatalf("incomplete credentials: %v, len %d, builds %d", err, cache.Len(), builds)
	}
}

func TestClientLabelHidesTheClientID(t *testing.T) {
	label := ClientLabel("0123456789abcdef", "")
	if label == "" || label == ClientLabel("0123456789abcdef", "child") || len(label) != len("client-")+16 {
		t.Fatalf("label %q", label)
	}
	if label != ClientLabel("0123456789abcdef", "") {
		t.Fatal("the label is stable")
	}
}
