package falcon

import (
	"sync"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func TestCacheSharesAndRetiresClients(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	api := h.sim.AddClient(falcontest.APIClient{})
	cfg := h.config(api, "")
	cache := NewCache(nil)
	key := CredentialKey{SecretUID: "uid-1", ResourceVersion: "10", Cloud: "us-1"}
	ctx := ctxFor(t)

	var wg sync.WaitGroup
	got := make([]*Client, 20)
	for i := range got {
		wg.Go(func() {
			c, err := cache.Get(key, cfg)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("concurrent Gets of one key returned different clients")
		}
	}
	old := got[0]
	if _, err := old.CountValidTokens(ctx); err != nil {
		t.Fatal(err)
	}

	otherCloud, err := cache.Get(CredentialKey{SecretUID: "uid-1", ResourceVersion: "10", Cloud: "eu-1"}, h.config(api, "eu-1"))
	if err != nil || otherCloud == old || cache.Len() != 2 {
		t.Fatalf("another cloud for the same Secret: %v, same client %t, len %d", err, otherCloud == old, cache.Len())
	}

	renewed, err := cache.Get(CredentialKey{SecretUID: "uid-1", ResourceVersion: "11", Cloud: "us-1"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == old || cache.Len() != 1 {
		t.Fatalf("a new resourceVersion: same client %t, len %d; want a new client replacing both", renewed == old, cache.Len())
	}
	if got := h.sim.ClientCalls(api.ClientID, opOAuth2Revoke); got != 1 {
		t.Fatalf("%d revokes, want the retired client's token revoked", got)
	}
	if again, _ := cache.Get(CredentialKey{SecretUID: "uid-1", ResourceVersion: "11", Cloud: "us-1"}, cfg); again != renewed {
		t.Fatal("the same key returned another client")
	}

	other, err := cache.Get(CredentialKey{SecretUID: "uid-2", ResourceVersion: "1"}, cfg)
	if err != nil || other == renewed || cache.Len() != 2 {
		t.Fatalf("a second Secret: %v, len %d", err, cache.Len())
	}
	cache.Retire("uid-1")
	if cache.Len() != 1 {
		t.Fatalf("len %d after retiring uid-1, want 1", cache.Len())
	}
	if c, _ := cache.Get(CredentialKey{SecretUID: "uid-2", ResourceVersion: "1"}, cfg); c != other {
		t.Fatal("retiring uid-1 replaced uid-2's client")
	}
}

func TestCacheReportsBuildErrors(t *testing.T) {
	builds := 0
	cache := NewCache(func(cfg Config) (*Client, error) {
		builds++
		return New(cfg)
	})
	_, err := cache.Get(CredentialKey{SecretUID: "u"}, Config{Credentials: Credentials{ClientID: "id"}})
	if err == nil || cache.Len() != 0 || builds != 1 {
		t.Fatalf("incomplete credentials: %v, len %d, builds %d", err, cache.Len(), builds)
	}
}
