package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// The decisions of the token reconciler, as pure functions of what was read and the time, so
// that each can be table-tested with any clock.

// markerPrefix starts every marker; the duplicate search looks for it.
const markerPrefix = "fto-"

// tokenMarker ties a Falcon token to one revision of one resource. It is carried in the token's
// label, so a create whose reply was lost can be found again and adopted.
func tokenMarker(uid types.UID, revision int64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", uid, revision))
	return markerPrefix + hex.EncodeToString(sum[:5])
}

// markerPattern is what tokenMarker makes.
var markerPattern = regexp.MustCompile(`^` + markerPrefix + `[0-9a-f]{10}$`)

// labelMarker is the marker of this operator a label carries, if any.
func labelMarker(label string) (string, bool) {
	marker, ok := falcon.LabelMarker(label)
	if !ok || !markerPattern.MatchString(marker) {
		return "", false
	}
	return marker, true
}

// baseLabel is the label a person reads in the Falcon console, before the marker.
func baseLabel(kind tokenKind, res tokenResource, clusterName string) string {
	if label := res.GetTokenParameters().Label; label != "" {
		return label
	}
	label := kind.defaultLabel(res)
	if clusterName != "" {
		label = clusterName + "/" + label
	}
	return label
}

// wantedExpiry is when the token should expire: validSince plus expiresAfter, at the API's
// one-second precision; nil when it should never expire.
func wantedExpiry(validSince time.Time, params *falconv1alpha1.TokenParameters) *time.Time {
	if params.ExpiresAfter == nil {
		return nil
	}
	at := validSince.Add(params.ExpiresAfter.Duration).UTC().Truncate(time.Second)
	return &at
}

// renewBefore is how long before its expiry a token is renewed: as set, or a third of its lifetime.
func renewBefore(params *falconv1alpha1.TokenParameters) time.Duration {
	if params.Renewal.RenewBefore != nil {
		return params.Renewal.RenewBefore.Duration
	}
	if params.ExpiresAfter == nil {
		return 0
	}
	return params.ExpiresAfter.Duration / 3
}

// renewalTime is when a token expiring at expiresAt is renewed; nil for a token that never expires.
func renewalTime(expiresAt *time.Time, params *falconv1alpha1.TokenParameters) *time.Time {
	if expiresAt == nil {
		return nil
	}
	at := expiresAt.Add(-renewBefore(params))
	return &at
}

// gracePeriod is how long a rotated-out token stays valid after its successor is published.
func gracePeriod(params *falconv1alpha1.TokenParameters) time.Duration {
	if params.Renewal.GracePeriod == nil {
		return time.Hour
	}
	return params.Renewal.GracePeriod.Duration
}

// minRenewalInterval is the least time between two renewals of one resource, whatever the spec
// and the rotate annotation say: admission refuses renewal settings that would renew more
// often, and this keeps to it for what admission cannot see.
const minRenewalInterval = time.Hour

// earliestRenewal is the first time the token may be renewed: minRenewalInterval, or the grace
// period when longer, after its validity period began. So a resource never holds more than two
// valid tokens, and cannot spend the account's active-token cap.
func earliestRenewal(validSince *metav1.Time, params *falconv1alpha1.TokenParameters) time.Time {
	if validSince == nil {
		return time.Time{}
	}
	return validSince.Add(max(minRenewalInterval, gracePeriod(params)))
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
	case tok.Status == falcon.TokenStatusRevoked && !revokedByOperator:
		return replaceRevokedInConsole
	case tok.Status == falcon.TokenStatusExpired, tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt):
		return replaceExpired
	}
	return replaceNone
}

// rotationRequested returns the rotate annotation's value when it asks for a rotation not yet made.
func rotationRequested(res tokenResource) (string, bool) {
	v := res.GetAnnotations()[falconv1alpha1.RotateAnnotation]
	return v, v != "" && v != res.GetTokenStatus().LastRotateRequest
}

// sameInstant compares two optional API times at one-second precision.
func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// sameDay compares two optional times by their UTC date: a token's last use is brought up to
// date once a day, not every time a node installs, which would cost a status write for every
// resource each period.
func sameDay(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.UTC().Format(time.DateOnly) == b.UTC().Format(time.DateOnly)
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
	case wantRevoked && tok.Status == falcon.TokenStatusValid:
		u.Revoked = ptr.To(true)
		ok = true
	case !wantRevoked && tok.Status == falcon.TokenStatusRevoked && revokedByOperator:
		u.Revoked = ptr.To(false)
		ok = true
	}
	return u, ok
}

func changedFields(u falcon.TokenUpdate) string {
	var fields []string
	if u.Label != nil {
		fields = append(fields, "label")
	}
	if u.Expiry != nil {
		fields = append(fields, "expiry")
	}
	if len(fields) == 0 {
		return "nothing"
	}
	return strings.Join(fields, " and ")
}

// observationDue says whether this reconcile must read the token from Falcon: the spec changed,
// the last attempt failed, or a renewal, rotation or revocation of an old token is due. The
// passing of the sync period is not a reason: changes made in the console are found by the
// drift check, which reads the tokens of many resources at once.
func observationDue(res tokenResource, now time.Time) bool {
	st := res.GetTokenStatus()
	common := res.GetCommonStatus()
	switch {
	case res.GetGeneration() != common.ObservedGeneration, common.FailedAttempts > 0, common.LastSyncTime == nil:
		return true
	case st.RenewalTime != nil && !now.Before(st.RenewalTime.Time):
		return true
	}
	if _, ok := rotationRequested(res); ok {
		return true
	}
	next := nextRetirement(st.RetiringTokens)
	return next != nil && !now.Before(*next)
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

// cidKey is the Secret key for the CID; empty leaves the CID out.
func cidKey(res tokenResource) string {
	if cid := res.GetSecretTemplate().Keys.CID; cid != nil {
		return *cid
	}
	return falconv1alpha1.DefaultCIDKey
}

// tokenKey is the Secret key for the token.
func tokenKey(res tokenResource) string {
	if key := res.GetSecretTemplate().Keys.Token; key != "" {
		return key
	}
	return falconv1alpha1.DefaultTokenKey
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
