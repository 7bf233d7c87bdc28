package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

func TestTokenDrifted(t *testing.T) {
	expires, used := t0.Add(720*time.Hour), t0.Add(-time.Hour)
	status := falconv1alpha1.InstallationTokenStatus{
		TokenID: "a", TokenStatus: "valid", Label: "ns/n [fto-1]",
		ExpiresAt: &metav1.Time{Time: expires}, LastUsedAt: &metav1.Time{Time: used},
	}
	same := func(change func(*falcon.Token)) *falcon.Token {
		tok := &falcon.Token{ID: "a", Status: "valid", Label: "ns/n [fto-1]", ExpiresAt: &expires, LastUsedAt: &used}
		if change != nil {
			change(tok)
		}
		return tok
	}
	for _, tc := range []struct {
		name string
		tok  *falcon.Token
		now  time.Time
		want bool
	}{
		{"unchanged", same(nil), t0, false},
		{"unchanged, sub-second difference", same(func(tk *falcon.Token) { e := expires.Add(300 * time.Millisecond); tk.ExpiresAt = &e }), t0, false},
		{"deleted", nil, t0, true},
		{"revoked in the console", same(func(tk *falcon.Token) { tk.Status = "revoked" }), t0, true},
		{"relabelled", same(func(tk *falcon.Token) { tk.Label = "other" }), t0, true},
		{"expiry moved", same(func(tk *falcon.Token) { e := expires.Add(time.Hour); tk.ExpiresAt = &e }), t0, true},
		{"made to never expire", same(func(tk *falcon.Token) { tk.ExpiresAt = nil }), t0, true},
		{"used again the same day", same(func(tk *falcon.Token) { u := used.Add(20 * time.Minute); tk.LastUsedAt = &u }), t0, false},
		{"used on another day", same(func(tk *falcon.Token) { u := used.Add(24 * time.Hour); tk.LastUsedAt = &u }), t0, true},
		{"expired since it was read", same(nil), expires, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokenDrifted(&status, tc.tok, tc.now); got != tc.want {
				t.Errorf("tokenDrifted = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSnapshotsAreTakenOnceAndOnlyForTheCurrentToken(t *testing.T) {
	s := &snapshots{}
	s.put("uid", snapshot{tokenID: "old", readAt: t0})
	if _, ok := s.take("uid", "new"); ok {
		t.Fatal("a snapshot of another token must not be used")
	}
	if _, ok := s.take("uid", "old"); ok {
		t.Fatal("take removes the snapshot, whichever token it was for")
	}
	s.put("uid", snapshot{tokenID: "a", readAt: t0})
	if snap, ok := s.take("uid", "a"); !ok || snap.readAt != t0 {
		t.Fatalf("take = %v, %v", snap, ok)
	}
	if _, ok := s.take("uid", "a"); ok {
		t.Fatal("a snapshot is used once")
	}
	s.put("old", snapshot{tokenID: "a", readAt: t0})
	s.put("new", snapshot{tokenID: "b", readAt: t0.Add(time.Minute)})
	s.expire(t0.Add(time.Second))
	if _, ok := s.take("old", "a"); ok {
		t.Error("expire keeps a snapshot read before the cutoff")
	}
	if _, ok := s.take("new", "b"); !ok {
		t.Error("expire drops a snapshot read after the cutoff")
	}
}
