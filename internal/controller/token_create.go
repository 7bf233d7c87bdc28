package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// ensureToken makes sure the resource has a live token: it finishes a create that may have
// reached Falcon, adopts spec.tokenID, creates the first token, or replaces one that was
// deleted, revoked by someone else or expired.
func (r *TokenReconciler) ensureToken(ctx context.Context, s *tokenScope) error {
	st := s.res.GetTokenStatus()
	params := s.res.GetTokenParameters()
	switch {
	case s.intent != nil:
		return r.finishCreate(ctx, s)
	case st.TokenID == "" && params.TokenID != "":
		return r.adopt(ctx, s)
	case st.TokenID == "":
		if params.Revoked || len(s.targets) == 0 {
			return nil // nothing to create while the spec wants it revoked or nothing can be published
		}
		return r.startCreate(ctx, s, falconv1alpha1.CreateFirst)
	}
	if read, err := r.readCurrent(ctx, s); err != nil || !read {
		return err
	}
	if why := replacementReason(s.token, st.RevokedByOperator, params.Revoked, s.now); why != replaceNone {
		s.replaced = why
		err := r.startCreate(ctx, s, falconv1alpha1.CreateReplace)
		if err != nil && why == replaceExpired {
			return &expiredError{cause: err}
		}
		return err
	}
	return nil
}

// readCurrent gets the current token when this reconcile has a reason to look at it: as the
// drift check read it moments ago when it found it changed, or read now when the spec changed, a
// renewal is due or the last attempt failed (observationDue). A snapshot older than this
// resource's own last read is moot, and a stale one is read again. It reports whether it got one.
func (r *TokenReconciler) readCurrent(ctx context.Context, s *tokenScope) (bool, error) {
	snap, drifted := r.snapshots.take(s.res.GetUID(), s.res.GetTokenStatus().TokenID)
	if lastSync := s.res.GetCommonStatus().LastSyncTime; drifted && lastSync != nil && !snap.readAt.After(lastSync.Time) {
		drifted = false
	}
	switch {
	case drifted && s.now.Sub(snap.readAt) < snapshotMaxAge:
		s.token, s.observed, s.snapshot = snap.token, true, &snap
		if s.token != nil {
			r.values.set(s.token.ID, s.token.Value)
		}
		return true, nil
	case drifted || observationDue(s.res, s.now):
		return true, r.observe(ctx, s)
	}
	return false, nil
}

// observe reads the current token from Falcon; s.token stays nil when it no longer exists.
func (r *TokenReconciler) observe(ctx context.Context, s *tokenScope) error {
	id := s.res.GetTokenStatus().TokenID
	tokens, err := s.api.GetTokens(ctx, []string{id})
	if err != nil && !falcon.IsNotFound(err) {
		return err
	}
	s.token = nil
	if i := slices.IndexFunc(tokens, func(t falcon.Token) bool { return t.ID == id }); i >= 0 {
		s.token = &tokens[i]
		r.values.set(id, s.token.Value)
	}
	s.observed = true
	return nil
}

// startCreate checks that the Secret can be published, records the intent to create a token
// on the resource (with the finalizer, in one optimistic update), then creates it. If the
// reply is lost, the next reconcile finds the token by its marker instead of creating another.
func (r *TokenReconciler) startCreate(ctx context.Context, s *tokenScope, reason falconv1alpha1.CreateReason) error {
	if err := r.checkPublishable(ctx, s); err != nil {
		return err
	}
	revision := s.res.GetTokenStatus().Revision + 1
	intent := falconv1alpha1.CreateIntent{
		Revision: revision, Marker: tokenMarker(s.res.GetUID(), revision), StartedAt: metav1.Time{Time: s.now}, Reason: reason,
	}
	raw, err := json.Marshal(intent)
	if err != nil {
		return err
	}
	annotations := s.obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[falconv1alpha1.CreateIntentAnnotation] = string(raw)
	s.obj.SetAnnotations(annotations)
	controllerutil.AddFinalizer(s.obj, falconv1alpha1.Finalizer)
	if err := r.persist(ctx, s.scope); err != nil {
		return fmt.Errorf("record the create intent: %w", err)
	}
	s.intent = &intent
	return r.create(ctx, s)
}

// create calls Falcon for the token of the recorded intent.
func (r *TokenReconciler) create(ctx context.Context, s *tokenScope) error {
	params := s.res.GetTokenParameters()
	label := falcon.MarkLabel(baseLabel(r.kind, s.res, r.clusterName), s.intent.Marker)
	tok, err := s.api.CreateToken(ctx, label, wantedExpiry(s.now, params))
	if falcon.IsConflict(err) {
		return &blockedError{reason: falconv1alpha1.ReasonTokenLimitReached, retryAfter: r.syncPeriod, message: "the Falcon account has as many valid " +
			"installation tokens as its maxActiveTokens setting allows: revoke unused tokens or raise the limit (FalconTokenSettings)"}
	}
	if err != nil {
		return err
	}
	r.makeCurrent(s, tok)
	return nil
}

// finishCreate completes a create recorded earlier: the token is adopted if Falcon has it,
// created otherwise.
func (r *TokenReconciler) finishCreate(ctx context.Context, s *tokenScope) error {
	found, err := s.api.FindTokensByMarker(ctx, s.intent.Marker)
	if err != nil {
		return err
	}
	var valid []falcon.Token
	for _, t := range found {
		if t.Status == falcon.TokenStatusValid {
			valid = append(valid, t)
		}
	}
	if len(valid) == 0 {
		return r.create(ctx, s)
	}
	// One create call can only make one token; should Falcon hold more for one marker, all but
	// the first are revoked so that one live token remains.
	if extra := valid[1:]; len(extra) > 0 {
		ids := make([]string, 0, len(extra))
		for _, t := range extra {
			ids = append(ids, t.ID)
		}
		if _, err := s.api.UpdateTokens(ctx, ids, falcon.TokenUpdate{Revoked: ptr.To(true)}); err != nil && !falcon.IsNotFound(err) {
			return err
		}
		for _, id := range ids {
			r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventDuplicateRevoked, "Revoke",
				"Revoked token %s: a second token carrying this resource's marker", id)
		}
	}
	r.makeCurrent(s, valid[0])
	return nil
}

// makeCurrent makes tok, just created or found by its marker, the current token, completing the
// create intent.
func (r *TokenReconciler) makeCurrent(s *tokenScope, tok falcon.Token) {
	st := s.res.GetTokenStatus()
	intent := s.intent
	if intent.Reason == falconv1alpha1.CreateRotate && st.TokenID != "" && st.TokenID != tok.ID &&
		!slices.ContainsFunc(st.RetiringTokens, func(t falconv1alpha1.RetiringToken) bool { return t.TokenID == st.TokenID }) {
		st.RetiringTokens = append(st.RetiringTokens, falconv1alpha1.RetiringToken{TokenID: st.TokenID})
	}
	st.TokenID, st.Revision = tok.ID, intent.Revision
	st.RevokedByOperator, st.Adopted = false, false
	st.ValidSince = &metav1.Time{Time: validSince(tok, s.res.GetTokenParameters(), s.now)}
	s.token, s.observed, s.intent = &tok, true, nil
	r.values.set(tok.ID, tok.Value)
	switch intent.Reason {
	case falconv1alpha1.CreateFirst:
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventCreated, "Create", "Created installation token %s", tok.ID)
	case falconv1alpha1.CreateRotate:
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventRotated, "Rotate",
			"Rotated to token %s (revision %d); the previous token is revoked %s after the Secret is updated",
			tok.ID, intent.Revision, gracePeriod(s.res.GetTokenParameters()))
	case falconv1alpha1.CreateReplace:
		r.event(s.res, corev1.EventTypeWarning, falconv1alpha1.EventReplaced, "Replace", "The previous token was %s: replaced by token %s (revision %d)",
			orDefault(s.replaced, "gone"), tok.ID, intent.Revision)
	}
}

// adopt takes over the existing token named by spec.tokenID, unless another resource manages
// it: then nothing is written to Falcon.
func (r *TokenReconciler) adopt(ctx context.Context, s *tokenScope) error {
	id := s.res.GetTokenParameters().TokenID
	if owner, err := r.tokenHolder(ctx, s.res, id); err != nil || owner != "" {
		if err != nil {
			return err
		}
		return &blockedError{reason: falconv1alpha1.ReasonTokenOwnedElsewhere, retryAfter: r.syncPeriod, message: fmt.Sprintf(
			"token %s named by spec.tokenID is managed by %s: two resources cannot manage one token", id, owner)}
	}
	tokens, err := s.api.GetTokens(ctx, []string{id})
	if err != nil && !falcon.IsNotFound(err) {
		return err
	}
	i := slices.IndexFunc(tokens, func(t falcon.Token) bool { return t.ID == id })
	if i < 0 {
		return &blockedError{reason: falconv1alpha1.ReasonTokenNotFound, retryAfter: r.syncPeriod, message: fmt.Sprintf(
			"token %s named by spec.tokenID does not exist in this Falcon account: check the ID and the credentials' CID", id)}
	}
	if marker, ok := labelMarker(tokens[i].Label); ok && marker != tokenMarker(s.res.GetUID(), 1) {
		return &blockedError{reason: falconv1alpha1.ReasonTokenOwnedElsewhere, retryAfter: r.syncPeriod, message: fmt.Sprintf(
			"token %s named by spec.tokenID carries the marker [%s] of another resource, maybe in another cluster sharing this CID: "+
				"if no resource manages it any more, remove the marker from its label in the Falcon console", id, marker)}
	}
	if err := r.ensureFinalizer(ctx, s.scope); err != nil {
		return err
	}
	st := s.res.GetTokenStatus()
	st.TokenID, st.Revision, st.Adopted = id, 1, true
	st.ValidSince = &metav1.Time{Time: s.now}
	s.token, s.observed = &tokens[i], true
	r.values.set(id, tokens[i].Value)
	r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventAdopted, "Adopt", "Adopted existing installation token %s", id)
	return nil
}

// pendingIntent is the create intent recorded on the resource, when its create is not finished:
// status.revision has not reached the intent's revision.
func pendingIntent(res tokenResource) (*falconv1alpha1.CreateIntent, error) {
	raw, ok := res.GetAnnotations()[falconv1alpha1.CreateIntentAnnotation]
	if !ok {
		return nil, nil
	}
	intent := &falconv1alpha1.CreateIntent{}
	if err := json.Unmarshal([]byte(raw), intent); err != nil || intent.Marker == "" {
		return nil, &blockedError{reason: falconv1alpha1.ReasonKubernetesInvalid, message: fmt.Sprintf(
			"the annotation %s was not written by the operator: remove it", falconv1alpha1.CreateIntentAnnotation)}
	}
	if intent.Revision <= res.GetTokenStatus().Revision {
		return nil, nil
	}
	return intent, nil
}

// validSince is when the validity period of a token just created or found began: its expiry
// minus the lifetime it was created with, so that the expiry the spec wants is the one it has.
func validSince(tok falcon.Token, params *falconv1alpha1.TokenParameters, now time.Time) time.Time {
	if tok.ExpiresAt != nil && params.ExpiresAfter != nil {
		return tok.ExpiresAt.Add(-params.ExpiresAfter.Duration)
	}
	return now
}
