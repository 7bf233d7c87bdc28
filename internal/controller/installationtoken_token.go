package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// ensureToken makes sure the resource has a live token: it finishes a create that may have
// reached Falcon, adopts spec.tokenID, creates the first token, or replaces one that was
// deleted, revoked by someone else or expired.
func (r *InstallationTokenReconciler) ensureToken(ctx context.Context, s *tokenScope) error {
	st := &s.fit.Status
	switch {
	case st.PendingCreate != nil:
		return r.finishCreate(ctx, s)
	case st.TokenID == "" && s.fit.Spec.TokenID != "":
		return r.adopt(ctx, s)
	case st.TokenID == "":
		if s.fit.Spec.Revoked {
			return nil // nothing to create while the spec wants the token revoked
		}
		return r.startCreate(ctx, s, falconv1alpha1.CreateFirst)
	}
	// The drift check read the token moments ago and found it changed: use what it read. A
	// snapshot older than this resource's own last read is moot; a stale one is read again.
	snap, drifted := r.snapshots.take(s.fit.UID, st.TokenID)
	if drifted && st.LastSyncTime != nil && !snap.readAt.After(st.LastSyncTime.Time) {
		drifted = false
	}
	switch {
	case drifted && s.now.Sub(snap.readAt) < snapshotMaxAge:
		s.token, s.observed, s.snapshot = snap.token, true, &snap
		if s.token != nil {
			r.values.set(s.token.ID, s.token.Value)
		}
	case drifted || observationDue(s.fit, s.now):
		if err := r.observe(ctx, s); err != nil {
			return err
		}
	default:
		return nil
	}
	if why := replacementReason(s.token, st.RevokedByOperator, s.fit.Spec.Revoked, s.now); why != replaceNone {
		s.replaced = why
		err := r.startCreate(ctx, s, falconv1alpha1.CreateReplace)
		if err != nil && why == replaceExpired {
			return &expiredError{cause: err}
		}
		return err
	}
	return nil
}

// observe reads the current token from Falcon; s.token stays nil when it no longer exists.
func (r *InstallationTokenReconciler) observe(ctx context.Context, s *tokenScope) error {
	tokens, err := s.api.GetTokens(ctx, []string{s.fit.Status.TokenID})
	if err != nil && !falcon.IsNotFound(err) {
		return err
	}
	s.token = nil
	for i := range tokens {
		if tokens[i].ID == s.fit.Status.TokenID {
			s.token = &tokens[i]
			r.values.set(s.token.ID, s.token.Value)
		}
	}
	s.observed = true
	return nil
}

// startCreate records the intent to create a token in the cluster, then creates it. If the
// reply is lost, the next reconcile finds the token by its marker instead of creating another.
func (r *InstallationTokenReconciler) startCreate(ctx context.Context, s *tokenScope, reason falconv1alpha1.CreateReason) error {
	st := &s.fit.Status
	revision := st.Revision + 1
	st.PendingCreate = &falconv1alpha1.PendingCreate{
		Revision: revision, Marker: tokenMarker(s.fit.UID, revision), StartedAt: metav1.Time{Time: s.now}, Reason: reason,
	}
	if reason == falconv1alpha1.CreateRotate {
		st.RetiringTokens = append(st.RetiringTokens, falconv1alpha1.RetiringToken{TokenID: st.TokenID})
	}
	if err := r.recordIntent(ctx, s); err != nil {
		return err
	}
	return r.create(ctx, s)
}

func (r *InstallationTokenReconciler) create(ctx context.Context, s *tokenScope) error {
	pending := s.fit.Status.PendingCreate
	// The validity period starts with this attempt, not with an earlier one that failed.
	pending.StartedAt = metav1.Time{Time: s.now}
	label := markedLabel(baseLabel(s.fit, r.ClusterName), pending.Marker)
	tok, err := s.api.CreateToken(ctx, label, wantedExpiry(s.now, &s.fit.Spec))
	if falcon.IsConflict(err) {
		return &blockedError{reason: falconv1alpha1.ReasonTokenLimitReached, retryAfter: r.SyncPeriod, message: "the Falcon account has as many valid " +
			"installation tokens as its maxActiveTokens setting allows: revoke unused tokens or raise the limit (FalconTokenSettings)"}
	}
	if err != nil {
		return err
	}
	r.took(s, tok)
	return nil
}

// finishCreate completes a create recorded earlier: the token is adopted if Falcon has it,
// created otherwise.
func (r *InstallationTokenReconciler) finishCreate(ctx context.Context, s *tokenScope) error {
	marker := s.fit.Status.PendingCreate.Marker
	marked, err := s.api.FindTokensByMarker(ctx, marker)
	if err != nil {
		return err
	}
	var found []falcon.Token
	for _, t := range marked {
		if t.Status == falconv1alpha1.TokenStatusValid {
			found = append(found, t)
		}
	}
	if len(found) == 0 {
		return r.create(ctx, s)
	}
	// One create call can only make one token; should Falcon hold more for one marker, all but
	// the first are revoked so that one live token remains.
	if extra := found[1:]; len(extra) > 0 {
		ids := make([]string, 0, len(extra))
		for _, t := range extra {
			ids = append(ids, t.ID)
		}
		if _, err := s.api.UpdateTokens(ctx, ids, falcon.TokenUpdate{Revoked: ptrTo(true)}); err != nil && !falcon.IsNotFound(err) {
			return err
		}
	}
	r.took(s, found[0])
	return nil
}

// took makes tok the current token, completing the pending create.
func (r *InstallationTokenReconciler) took(s *tokenScope, tok falcon.Token) {
	st := &s.fit.Status
	pending := st.PendingCreate
	st.TokenID, st.Revision, st.PendingCreate = tok.ID, pending.Revision, nil
	st.RevokedByOperator = false
	st.ValidSince = pending.StartedAt.DeepCopy()
	s.token, s.observed = &tok, true
	r.values.set(tok.ID, tok.Value)
	switch pending.Reason {
	case falconv1alpha1.CreateFirst:
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventCreated, "Create", "Created installation token %s", tok.ID)
	case falconv1alpha1.CreateRotate:
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventRotated, "Rotate", "Rotated to token %s (revision %d); the previous token is revoked %s after the Secret is updated",
			tok.ID, pending.Revision, gracePeriod(&s.fit.Spec))
	case falconv1alpha1.CreateReplace:
		r.event(s.fit, corev1.EventTypeWarning, falconv1alpha1.EventReplaced, "Replace", "The previous token was %s: replaced by token %s (revision %d)",
			orDefault(s.replaced, "gone"), tok.ID, pending.Revision)
	}
}

// adopt takes over the existing token named by spec.tokenID.
func (r *InstallationTokenReconciler) adopt(ctx context.Context, s *tokenScope) error {
	id := s.fit.Spec.TokenID
	tokens, err := s.api.GetTokens(ctx, []string{id})
	if err != nil && !falcon.IsNotFound(err) {
		return err
	}
	i := slices.IndexFunc(tokens, func(t falcon.Token) bool { return t.ID == id })
	if i < 0 {
		return &blockedError{reason: falconv1alpha1.ReasonTokenNotFound, retryAfter: r.SyncPeriod, message: fmt.Sprintf(
			"token %s named by spec.tokenID does not exist in this Falcon account: check the ID and the credentials' CID", id)}
	}
	st := &s.fit.Status
	st.TokenID, st.Revision = id, 1
	st.ValidSince = &metav1.Time{Time: s.now}
	s.token, s.observed = &tokens[i], true
	r.values.set(id, tokens[i].Value)
	r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventAdopted, "Adopt", "Adopted existing installation token %s", id)
	return nil
}

// applySpec brings the observed token to the spec in place: label, expiry, revoked. Nothing
// that can be patched is recreated.
func (r *InstallationTokenReconciler) applySpec(ctx context.Context, s *tokenScope) error {
	if s.token == nil || s.fit.Status.PendingCreate != nil {
		return nil
	}
	st := &s.fit.Status
	label := markedLabel(baseLabel(s.fit, r.ClusterName), tokenMarker(s.fit.UID, st.Revision))
	expiry := wantedExpiry(st.ValidSince.Time, &s.fit.Spec)
	update, needed := tokenChanges(s.token, label, expiry, s.fit.Spec.Revoked, st.RevokedByOperator)
	if !needed {
		return nil
	}
	updated, err := r.update(ctx, s, update)
	if err != nil {
		return err
	}
	switch {
	case update.Revoked != nil && *update.Revoked:
		st.RevokedByOperator = true
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventRevoked, "Revoke", "Revoked token %s because spec.revoked is true", updated.ID)
	case update.Revoked != nil:
		st.RevokedByOperator = false
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventRestored, "Restore", "Restored token %s because spec.revoked is false", updated.ID)
	case s.fit.Generation != st.ObservedGeneration:
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventUpdated, "Update", "Updated token %s to the spec (%s)", updated.ID, changedFields(update))
	default:
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventDriftCorrected, "Update", "Token %s was changed outside the operator: %s set back", updated.ID, changedFields(update))
	}
	return nil
}

func (r *InstallationTokenReconciler) update(ctx context.Context, s *tokenScope, u falcon.TokenUpdate) (*falcon.Token, error) {
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

func changedFields(u falcon.TokenUpdate) string {
	var fields []string
	if u.Label != nil {
		fields = append(fields, "label")
	}
	if u.Expiry != nil {
		fields = append(fields, "expiry")
	}
	return joinOr(fields, "nothing")
}

// renew rotates or extends a token whose renewal time came, and rotates on request.
func (r *InstallationTokenReconciler) renew(ctx context.Context, s *tokenScope) error {
	st := &s.fit.Status
	if s.token == nil || st.PendingCreate != nil || s.token.Status != falconv1alpha1.TokenStatusValid {
		return nil
	}
	if value, ok := rotationRequested(s.fit); ok {
		st.LastRotateRequest = value
		return r.startCreate(ctx, s, falconv1alpha1.CreateRotate)
	}
	due := renewalTime(s.token.ExpiresAt, &s.fit.Spec)
	if due == nil || s.now.Before(*due) {
		return nil
	}
	if s.fit.Spec.Renewal.Strategy != falconv1alpha1.RenewalExtend {
		return r.startCreate(ctx, s, falconv1alpha1.CreateRotate)
	}
	expiry := wantedExpiry(s.now, &s.fit.Spec)
	if _, err := r.update(ctx, s, falcon.TokenUpdate{Expiry: &falcon.Expiry{At: expiry}}); err != nil {
		return err
	}
	st.ValidSince = &metav1.Time{Time: s.now}
	r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventExtended, "Extend", "Extended token %s to expire at %s", s.token.ID, expiry.Format("2006-01-02T15:04:05Z"))
	return nil
}

// retireOldTokens revokes rotated-out tokens whose grace period is over. Their grace period
// only starts once the Secret holds the successor.
func (r *InstallationTokenReconciler) retireOldTokens(ctx context.Context, s *tokenScope) error {
	st := &s.fit.Status
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
	if _, err := s.api.UpdateTokens(ctx, due, falcon.TokenUpdate{Revoked: ptrTo(true)}); err != nil && !falcon.IsNotFound(err) {
		return err
	}
	st.RetiringTokens = keep
	for _, id := range due {
		r.values.forget(id)
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventRevoked, "Revoke", "Revoked rotated-out token %s after its grace period", id)
	}
	return nil
}

// recordIntent writes the status, pending create included, before the create call. The write
// fails if the resource changed since it was read, so a reconcile working from a stale cache
// cannot start a second create.
func (r *InstallationTokenReconciler) recordIntent(ctx context.Context, s *tokenScope) error {
	patch := client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{})
	if err := r.Status().Patch(ctx, s.fit, patch); err != nil {
		return fmt.Errorf("record create intent: %w", err)
	}
	r.fence.wrote(s.fit)
	s.base = s.fit.DeepCopy()
	return nil
}

// valueMemory remembers token values this process read from Falcon, so an edited Secret is
// recognised and restored without another API call. The manager's Secret cache holds the same
// values, so this adds no exposure.
type valueMemory struct {
	mu     sync.Mutex
	values map[string]string
}

func (m *valueMemory) get(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[id]
}

func (m *valueMemory) set(id, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = map[string]string{}
	}
	m.values[id] = value
}

func (m *valueMemory) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.values, id)
}
