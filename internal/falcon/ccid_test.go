package falcon

import (
	"regexp"
	"strings"
	"testing"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

var ccidPattern = regexp.MustCompile(`^[0-9A-F]{32}-[0-9A-F]{2}$`)

func TestCCIDIsFetchedOnce(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	c, api := h.client(falcontest.APIClient{})
	ctx := ctxFor(t)
	for range 3 {
		ccid, err := c.CCID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ccidPattern.MatchString(ccid) || !strings.HasPrefix(ccid, strings.ToUpper(api.CID)) {
			t.Fatalf("CCID %q is not the client's CID with a checksum", ccid)
		}
	}
	if got := h.sim.ClientCalls(api.ClientID, opCCID); got != 1 {
		t.Fatalf("%d ccid calls, want 1", got)
	}
}

func TestMemberCIDActsOnTheChild(t *testing.T) {
	h := newHarness(t, falcontest.Options{})
	child := h.sim.AddClient(falcontest.APIClient{}).CID // registers the child CID
	c, parent := h.client(falcontest.APIClient{MemberCIDs: []string{child}}, func(cfg *Config) {
		cfg.Credentials.MemberCID = child
	})
	ctx := ctxFor(t)

	tok, err := c.CreateToken(ctx, "for-the-child", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.sim.Token(child, tok.ID); !ok {
		t.Fatal("the token was not created in the child CID")
	}
	if len(h.sim.Tokens(parent.CID)) != 0 {
		t.Fatal("the token was created in the parent CID")
	}
	ccid, err := c.CCID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ccid, strings.ToUpper(child)) {
		t.Fatalf("CCID %s is not the child's %s", ccid, child)
	}
	if body := h.lastBody("POST", "/oauth2/token"); !strings.Contains(body, "member_cid="+child) {
		t.Fatal("the token request does not carry member_cid")
	}
}
