package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestTokenMarkerIsStablePerRevision(t *testing.T) {
	a, b := tokenMarker("uid-1", 1), tokenMarker("uid-1", 1)
	if a != b {
		t.Fatalf("marker not deterministic: %q vs %q", a, b)
	}
	if tokenMarker("uid-1", 2) == a || tokenMarker("uid-2", 1) == a {
		t.Fatal("marker must differ across revisions and resources")
	}
	label := markedLabel("team/sensors", a)
	if !carriesMarker(label, a) || carriesMarker(label, tokenMarker("uid-1", 2)) {
		t.Fatalf("label %q does not carry exactly its marker", label)
	}
}

func TestBaseLabel(t *testing.T) {
	fit := &falconv1alpha1.FalconInstallationToken{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "n"}}
	if got := baseLabel(fit, ""); got != "ns/n" {
		t.Errorf("default label = %q", got)
	}
	if got := baseLabel(fit, "prod-eu"); got != "prod-eu/ns/n" {
		t.Errorf("default label with cluster = %q", got)
	}
	fit.Spec.Label = "custom"
	if got := baseLabel(fit, "prod-eu"); got != "custom" {
		t.Errorf("explicit label = %q", got)
	}
}

func TestRenewalTime(t *testing.T) {
	spec := func(expires, before time.Duration) *falconv1alpha1.FalconInstallationTokenSpec {
		s := &falconv1alpha1.FalconInstallationTokenSpec{}
		if expires > 0 {
			s.ExpiresAfter = &metav1.Duration{Duration: expires}
		}
		if before > 0 {
			s.Renewal.RenewBefore = &metav1.Duration{Duration: before}
		}
		return s
	}
	for _, tc := range []struct {
		name      string
		expiresAt *time.Time
		spec      *falconv1alpha1.FalconInstallationTokenSpec
		want      *time.Time
	}{
		{"never expires", nil, spec(0, 0), nil},
		{"a third of the lifetime by default", at(720 * time.Hour), spec(720*time.Hour, 0), at(480 * time.Hour)},
		{"renewBefore as set", at(720 * time.Hour), spec(720*time.Hour, 24*time.Hour), at(696 * time.Hour)},
		{"timed from the real expiry", at(100 * time.Hour), spec(720*time.Hour, 24*time.Hour), at(76 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := renewalTime(tc.expiresAt, tc.spec); !sameInstant(got, tc.want) {
				t.Errorf("renewalTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReplacementReason(t *testing.T) {
	valid := &falcon.Token{Status: "valid", ExpiresAt: at(time.Hour)}
	revoked := &falcon.Token{Status: "revoked"}
	for _, tc := range []struct {
		name                           string
		tok                            *falcon.Token
		revokedByOperator, wantRevoked bool
		now                            time.Time
		want                           string
	}{
		{"valid token is kept", valid, false, false, t0, replaceNone},
		{"deleted token is replaced", nil, false, false, t0, replaceDeleted},
		{"revoked in the console is replaced, not restored", revoked, false, false, t0, replaceRevokedInConsole},
		{"revoked by the operator is restored, not replaced", revoked, true, false, t0, replaceNone},
		{"expired by time is replaced", valid, false, false, t0.Add(time.Hour), replaceExpired},
		{"expired by status is replaced", &falcon.Token{Status: "expired"}, false, false, t0, replaceExpired},
		{"nothing is replaced while the spec wants it revoked", nil, false, true, t0, replaceNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := replacementReason(tc.tok, tc.revokedByOperator, tc.wantRevoked, tc.now); got != tc.want {
				t.Errorf("replacementReason = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTokenChanges(t *testing.T) {
	base := falcon.Token{Label: "l", Status: "valid", ExpiresAt: at(time.Hour)}
	for _, tc := range []struct {
		name                           string
		tok                            falcon.Token
		label                          string
		expiry                         *time.Time
		wantRevoked, revokedByOperator bool
		wantChange                     bool
		check                          func(falcon.TokenUpdate) bool
	}{
		{"in sync", base, "l", at(time.Hour), false, false, false, nil},
		{"sub-second difference is no change", base, "l", at(time.Hour + 300*time.Millisecond), false, false, false, nil},
		{"label", base, "m", at(time.Hour), false, false, true, func(u falcon.TokenUpdate) bool { return *u.Label == "m" && u.Expiry == nil }},
		{"expiry to never", base, "l", nil, false, false, true, func(u falcon.TokenUpdate) bool { return u.Expiry != nil && u.Expiry.At == nil }},
		{"revoke", base, "l", at(time.Hour), true, false, true, func(u falcon.TokenUpdate) bool { return *u.Revoked }},
		{"restore own revocation", falcon.Token{Label: "l", Status: "revoked", ExpiresAt: at(time.Hour)}, "l", at(time.Hour), false, true, true,
			func(u falcon.TokenUpdate) bool { return !*u.Revoked }},
		{"never restore someone else's revocation", falcon.Token{Label: "l", Status: "revoked", ExpiresAt: at(time.Hour)}, "l", at(time.Hour), false, false, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, changed := tokenChanges(&tc.tok, tc.label, tc.expiry, tc.wantRevoked, tc.revokedByOperator)
			if changed != tc.wantChange {
				t.Fatalf("changed = %v, want %v", changed, tc.wantChange)
			}
			if tc.check != nil && !tc.check(u) {
				t.Errorf("unexpected update %+v", u)
			}
		})
	}
}

func TestObservationDue(t *testing.T) {
	synced := func(change func(*falconv1alpha1.FalconInstallationToken)) *falconv1alpha1.FalconInstallationToken {
		fit := &falconv1alpha1.FalconInstallationToken{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
		fit.Status.ObservedGeneration = 2
		fit.Status.LastSyncTime = &metav1.Time{Time: t0}
		if change != nil {
			change(fit)
		}
		return fit
	}
	for _, tc := range []struct {
		name string
		fit  *falconv1alpha1.FalconInstallationToken
		now  time.Time
		want bool
	}{
		{"just synced", synced(nil), t0.Add(time.Minute), false},
		{"sync period passed: the drift check's job, not a read per resource", synced(nil), t0.Add(10 * time.Minute), false},
		{"spec changed", synced(func(f *falconv1alpha1.FalconInstallationToken) { f.Generation = 3 }), t0, true},
		{"last attempt failed", synced(func(f *falconv1alpha1.FalconInstallationToken) { f.Status.FailedAttempts = 1 }), t0, true},
		{"renewal due", synced(func(f *falconv1alpha1.FalconInstallationToken) { f.Status.RenewalTime = &metav1.Time{Time: t0} }), t0, true},
		{"rotation asked", synced(func(f *falconv1alpha1.FalconInstallationToken) {
			f.Annotations = map[string]string{falconv1alpha1.RotateAnnotation: "now"}
		}), t0, true},
		{"rotation already made", synced(func(f *falconv1alpha1.FalconInstallationToken) {
			f.Annotations = map[string]string{falconv1alpha1.RotateAnnotation: "now"}
			f.Status.LastRotateRequest = "now"
		}), t0, false},
		{"old token due for revocation", synced(func(f *falconv1alpha1.FalconInstallationToken) {
			f.Status.RetiringTokens = []falconv1alpha1.RetiringToken{{TokenID: "x", RevokeAt: &metav1.Time{Time: t0}}}
		}), t0, true},
		{"old token waits for its successor's publication", synced(func(f *falconv1alpha1.FalconInstallationToken) {
			f.Status.RetiringTokens = []falconv1alpha1.RetiringToken{{TokenID: "x"}}
		}), t0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := observationDue(tc.fit, tc.now); got != tc.want {
				t.Errorf("observationDue = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSecretMatches(t *testing.T) {
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"b": "2"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"TOKEN": []byte("v")},
	}
	for _, tc := range []struct {
		name   string
		change func(*corev1.Secret)
		want   bool
	}{
		{"identical", func(*corev1.Secret) {}, true},
		{"someone else's label is fine", func(s *corev1.Secret) { s.Labels["argocd"] = "x" }, true},
		{"value edited", func(s *corev1.Secret) { s.Data["TOKEN"] = []byte("w") }, false},
		{"key added", func(s *corev1.Secret) { s.Data["EXTRA"] = []byte("w") }, false},
		{"our label removed", func(s *corev1.Secret) { delete(s.Labels, "a") }, false},
		{"our annotation changed", func(s *corev1.Secret) { s.Annotations["b"] = "3" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := want.DeepCopy()
			tc.change(existing)
			if got := secretMatches(existing, want); got != tc.want {
				t.Errorf("secretMatches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	for failures, want := range map[int32]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 40: 5 * time.Minute} {
		if got := retryDelay(failures); got != want {
			t.Errorf("retryDelay(%d) = %v, want %v", failures, got, want)
		}
	}
}
