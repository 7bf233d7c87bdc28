package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// reconcileDelete cleans up as the deletion policy says, then releases the finalizer. Orphan
// makes no API call and keeps the Secrets, which is also the way out when the credentials are
// gone for good. When they are gone because their namespace is being deleted, the last
// credentials that worked are used; if there are none, the finalizer is released with a Warning
// naming the tokens left behind, so that deleting a namespace never hangs.
func (r *TokenReconciler) reconcileDelete(ctx context.Context, sc *scope) (ctrl.Result, error) {
	s, err := r.newScope(sc)
	if err != nil {
		return ctrl.Result{}, err
	}
	policy := deletionPolicy(s.res)
	sc.verdict = progressing(falconv1alpha1.ReasonDeleting, fmt.Sprintf(
		"cleaning up the Falcon token as deletionPolicy %s says; set deletionPolicy: Orphan to skip the cleanup", policy))
	if policy == falconv1alpha1.TokenDeletionOrphan {
		if err := r.orphanCopies(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	} else if err := r.cleanUpTokens(ctx, s, policy); err != nil {
		terminating, err := r.abandonable(ctx, sc, err, r.kind.credentialsRef(s.res).Namespace)
		if err != nil {
			return ctrl.Result{}, err
		}
		// The namespace takes no new events while it is deleted: the Warning is recorded on the
		// namespace itself, which keeps it in the default namespace.
		message := fmt.Sprintf("No credentials left to clean up %s %s while namespace %s is deleted: "+
			"token(s) %s left as they are in Falcon; revoke them in the console",
			r.kind.name(), client.ObjectKeyFromObject(s.res), terminating.Name, orDefault(strings.Join(s.tokenIDs(), ", "), "none recorded"))
		log.FromContext(ctx).Info(message)
		r.event(terminating, corev1.EventTypeWarning, falconv1alpha1.EventTokensLeftBehind, "Delete", "%s", message)
	}
	if err := r.release(ctx, sc); err != nil {
		return ctrl.Result{}, err
	}
	tokenExpiry.forget(s.res)
	for _, id := range s.tokenIDs() {
		r.values.forget(id)
	}
	return ctrl.Result{}, nil
}

// cleanUpTokens revokes or deletes the resource's tokens, including one a lost create reply may
// have made. Only tokens whose label carries this resource's marker exactly are looked up.
func (r *TokenReconciler) cleanUpTokens(ctx context.Context, s *tokenScope, policy falconv1alpha1.TokenDeletionPolicy) error {
	api, err := r.connectForCleanup(ctx, r.kind.credentialsRef(s.res), s.res.GetFalconAPI().Cloud)
	if err != nil {
		return err
	}
	ids := s.tokenIDs()
	if s.intent != nil {
		found, err := api.FindTokensByMarker(ctx, s.intent.Marker)
		if err != nil {
			return err
		}
		for _, t := range found {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if policy == falconv1alpha1.TokenDeletionDelete {
		if err := api.DeleteTokens(ctx, ids); err != nil && !falcon.IsNotFound(err) {
			return err
		}
		r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventDeleted, "Delete", "Deleted token %s from Falcon", strings.Join(ids, ", "))
		return nil
	}
	if _, err := api.UpdateTokens(ctx, ids, falcon.TokenUpdate{Revoked: ptr.To(true)}); err != nil && !falcon.IsNotFound(err) {
		return err
	}
	r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventRevoked, "Revoke", "Revoked token %s because the resource is deleted", strings.Join(ids, ", "))
	return nil
}

// orphanCopies removes this resource's ownership from its Secrets, so that the garbage
// collector keeps them, and leaves the token valid in Falcon.
func (r *TokenReconciler) orphanCopies(ctx context.Context, s *tokenScope) error {
	owned, err := r.ownedSecrets(ctx, s.res)
	if err != nil {
		return err
	}
	var kept []string
	for i := range owned {
		secret := &owned[i]
		refs := secret.OwnerReferences[:0:0]
		for _, ref := range secret.OwnerReferences {
			if ref.UID != s.res.GetUID() {
				refs = append(refs, ref)
			}
		}
		secret.OwnerReferences = refs
		if err := client.IgnoreNotFound(r.client.Update(ctx, secret)); err != nil {
			return err
		}
		kept = append(kept, secret.Namespace+"/"+secret.Name)
	}
	r.event(s.res, corev1.EventTypeNormal, falconv1alpha1.EventOrphaned, "Delete",
		"deletionPolicy Orphan: token %s left valid in Falcon, Secret(s) %s kept",
		orDefault(s.res.GetTokenStatus().TokenID, "none"), orDefault(strings.Join(kept, ", "), "none"))
	return nil
}

// deletionPolicy is the policy to apply: as set, else Revoke for a token the operator created
// and Orphan for an adopted one, which is revoked or deleted only when the resource says so.
func deletionPolicy(res tokenResource) falconv1alpha1.TokenDeletionPolicy {
	if policy := res.GetTokenParameters().DeletionPolicy; policy != "" {
		return policy
	}
	if res.GetTokenStatus().Adopted {
		return falconv1alpha1.TokenDeletionOrphan
	}
	return falconv1alpha1.TokenDeletionRevoke
}

// tokenIDs are the Falcon tokens this resource holds: the current one and those being retired.
func (s *tokenScope) tokenIDs() []string { return heldTokenIDs(s.res) }
