package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// InstallationTokenReconciler keeps one live Falcon installation token per
// FalconInstallationToken and publishes it in a Secret.
type InstallationTokenReconciler struct {
	client.Client
	Options
	apiReader   client.Reader
	credentials *credentialSource
	recorder    events.EventRecorder
	values      *valueMemory
	snapshots   *snapshots  // tokens the drift check found changed, for the reconciles it queues
	fence       *cacheFence // keeps reconciles from acting on a copy older than our own writes
	// primed is closed once the drift check's first pass has read every token (and its value).
	primed <-chan struct{}
}

// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falconinstallationtokens,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falconinstallationtokens/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falconinstallationtokens/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// tokenAPI is all of Falcon a FalconInstallationToken needs.
type tokenAPI interface {
	Cloud() string
	CCID(ctx context.Context) (string, error)
	CreateToken(ctx context.Context, label string, expiresAt *time.Time) (falcon.Token, error)
	GetTokens(ctx context.Context, ids []string) ([]falcon.Token, error)
	FindTokensByMarker(ctx context.Context, marker string) ([]falcon.Token, error)
	UpdateTokens(ctx context.Context, ids []string, u falcon.TokenUpdate) ([]falcon.Token, error)
	DeleteTokens(ctx context.Context, ids []string) error
}

// tokenScope is what one reconcile read and decided.
type tokenScope struct {
	fit      *falconv1alpha1.FalconInstallationToken
	base     *falconv1alpha1.FalconInstallationToken // as last written, for the status patch
	now      time.Time
	api      tokenAPI
	token    *falcon.Token  // the current token as Falcon returned it this reconcile
	observed bool           // Falcon was read (or written) this reconcile
	secret   *corev1.Secret // the published Secret, when it exists
	replaced string         // why the previous token is being replaced
	snapshot *snapshot      // the drift check's read this reconcile acted on, instead of a read of its own
	released bool           // the finalizer is gone: there is no status left to write
}

// Reconcile loads the resource, makes sure of the finalizer, runs the phases and writes status once.
func (r *InstallationTokenReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	fit := &falconv1alpha1.FalconInstallationToken{}
	if err := r.fence.get(ctx, r.Client, req.NamespacedName, fit); err != nil {
		if errors.Is(err, errCacheBehind) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if fit.DeletionTimestamp.IsZero() && controllerutil.AddFinalizer(fit, falconv1alpha1.Finalizer) {
		if err := r.Update(ctx, fit); err != nil {
			return ctrl.Result{}, err
		}
		r.fence.wrote(fit)
	}
	s := &tokenScope{fit: fit, base: fit.DeepCopy(), now: r.Clock.Now()}
	var result ctrl.Result
	var err error
	if fit.DeletionTimestamp.IsZero() {
		result, err = r.reconcileNormal(ctx, s)
	} else {
		result, err = r.reconcileDelete(ctx, s)
	}
	return r.writeStatus(ctx, s, result, err)
}

func (r *InstallationTokenReconciler) reconcileNormal(ctx context.Context, s *tokenScope) (ctrl.Result, error) {
	api, err := r.credentials.client(ctx, credentialsRef(s.fit), s.fit.Spec.FalconAPI.Cloud)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.api = api
	for _, phase := range []func(context.Context, *tokenScope) error{
		r.loadSecret, r.ensureToken, r.applySpec, r.renew, r.publishSecret, r.retireOldTokens,
	} {
		if err := phase(ctx, s); err != nil {
			r.credentials.rejectIfRefused(credentialsRef(s.fit), err)
			if s.snapshot != nil {
				r.snapshots.put(s.fit.UID, *s.snapshot) // the retry acts on it too
			}
			return ctrl.Result{}, err
		}
	}
	r.recordObservation(s)
	return ctrl.Result{RequeueAfter: r.nextReconcile(s)}, nil
}

// recordObservation copies what was observed into status and sets Ready.
func (r *InstallationTokenReconciler) recordObservation(s *tokenScope) {
	st := &s.fit.Status
	st.Cloud = s.api.Cloud()
	if s.observed {
		st.LastSyncTime = &metav1.Time{Time: s.now}
	}
	if tok := s.token; tok != nil {
		st.TokenStatus, st.Label = tok.Status, tok.Label
		st.CreatedAt = optionalTime(&tok.CreatedAt)
		st.ExpiresAt = optionalTime(tok.ExpiresAt)
		st.LastUsedAt = optionalTime(tok.LastUsedAt)
		st.RenewalTime = optionalTime(renewalTime(tok.ExpiresAt, &s.fit.Spec))
	}
	tokenExpiry.set(s.fit, st.ExpiresAt)
	switch {
	case s.fit.Spec.Revoked:
		setReady(&st.Conditions, s.fit.Generation, metav1.ConditionFalse, falconv1alpha1.ReasonTokenRevoked,
			"the token is revoked because spec.revoked is true: set it to false to restore it")
	default:
		setReady(&st.Conditions, s.fit.Generation, metav1.ConditionTrue, falconv1alpha1.ReasonTokenReady,
			fmt.Sprintf("token %s (revision %d) is %s and published in Secret %s", st.TokenID, st.Revision, st.TokenStatus, st.SecretName))
	}
}

// nextReconcile is the next sync, or sooner when a renewal or a revocation is due.
func (r *InstallationTokenReconciler) nextReconcile(s *tokenScope) time.Duration {
	next := withJitter(r.SyncPeriod)
	for _, at := range []*time.Time{timeOf(s.fit.Status.RenewalTime), nextRetirement(s.fit.Status.RetiringTokens)} {
		if at != nil {
			next = min(next, max(at.Sub(s.now), time.Second))
		}
	}
	return next
}

// reconcileDelete cleans up as deletionPolicy says, then releases the finalizer. An Orphan
// policy makes no API call, which is the way out when the credentials are gone for good.
func (r *InstallationTokenReconciler) reconcileDelete(ctx context.Context, s *tokenScope) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(s.fit, falconv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	policy := s.fit.Spec.DeletionPolicy
	setReady(&s.fit.Status.Conditions, s.fit.Generation, metav1.ConditionFalse, falconv1alpha1.ReasonDeleting,
		fmt.Sprintf("cleaning up the Falcon token as deletionPolicy %s says; set deletionPolicy: Orphan to skip the cleanup", orDefault(string(policy), "Revoke")))
	if policy != falconv1alpha1.TokenDeletionOrphan {
		if err := r.cleanUpTokens(ctx, s, policy); err != nil {
			r.credentials.rejectIfRefused(credentialsRef(s.fit), err)
			return ctrl.Result{}, withOrphanHint(err)
		}
	}
	controllerutil.RemoveFinalizer(s.fit, falconv1alpha1.Finalizer)
	if err := r.Update(ctx, s.fit); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s.released = true
	r.fence.forget(s.fit.UID)
	tokenExpiry.forget(s.fit)
	for _, id := range s.tokenIDs() {
		r.values.forget(id)
	}
	return ctrl.Result{}, nil
}

func (r *InstallationTokenReconciler) cleanUpTokens(ctx context.Context, s *tokenScope, policy falconv1alpha1.TokenDeletionPolicy) error {
	api, err := r.credentials.client(ctx, credentialsRef(s.fit), s.fit.Spec.FalconAPI.Cloud)
	if err != nil {
		return err
	}
	s.api = api
	ids := s.tokenIDs()
	if pending := s.fit.Status.PendingCreate; pending != nil {
		// A create may have reached Falcon without its reply: clean that token up too.
		found, err := api.FindTokensByMarker(ctx, pending.Marker)
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
		r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventDeleted, "Delete", "Deleted token %s from Falcon", strings.Join(ids, ", "))
		return nil
	}
	if _, err := api.UpdateTokens(ctx, ids, falcon.TokenUpdate{Revoked: ptrTo(true)}); err != nil && !falcon.IsNotFound(err) {
		return err
	}
	r.event(s.fit, corev1.EventTypeNormal, falconv1alpha1.EventRevoked, "Revoke", "Revoked token %s because the resource is deleted", strings.Join(ids, ", "))
	return nil
}

func credentialsRef(fit *falconv1alpha1.FalconInstallationToken) types.NamespacedName {
	return types.NamespacedName{Namespace: fit.Namespace, Name: fit.Spec.FalconAPI.CredentialsSecretRef.Name}
}

// tokenIDs are the Falcon tokens this resource holds: the current one and those being retired.
func (s *tokenScope) tokenIDs() []string {
	var ids []string
	if s.fit.Status.TokenID != "" {
		ids = append(ids, s.fit.Status.TokenID)
	}
	for _, t := range s.fit.Status.RetiringTokens {
		ids = append(ids, t.TokenID)
	}
	return ids
}

// withOrphanHint adds the way out to a cleanup that cannot run.
func withOrphanHint(err error) error {
	if blocked, ok := err.(*blockedError); ok {
		return &blockedError{reason: blocked.reason, retryAfter: blocked.retryAfter,
			message: blocked.message + "; or set spec.deletionPolicy: Orphan to delete without cleaning up the Falcon token"}
	}
	return err
}

// writeStatus records the reconcile's result and patches status once.
func (r *InstallationTokenReconciler) writeStatus(ctx context.Context, s *tokenScope, result ctrl.Result, err error) (ctrl.Result, error) {
	if s.released {
		return result, nil
	}
	if apierrors.IsConflict(err) {
		// Someone changed the resource since it was read (the create intent is written with
		// optimistic locking): nothing was done; start over from the newer copy.
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	st := &s.fit.Status
	result = conclude(ctx, r.recorder, s.fit, sharedStatus{
		conditions: &st.Conditions, failedAttempts: &st.FailedAttempts, lastFailureTime: &st.LastFailureTime, observedGeneration: &st.ObservedGeneration,
	}, s.now, r.SyncPeriod, result, err)
	patch := client.MergeFrom(s.base)
	if data, dataErr := patch.Data(s.fit); dataErr == nil && string(data) == "{}" {
		return result, nil // nothing changed: no write
	}
	if patchErr := r.Status().Patch(ctx, s.fit, patch); patchErr != nil {
		return ctrl.Result{}, client.IgnoreNotFound(patchErr)
	}
	r.fence.wrote(s.fit)
	return result, nil
}

// conflictRetry is the wait before a reconcile that lost a write race starts over.
const conflictRetry = 200 * time.Millisecond

func (r *InstallationTokenReconciler) event(obj runtime.Object, eventType, reason, action, note string, args ...any) {
	r.recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
}

func optionalTime(t *time.Time) *metav1.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	return &metav1.Time{Time: *t}
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func joinOr(parts []string, empty string) string {
	if len(parts) == 0 {
		return empty
	}
	return strings.Join(parts, " and ")
}
