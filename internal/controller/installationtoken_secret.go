package controller

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// loadSecret reads the Secret the token is published in, or reports a SecretConflict when a
// Secret of that name belongs to someone else. It runs before any token is created, so that a
// token is never minted that cannot be published.
func (r *InstallationTokenReconciler) loadSecret(ctx context.Context, s *tokenScope) error {
	key := types.NamespacedName{Namespace: s.fit.Namespace, Name: secretName(s.fit)}
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		// The cache holds only Secrets with the operator's label: look behind it for a Secret
		// of the same name without it, ours stripped of its label or someone else's.
		err = r.apiReader.Get(ctx, key, secret)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case !metav1.IsControlledBy(secret, s.fit):
		return &blockedError{reason: falconv1alpha1.ReasonSecretConflict, message: fmt.Sprintf(
			"Secret %s exists and is not owned by this FalconInstallationToken: delete it, or set spec.secret.name to another name", key.Name)}
	}
	s.secret = secret
	return nil
}

// publishSecret makes the Secret hold the current token and the CID, restoring it from Falcon
// when it was deleted or edited.
func (r *InstallationTokenReconciler) publishSecret(ctx context.Context, s *tokenScope) error {
	st := &s.fit.Status
	if st.TokenID == "" {
		return nil
	}
	value := s.knownValue(r.values)
	if value == "" {
		r.awaitPrimed(ctx)
		value = s.knownValue(r.values) // read by the drift check's first pass, with all the others
	}
	if value == "" {
		if err := r.observe(ctx, s); err != nil {
			return err
		}
		if s.token == nil {
			return nil // deleted in Falcon since the last look: replaced on the next reconcile
		}
		value = s.token.Value
	}
	cid := ""
	if cidKey(s.fit) != "" {
		var err error
		if cid, err = s.api.CCID(ctx); err != nil {
			return err
		}
	}
	want := r.desiredSecret(s.fit, value, cid)
	switch {
	case s.secret == nil:
		if err := controllerutil.SetControllerReference(s.fit, want, r.Scheme()); err != nil {
			return err
		}
		if err := r.Create(ctx, want); err != nil {
			return err
		}
		if st.SecretName == want.Name && st.ObservedGeneration > 0 {
			r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventSecretRestored, "Restore", "Secret %s was deleted: restored with token %s", want.Name, st.TokenID)
		}
	case !secretMatches(s.secret, want):
		restored := s.secret.Annotations[falconv1alpha1.TokenIDAnnotation] == st.TokenID
		updated := s.secret.DeepCopy()
		updated.Labels = mergeMaps(updated.Labels, want.Labels)
		updated.Annotations = mergeMaps(updated.Annotations, want.Annotations)
		updated.Data = want.Data
		updated.StringData = nil
		updated.Type = want.Type
		if err := r.Update(ctx, updated); err != nil {
			return err
		}
		if restored {
			r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventSecretRestored, "Restore", "Secret %s was edited: restored with token %s", want.Name, st.TokenID)
		}
	}
	if st.SecretName != "" && st.SecretName != want.Name {
		if err := r.deleteOwnedSecret(ctx, s.fit, st.SecretName); err != nil {
			return err
		}
	}
	st.SecretName = want.Name
	// The successor is published: old tokens' grace periods start now.
	for i := range st.RetiringTokens {
		if st.RetiringTokens[i].RevokeAt == nil {
			st.RetiringTokens[i].RevokeAt = &metav1.Time{Time: s.now.Add(gracePeriod(&s.fit.Spec))}
		}
	}
	return nil
}

// knownValue is the current token's value when this reconcile or an earlier one of this process
// read it from Falcon, else "" (the caller reads it). The Secret's own value is never taken for
// it: a Secret edited while no manager ran still names the current token, and no periodic read
// of the resource's own would correct it later (the drift check compares tokens, not Secrets).
func (s *tokenScope) knownValue(values *valueMemory) string {
	if s.token != nil && s.token.ID == s.fit.Status.TokenID {
		return s.token.Value
	}
	return values.get(s.fit.Status.TokenID)
}

// desiredSecret is the Secret publishing value and cid as the spec shapes it.
func (r *InstallationTokenReconciler) desiredSecret(fit *falconv1alpha1.FalconInstallationToken, value, cid string) *corev1.Secret {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        secretName(fit),
			Namespace:   fit.Namespace,
			Labels:      mergeMaps(maps.Clone(fit.Spec.Secret.Labels), map[string]string{falconv1alpha1.ManagedByLabel: falconv1alpha1.ManagedByValue}),
			Annotations: mergeMaps(maps.Clone(fit.Spec.Secret.Annotations), map[string]string{falconv1alpha1.TokenIDAnnotation: fit.Status.TokenID, falconv1alpha1.RevisionAnnotation: strconv.FormatInt(fit.Status.Revision, 10)}),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{tokenKey(fit): []byte(value)},
	}
	if key := cidKey(fit); key != "" {
		secret.Data[key] = []byte(cid)
	}
	return secret
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

func (r *InstallationTokenReconciler) deleteOwnedSecret(ctx context.Context, fit *falconv1alpha1.FalconInstallationToken, name string) error {
	old := &corev1.Secret{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: fit.Namespace, Name: name}, old); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(old, fit) {
		return nil
	}
	return client.IgnoreNotFound(r.Delete(ctx, old, client.Preconditions{UID: &old.UID}))
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
