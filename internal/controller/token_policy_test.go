package controller

import (
	"testing"
	"time"

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
	label := falcon.MarkLabel("team/sensors", a)
	if got, ok := labelMarker(label); !ok || got != a {
		t.Fatalf("labelMarker(%q) = %q, %v; want %q", label, got, ok, a)
	}
	for _, unmarked := range []string{"team/sensors", "team/sensors [fto-short]", "x [" + a + "] y"} {
		if got, ok := labelMarker(unmarked); ok {
			t.Errorf("labelMarker(%q) = %q: not a marker at the end", unmarked, got)
		}
	}
}

func TestBaseLabel(t *testing.T) {
	fit := &falconv1alpha1.FalconInstallationToken{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "n"}}
	cfit := &falconv1alpha1.ClusterFalconInstallationToken{ObjectMeta: metav1.ObjectMeta{Name: "platform"}}
	for _, tc := range []struct {
		name        string
		kind        tokenKind
		res         tokenResource
		clusterName string
		want        string
	}{
		{"namespaced default", namespacedTokens{}, fit, "", "ns/n"},
		{"namespaced default with a cluster name", namespacedTokens{}, fit, "prod-eu", "prod-eu/ns/n"},
		{"cluster-scoped default", clusterTokens{}, cfit, "", "platform"},
		{"cluster-scoped default with a cluster name", clusterTokens{}, cfit, "prod-eu", "prod-eu/platform"},
	} {
		if got := baseLabel(tc.kind, tc.res, tc.clusterName); got != tc.want {
			t.Errorf("%s: label = %q, want %q", tc.name, got, tc.want)
		}
	}
	fit.Spec.Label = "custom"
	if got := baseLabel(namespacedTokens{}, fit, "prod-eu"); got != "custom" {
		t.Errorf("explicit label = %q", got)
	}
}

func TestEarliestRenewal(t *testing.T) {
	since := &metav1.Time{Time: t0}
	grace := func(d time.Duration) *falconv1alpha1.TokenParameters {
		return &falconv1alpha1.TokenParameters{Renewal: falconv1alpha1.Renewal{GracePeriod: &metav1.Duration{Duration: d}}}
	}
	for _, tc := range []struct {
		name   string
		params *falconv1alpha1.TokenParameters
		want   time.Time
	}{
		{"an hour after the last renewal", grace(10 * time.Minute), t0.Add(time.Hour)},
		{"a longer grace period after it: never more than two valid tokens", grace(3 * time.Hour), t0.Add(3 * time.Hour)},
		{"the default grace period", &falconv1alpha1.TokenParameters{}, t0.Add(time.Hour)},
	} {
		if got := earliestRenewal(since, tc.params); !got.Equal(tc.want) {
			t.Errorf("%s: earliestRenewal = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRenewalTime(t *testing.T) {
	spec := func(expires, before time.Duration) *falconv1alpha1.TokenParameters {
		s := &falconv1alpha1.TokenParameters{}
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
		spec      *falconv1alpha1.TokenParameters
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
