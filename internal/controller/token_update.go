package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// applySpec brings the observed token to the spec in place: label, expiry, revoked. Nothing
// that can be patched is recreated.
func (r *TokenReconciler) applySpec(ctx context.Context, s *tokenScope) error {
	if s.token == nil || s.intent != nil {
		return nil
	}
	st := s.res.GetTokenStatus()
	params := s.res.GetTokenParameters()
	label := falcon.MarkLabel(baseLabel(r.kind, s.res, r.clusterName), tokenMarker(s.res.GetUID(), st.Revision))
	expiry := wantedExpiry(st.ValidSince.Time, params)
	update, needed := tokenChanges(s.token, label, expiry, params.Revoked, st.RevokedByOperator)
	if !needed {
		return nil
	}
	if err := r.ensureFinalizer(ctx, s.scope); err != nil {
		return err
	}
	updated, err := r.update(ctx, s, update)
	if err != nil {
		return err
	}
	switch {
	case update.Revoked != nil && *update.Revoked:
		st.RevokedByOperator = true
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventRevoked, "Revoke", "Revoked token %s because spec.revoked is true", updated.ID)
	case update.Revoked != nil:
		st.RevokedByOperator = false
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventRestored, "Restore", "Restored token %s because spec.revoked is false", updated.ID)
	case s.res.GetGeneration() != s.res.GetCommonStatus().ObservedGeneration:
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventUpdated, "Update", "Updated token %s to the spec (%s)", updated.ID, changedFields(update))
	default:
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventDriftCorrected, "Update",
			"Token %s was changed outside the operator: %s set back", updated.ID, changedFields(update))
	}
	return nil
}

func (r *TokenReconciler) update(ctx context.Context, s *tokenScope, u falcon.TokenUpdate) (*falcon.Token, error) {
	tokens, err := s.api.UpdateTokens(ctx, []string{s.token.ID}, u)
	if err != nil {
		return nil, err
	}
	for i := range tokens {
		if tokens[i].ID == s.token.ID {
			s.token = &tokens[i]
		}
	}
	return s.token, nil
}

// renew rotates or extends a token whose renewal time came, and rotates on request; never
// more often than minRenewalInterval allows, whatever the spec or the annotation say.
func (r *TokenReconciler) renew(ctx context.Context, s *tokenScope) error {
	st := s.res.GetTokenStatus()
	params := s.res.GetTokenParameters()
	if s.token == nil || s.intent != nil || s.token.Status != falcon.TokenStatusValid {
		return nil
	}
	earliest := earliestRenewal(st.ValidSince, params)
	value, requested := rotationRequested(s.res)
	due := renewalTime(s.token.ExpiresAt, params)
	switch {
	case requested || (due != nil && !s.now.Before(*due)):
		if s.now.Before(earliest) {
			s.wakeAt, s.renewalHeld = &earliest, true // a token is renewed at most once an hour
			return nil
		}
	default:
		return nil
	}
	if requested {
		st.LastRotateRequest = value
		return r.startCreate(ctx, s, falconv1alpha1.CreateRotate)
	}
	if params.Renewal.Strategy != falconv1alpha1.RenewalExtend {
		return r.startCreate(ctx, s, falconv1alpha1.CreateRotate)
	}
	expiry := wantedExpiry(s.now, params)
	if _, err := r.update(ctx, s, falcon.TokenUpdate{Expiry: &falcon.Expiry{At: expiry}}); err != nil {
		return err
	}
	st.ValidSince = &metav1.Time{Time: s.now}
	r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventExtended, "Extend", "Extended token %s to expire at %s", s.token.ID, expiry.Format(time.RFC3339))
	return nil
}

// retireOldTokens revokes rotated-out tokens whose grace period is over. Their grace period
// only starts once the Secrets hold the successor.
func (r *TokenReconciler) retireOldTokens(ctx context.Context, s *tokenScope) error {
	st := s.res.GetTokenStatus()
	var due []string
	var keep []falconv1alpha1.RetiringToken
	for _, t := range st.RetiringTokens {
		if t.RevokeAt != nil && !s.now.Before(t.RevokeAt.Time) {
			due = append(due, t.TokenID)
		} else {
			keep = append(keep, t)
		}
	}
	if len(due) == 0 {
		return nil
	}
	if _, err := s.api.UpdateTokens(ctx, due, falcon.TokenUpdate{Revoked: ptr.To(true)}); err != nil && !falcon.IsNotFound(err) {
		return err
	}
	st.RetiringTokens = keep
	for _, id := range due {
		r.values.forget(id)
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventRevoked, "Revoke", "Revoked rotated-out token %s after its grace period", id)
	}
	return nil
}
