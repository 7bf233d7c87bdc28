package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// The decisions of the FalconInstallationToken reconciler, as pure functions of what was read
// and the time, so that each can be table-tested with any clock.

// tokenMarker ties a Falcon token to one revision of one resource. It is carried in the token's
// label, so a create whose reply was lost can be found again and adopted.
func tokenMarker(uid types.UID, revision int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", uid, revision))
	return "fto-" + hex.EncodeToString(sum[:5])
}

// baseLabel is the label a person reads in the Falcon console, before the marker.
func baseLabel(fit *falconv1alpha1.FalconInstallationToken, clusterName string) string {
	if fit.Spec.Label != "" {
		return fit.Spec.Label
	}
	label := fit.Namespace + "/" + fit.Name
	if clusterName != "" {
		label = clusterName + "/" + label
	}
	return label
}

// markedLabel is the token's full label in Falcon.
func markedLabel(label, marker string) string { return label + " [" + marker + "]" }

// carriesMarker reports whether a Falcon label is marked for marker.
func carriesMarker(label, marker string) bool { return strings.HasSuffix(label, "["+marker+"]") }

// wantedExpiry is when the token should expire: validSince plus expiresAfter, at the API's
// one-second precision; nil when it should never expire.
func wantedExpiry(validSince time.Time, spec *falconv1alpha1.FalconInstallationTokenSpec) *time.Time {
	if spec.ExpiresAfter == nil {
		return nil
	}
	at := validSince.Add(spec.ExpiresAfter.Duration).UTC().Truncate(time.Second)
	return &at
}

// renewBefore is how long before its expiry a token is renewed: as set, or a third of its lifetime.
func renewBefore(spec *falconv1alpha1.FalconInstallationTokenSpec) time.Duration {
	if spec.Renewal.RenewBefore != nil {
		return spec.Renewal.RenewBefore.Duration
	}
	if spec.ExpiresAfter == nil {
		return 0
	}
	return spec.ExpiresAfter.Duration / 3
}

// renewalTime is when a token expiring at expiresAt is renewed; nil for a token that never expires.
func renewalTime(expiresAt *time.Time, spec *falconv1alpha1.FalconInstallationTokenSpec) *time.Time {
	if expiresAt == nil {
		return nil
	}
	at := expiresAt.Add(-renewBefore(spec))
	return &at
}

// gracePeriod is how long a rotated-out token stays valid after its successor is published.
func gracePeriod(spec *falconv1alpha1.FalconInstallationTokenSpec) time.Duration {
	if spec.Renewal.GracePeriod == nil {
		return time.Hour
	}
	return spec.Renewal.GracePeriod.Duration
}

// Why a token must be replaced by a new one.
const (
	replaceNone             = ""
	replaceDeleted          = "deleted in Falcon"
	replaceRevokedInConsole = "revoked outside the operator"
	replaceExpired          = "expired"
)

// replacementReason says whether the observed token (nil: gone) must be replaced. A token
// revoked by someone else is replaced, never restored: that is how people respond to a leaked
// value. While spec.revoked is true nothing is replaced.
func replacementReason(tok *falcon.Token, revokedByOperator, wantRevoked bool, now time.Time) string {
	switch {
	case wantRevoked:
		return replaceNone
	case tok == nil:
		return replaceDeleted
	case tok.Status == falconv1alpha1.TokenStatusRevoked && !revokedByOperator:
		return replaceRevokedInConsole
	case tok.Status == falconv1alpha1.TokenStatusExpired, tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt):
		return replaceExpired
	}
	return replaceNone
}

// rotationRequested returns the rotate annotation's value when it asks for a rotation not yet made.
func rotationRequested(fit *falconv1alpha1.FalconInstallationToken) (string, bool) {
	v := fit.Annotations[falconv1alpha1.RotateAnnotation]
	return v, v != "" && v != fit.Status.LastRotateRequest
}

// sameInstant compares two optional API times at one-second precision.
func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// tokenChanges is the update that brings an observed token to the spec; ok is false when none is needed.
func tokenChanges(tok *falcon.Token, label string, expiry *time.Time, wantRevoked, revokedByOperator bool) (u falcon.TokenUpdate, ok bool) {
	if tok.Label != label {
		u.Label = &label
		ok = true
	}
	if !sameInstant(tok.ExpiresAt, expiry) {
		u.Expiry = &falcon.Expiry{At: expiry}
		ok = true
	}
	switch {
	case wantRevoked && tok.Status == falconv1alpha1.TokenStatusValid:
		u.Revoked = ptrTo(true)
		ok = true
	case !wantRevoked && tok.Status == falconv1alpha1.TokenStatusRevoked && revokedByOperator:
		u.Revoked = ptrTo(false)
		ok = true
	}
	return u, ok
}

// observationDue says whether this reconcile must read the token from Falcon: the spec changed,
// the last attempt failed, or a renewal, rotation or revocation of an old token is due. The
// passing of the sync period is not a reason: changes made in the console are found by the
// drift check, which reads the tokens of many resources at once (driftCheck).
func observationDue(fit *falconv1alpha1.FalconInstallationToken, now time.Time) bool {
	st := &fit.Status
	switch {
	case fit.Generation != st.ObservedGeneration, st.FailedAttempts > 0, st.LastSyncTime == nil:
		return true
	case st.RenewalTime != nil && !now.Before(st.RenewalTime.Time):
		return true
	}
	if _, ok := rotationRequested(fit); ok {
		return true
	}
	return nextRetirement(st.RetiringTokens) != nil && !now.Before(*nextRetirement(st.RetiringTokens))
}

// nextRetirement is the earliest time an old token is due for revocation.
func nextRetirement(retiring []falconv1alpha1.RetiringToken) *time.Time {
	var next *time.Time
	for _, r := range retiring {
		if r.RevokeAt != nil && (next == nil || r.RevokeAt.Time.Before(*next)) {
			t := r.RevokeAt.Time
			next = &t
		}
	}
	return next
}

// secretName is the name of the Secret that publishes the token.
func secretName(fit *falconv1alpha1.FalconInstallationToken) string {
	if fit.Spec.Secret.Name != "" {
		return fit.Spec.Secret.Name
	}
	return fit.Name
}

// cidKey is the Secret key for the CID; empty leaves the CID out.
func cidKey(fit *falconv1alpha1.FalconInstallationToken) string {
	if fit.Spec.Secret.Keys.CID == nil {
		return falconv1alpha1.DefaultCIDKey
	}
	return *fit.Spec.Secret.Keys.CID
}

// tokenKey is the Secret key for the token.
func tokenKey(fit *falconv1alpha1.FalconInstallationToken) string {
	if fit.Spec.Secret.Keys.Token == "" {
		return falconv1alpha1.DefaultTokenKey
	}
	return fit.Spec.Secret.Keys.Token
}

func ptrTo[T any](v T) *T { return &v }
