package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// secretOwnerIndex indexes the cached Secrets by the UID of the resource that controls them.
const secretOwnerIndex = "metadata.ownerReferences.controller"

// loadPublication reads where the Secret goes and the copies this resource owns.
func (r *TokenReconciler) loadPublication(ctx context.Context, s *tokenScope) error {
	targets, refused, err := r.kind.targets(ctx, s.res)
	if err != nil {
		return err
	}
	s.targets, s.refused = targets, refused
	owned, err := r.ownedSecrets(ctx, s.res)
	if err != nil {
		return err
	}
	s.copies = make(map[types.NamespacedName]*corev1.Secret, len(owned))
	for i := range owned {
		s.copies[client.ObjectKeyFromObject(&owned[i])] = &owned[i]
	}
	return nil
}

// ownedSecrets are the Secrets the resource controls, from the cache.
func (r *TokenReconciler) ownedSecrets(ctx context.Context, res tokenResource) ([]corev1.Secret, error) {
	owned := &corev1.SecretList{}
	err := r.client.List(ctx, owned, client.MatchingFields{secretOwnerIndex: string(res.GetUID())})
	return owned.Items, err
}

// checkPublishable makes sure, before a token is minted, that its Secret can be written: a
// server-side dry-run create in every target namespace without a copy. A Secret of that name
// that is not this resource's, or one the API server refuses, stops the create (for a
// namespaced resource) or leaves that namespace out (for a cluster-scoped one).
func (r *TokenReconciler) checkPublishable(ctx context.Context, s *tokenScope) error {
	var writable []types.NamespacedName
	for _, target := range s.targets {
		if _, ok := s.copies[target]; ok {
			writable = append(writable, target)
			continue
		}
		want := r.desiredSecret(s.res, target, "", "")
		if err := controllerutil.SetControllerReference(s.res, want, r.client.Scheme()); err != nil {
			return err
		}
		err := r.client.Create(ctx, want, client.DryRunAll)
		if apierrors.IsAlreadyExists(err) {
			err = r.conflictOf(ctx, s.res, target)
		}
		if err != nil {
			if refusal, ok := r.refuse(s, target, err); ok {
				s.refused = append(s.refused, refusal)
				continue
			}
			return err
		}
		writable = append(writable, target)
	}
	s.targets = writable
	if blocking := blockingRefusals(s.refused); len(writable) == 0 && len(blocking) > 0 {
		r.kind.recordPublication(s.res, nil, s.refused)
		return &blockedError{reason: blocking[0].Reason, retryAfter: r.syncPeriod, message: refusalMessage(secretName(s.res), blocking)}
	}
	return nil
}

// blockingRefusals are the refusals a person must act on: a namespace that does not exist yet
// is not one.
func blockingRefusals(refused []falconv1alpha1.NamespaceRefusal) []falconv1alpha1.NamespaceRefusal {
	var blocking []falconv1alpha1.NamespaceRefusal
	for _, refusal := range refused {
		if refusal.Reason != falconv1alpha1.ReasonNamespaceNotFound {
			blocking = append(blocking, refusal)
		}
	}
	return blocking
}

// refusalMessage names the namespaces a Secret is not published in, and why.
func refusalMessage(name string, blocking []falconv1alpha1.NamespaceRefusal) string {
	parts := make([]string, 0, len(blocking))
	for _, refusal := range blocking {
		parts = append(parts, refusal.Namespace+" ("+refusal.Reason+")")
	}
	return fmt.Sprintf("the Secret %s is not published in %s: see status.refusedNamespaces", name, strings.Join(parts, ", "))
}

// conflictOf reports a Secret at target that this resource does not control; nil when it does
// (a copy that lost the operator's label and so is not in the cache).
func (r *TokenReconciler) conflictOf(ctx context.Context, res tokenResource, target types.NamespacedName) error {
	existing := &corev1.Secret{}
	if err := r.apiReader.Get(ctx, target, existing); err != nil {
		return client.IgnoreNotFound(err)
	}
	if metav1.IsControlledBy(existing, res) {
		return nil
	}
	return &blockedError{reason: falconv1alpha1.ReasonSecretConflict, retryAfter: r.syncPeriod, message: fmt.Sprintf(
		"Secret %s exists in namespace %s and is not owned by this %s: delete it, or set spec.secret.name to another name",
		target.Name, target.Namespace, r.kind.name())}
}

// refuse turns a failure to write target into a per-namespace refusal, for the kinds that
// publish into many namespaces; ok is false when the failure stops the reconcile.
func (r *TokenReconciler) refuse(s *tokenScope, target types.NamespacedName, err error) (falconv1alpha1.NamespaceRefusal, bool) {
	if _, many := r.kind.(clusterTokens); !many {
		return falconv1alpha1.NamespaceRefusal{}, false
	}
	o := classify(err, s.now, 0, r.syncPeriod)
	if !o.stalled {
		return falconv1alpha1.NamespaceRefusal{}, false
	}
	return falconv1alpha1.NamespaceRefusal{Namespace: target.Namespace, Reason: o.reason, Message: r.redact(o.message)}, true
}

// publish makes every target Secret hold the current token and the CID, restoring copies that
// were deleted or edited, and removes the copies no longer wanted.
func (r *TokenReconciler) publish(ctx context.Context, s *tokenScope) error {
	st := s.res.GetTokenStatus()
	if st.TokenID == "" {
		return nil
	}
	value, err := r.currentValue(ctx, s)
	if err != nil || value == "" {
		return err // "": deleted in Falcon since the last look, replaced on the next reconcile
	}
	cid := ""
	if cidKey(s.res) != "" {
		if cid, err = s.api.CCID(ctx); err != nil {
			return err
		}
	}
	previously := r.kind.publishedNamespaces(s.res)
	for _, target := range s.targets {
		want := r.desiredSecret(s.res, target, value, cid)
		if err := r.writeSecret(ctx, s, s.copies[target], want, slices.Contains(previously, target.Namespace)); err != nil {
			if refusal, ok := r.refuse(s, target, err); ok {
				s.refused = append(s.refused, refusal)
				continue
			}
			return err
		}
		s.published = append(s.published, target.Namespace)
	}
	if err := r.removeStaleCopies(ctx, s); err != nil {
		return err
	}
	st.SecretName = secretName(s.res)
	r.kind.recordPublication(s.res, s.published, s.refused)
	// The successor is published: old tokens' grace periods start now.
	for i := range st.RetiringTokens {
		if st.RetiringTokens[i].RevokeAt == nil {
			st.RetiringTokens[i].RevokeAt = &metav1.Time{Time: s.now.Add(gracePeriod(s.res.GetTokenParameters()))}
		}
	}
	return nil
}

// currentValue is the current token's value: read this reconcile, remembered from an earlier
// read of this process, read by the drift check's first pass after a restart, or read now. The
// Secret's own value is never taken for it: a Secret edited while no manager ran still names
// the current token, and nothing would correct it later.
func (r *TokenReconciler) currentValue(ctx context.Context, s *tokenScope) (string, error) {
	id := s.res.GetTokenStatus().TokenID
	if s.token != nil && s.token.ID == id {
		return s.token.Value, nil
	}
	if value := r.values.get(id); value != "" {
		return value, nil
	}
	r.awaitPrimed(ctx)
	if value := r.values.get(id); value != "" {
		return value, nil
	}
	if err := r.observe(ctx, s); err != nil || s.token == nil {
		return "", err
	}
	return s.token.Value, nil
}

// writeSecret creates or corrects one copy. restoring says the namespace held a copy before,
// so that a missing one was deleted by someone.
func (r *TokenReconciler) writeSecret(ctx context.Context, s *tokenScope, existing, want *corev1.Secret, restoring bool) error {
	st := s.res.GetTokenStatus()
	if existing == nil {
		if err := controllerutil.SetControllerReference(s.res, want, r.client.Scheme()); err != nil {
			return err
		}
		err := r.client.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) {
			// Not in the cache: someone else's, or ours without the operator's label.
			if err := r.conflictOf(ctx, s.res, client.ObjectKeyFromObject(want)); err != nil {
				return err
			}
			existing = &corev1.Secret{}
			if err := r.apiReader.Get(ctx, client.ObjectKeyFromObject(want), existing); err != nil {
				return err
			}
			return r.writeSecret(ctx, s, existing, want, restoring)
		}
		if err != nil {
			return err
		}
		if restoring && s.res.GetCommonStatus().ObservedGeneration > 0 {
			r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventSecretRestored, "Restore",
				"Secret %s/%s was deleted: restored with token %s", want.Namespace, want.Name, st.TokenID)
		}
		return nil
	}
	if secretMatches(existing, want) {
		return nil
	}
	edited := existing.Annotations[falconv1alpha1.TokenIDAnnotation] == st.TokenID
	updated := existing.DeepCopy()
	updated.Labels = mergeMaps(updated.Labels, want.Labels)
	updated.Annotations = mergeMaps(updated.Annotations, want.Annotations)
	updated.Data, updated.StringData, updated.Type = want.Data, nil, want.Type
	if err := r.client.Update(ctx, updated); err != nil {
		return err
	}
	if edited {
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventSecretRestored, "Restore",
			"Secret %s/%s was edited: restored with token %s", want.Namespace, want.Name, st.TokenID)
	}
	return nil
}

// removeStaleCopies deletes the copies of namespaces (or names) no longer targeted.
func (r *TokenReconciler) removeStaleCopies(ctx context.Context, s *tokenScope) error {
	for key, secret := range s.copies {
		if slices.Contains(s.targets, key) {
			continue
		}
		if err := client.IgnoreNotFound(r.client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID})); err != nil {
			return err
		}
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventSecretRemoved, "Delete",
			"Removed Secret %s/%s: no longer selected by the spec", key.Namespace, key.Name)
	}
	return nil
}

// desiredSecret is the Secret publishing value and cid at target as the spec shapes it.
func (r *TokenReconciler) desiredSecret(res tokenResource, target types.NamespacedName, value, cid string) *corev1.Secret {
	template := res.GetSecretTemplate()
	st := res.GetTokenStatus()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      target.Name,
			Namespace: target.Namespace,
			Labels:    mergeMaps(labelsOf(template), map[string]string{falconv1alpha1.ManagedByLabel: falconv1alpha1.ManagedByValue}),
			Annotations: mergeMaps(maps.Clone(template.Annotations), map[string]string{
				falconv1alpha1.TokenIDAnnotation: st.TokenID, falconv1alpha1.RevisionAnnotation: strconv.FormatInt(st.Revision, 10)}),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{tokenKey(res): []byte(value)},
	}
	if key := cidKey(res); key != "" {
		secret.Data[key] = []byte(cid)
	}
	return secret
}

// labelsOf are the template's labels as plain strings.
func labelsOf(template *falconv1alpha1.SecretTemplate) map[string]string {
	out := make(map[string]string, len(template.Labels)+1)
	for k, v := range template.Labels {
		out[k] = string(v)
	}
	return out
}

// secretMatches reports whether existing already publishes what want does. Labels and
// annotations others added are left alone; data must be exactly the configured keys.
func secretMatches(existing, want *corev1.Secret) bool {
	if existing.Type != want.Type || len(existing.Data) != len(want.Data) {
		return false
	}
	for k, v := range want.Data {
		if string(existing.Data[k]) != string(v) {
			return false
		}
	}
	return containsAll(existing.Labels, want.Labels) && containsAll(existing.Annotations, want.Annotations)
}

func mergeMaps(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	maps.Copy(dst, src)
	return dst
}

func containsAll(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
