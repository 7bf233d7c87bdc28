package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// TokenSettingsReconciler keeps a customer account's installation-token settings as a
// FalconTokenSettings declares them.
type TokenSettingsReconciler struct {
	client.Client
	Options
	credentials *credentialSource
	recorder    events.EventRecorder
}

// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falcontokensettings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falcontokensettings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falcontokensettings/finalizers,verbs=update

// settingsAPI is all of Falcon a FalconTokenSettings needs.
type settingsAPI interface {
	Cloud() string
	Identity() (clientID, memberCID string)
	CCID(ctx context.Context) (string, error)
	GetCustomerSettings(ctx context.Context) (falcon.CustomerSettings, error)
	UpdateCustomerSettings(ctx context.Context, s falcon.CustomerSettings) (falcon.CustomerSettings, error)
	CountValidTokens(ctx context.Context) (int, error)
}

// settingsScope is what one reconcile read and decided.
type settingsScope struct {
	fts      *falconv1alpha1.FalconTokenSettings
	base     *falconv1alpha1.FalconTokenSettings // as last written, for the status patch
	api      settingsAPI
	released bool // the finalizer is gone: there is no status left to write
}

// Reconcile loads the resource, makes sure of the finalizer, runs the phases and writes status once.
func (r *TokenSettingsReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	fts := &falconv1alpha1.FalconTokenSettings{}
	if err := r.Get(ctx, req.NamespacedName, fts); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if fts.DeletionTimestamp.IsZero() && controllerutil.AddFinalizer(fts, falconv1alpha1.Finalizer) {
		if err := r.Update(ctx, fts); err != nil {
			return ctrl.Result{}, err
		}
	}
	s := &settingsScope{fts: fts, base: fts.DeepCopy()}
	var err error
	if fts.DeletionTimestamp.IsZero() {
		err = r.reconcileNormal(ctx, s)
	} else {
		err = r.reconcileDelete(ctx, s)
	}
	return r.writeStatus(ctx, s, err)
}

// reconcileNormal identifies the account, makes sure no older resource manages it, reads the
// settings and, under Enforce, writes the managed fields that differ.
func (r *TokenSettingsReconciler) reconcileNormal(ctx context.Context, s *settingsScope) error {
	api, err := r.credentials.client(ctx, settingsCredentialsRef(s.fts), s.fts.Spec.FalconAPI.Cloud)
	if err != nil {
		return err
	}
	s.api = api
	err = r.syncSettings(ctx, s)
	r.credentials.rejectIfRefused(settingsCredentialsRef(s.fts), err)
	return err
}

func (r *TokenSettingsReconciler) syncSettings(ctx context.Context, s *settingsScope) error {
	if err := r.claimAccount(ctx, s); err != nil {
		return err
	}
	observed, err := s.api.GetCustomerSettings(ctx)
	if err != nil {
		return err
	}
	active, err := s.api.CountValidTokens(ctx)
	if err != nil {
		return err
	}
	st := &s.fts.Status
	st.ActiveTokens = ptrTo(int32(active))
	update, diffs := settingsChanges(s.fts.Spec.TokenSettingsValues, observed)
	if s.fts.Spec.ManagementPolicy != falconv1alpha1.ManagementObserve {
		if err := r.recordOriginals(ctx, s, observed, len(diffs) > 0); err != nil {
			return err
		}
	}
	if len(diffs) > 0 {
		if observed, err = r.applySettings(ctx, s, observed, update, diffs); err != nil {
			return err
		}
	}
	st.TokensRequired, st.MaxActiveTokens = nil, nil
	if observed.TokensRequired != nil {
		st.TokensRequired = ptrTo(*observed.TokensRequired)
	}
	if observed.MaxActiveTokens != nil {
		st.MaxActiveTokens = ptrTo(int32(*observed.MaxActiveTokens))
	}
	st.LastSyncTime = &metav1.Time{Time: r.Clock.Now()}
	r.recordReadiness(s, diffs)
	return nil
}

// claimAccount identifies the customer account and refuses to manage it when an older
// FalconTokenSettings already does.
func (r *TokenSettingsReconciler) claimAccount(ctx context.Context, s *settingsScope) error {
	accountID, err := s.api.CCID(ctx)
	if isMissingScope(err) {
		accountID, err = fallbackAccountID(s.api.Identity()), nil
	}
	if err != nil {
		return err
	}
	st := &s.fts.Status
	st.AccountID, st.Cloud = accountID, s.api.Cloud()
	all := &falconv1alpha1.FalconTokenSettingsList{}
	if err := r.List(ctx, all); err != nil {
		return err
	}
	if owner := settingsOwner(s.fts, all.Items, accountID); owner.UID != s.fts.UID {
		return &blockedError{reason: falconv1alpha1.ReasonConflict, retryAfter: r.SyncPeriod, message: fmt.Sprintf(
			"FalconTokenSettings %s already manages customer account %s: this one writes nothing while it exists; delete one of the two", owner.Name, accountID)}
	}
	return nil
}

// recordOriginals keeps the values of newly managed fields as first observed under Enforce.
// When a write follows, they are written to status before it, so that a crash after the write
// cannot lose what deletionPolicy Restore puts back.
func (r *TokenSettingsReconciler) recordOriginals(ctx context.Context, s *settingsScope, observed falcon.CustomerSettings, writeFollows bool) error {
	st := &s.fts.Status
	originals, changed := withOriginals(st.OriginalSettings, s.fts.Spec.TokenSettingsValues, observed)
	if !changed {
		return nil
	}
	st.OriginalSettings = originals
	if !writeFollows {
		return nil
	}
	if err := r.Status().Patch(ctx, s.fts, client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("record the original settings: %w", err)
	}
	s.base = s.fts.DeepCopy()
	return nil
}

// applySettings reports drift and, under Enforce, writes the fields that differ.
func (r *TokenSettingsReconciler) applySettings(ctx context.Context, s *settingsScope, observed, update falcon.CustomerSettings, diffs []string) (falcon.CustomerSettings, error) {
	st := &s.fts.Status
	drifted := st.ObservedGeneration == s.fts.Generation && st.LastSyncTime != nil
	summary := strings.Join(diffs, "; ")
	if s.fts.Spec.ManagementPolicy == falconv1alpha1.ManagementObserve {
		if previous := meta.FindStatusCondition(st.Conditions, falconv1alpha1.ConditionReady); previous == nil || previous.Reason != falconv1alpha1.ReasonDriftDetected || previous.Message != driftMessage(diffs) {
			r.event(s.fts, corev1.EventTypeWarning, falconv1alpha1.EventDriftDetected, "Observe", "Falcon's settings differ from the spec: %s (managementPolicy Observe writes nothing)", summary)
		}
		return observed, nil
	}
	if drifted {
		r.event(s.fts, corev1.EventTypeWarning, falconv1alpha1.EventDriftDetected, "Observe", "Falcon's settings were changed outside the operator: %s", summary)
	}
	written, err := s.api.UpdateCustomerSettings(ctx, update)
	if err != nil {
		return observed, err
	}
	if drifted {
		r.event(s.fts, corev1.EventTypeNormal, falconv1alpha1.EventDriftCorrected, "Update", "Set back: %s", summary)
	} else {
		r.event(s.fts, corev1.EventTypeNormal, falconv1alpha1.EventUpdated, "Update", "Applied the spec: %s", summary)
	}
	return written, nil
}

// recordReadiness sets Ready from what the reconcile found.
func (r *TokenSettingsReconciler) recordReadiness(s *settingsScope, diffs []string) {
	st := &s.fts.Status
	if s.fts.Spec.ManagementPolicy == falconv1alpha1.ManagementObserve && len(diffs) > 0 {
		setReady(&st.Conditions, s.fts.Generation, metav1.ConditionFalse, falconv1alpha1.ReasonDriftDetected, driftMessage(diffs))
		return
	}
	message := "the account's installation-token settings match the spec"
	if s.fts.Spec.ManagementPolicy == falconv1alpha1.ManagementObserve {
		message += " (managementPolicy Observe: read only)"
	}
	if st.MaxActiveTokens != nil && st.ActiveTokens != nil {
		message += capMessage(*st.MaxActiveTokens, *st.ActiveTokens)
	}
	setReady(&st.Conditions, s.fts.Generation, metav1.ConditionTrue, falconv1alpha1.ReasonInSync, message)
}

func driftMessage(diffs []string) string {
	return "Falcon's settings differ from the spec: " + strings.Join(diffs, "; ") +
		"; managementPolicy Observe writes nothing: set it to Enforce to correct them"
}

// reconcileDelete puts back the original settings when deletionPolicy says Restore, then
// releases the finalizer. Orphan makes no API call, which is also the way out when the
// credentials are gone for good.
func (r *TokenSettingsReconciler) reconcileDelete(ctx context.Context, s *settingsScope) error {
	if !controllerutil.ContainsFinalizer(s.fts, falconv1alpha1.Finalizer) {
		return nil
	}
	policy := s.fts.Spec.DeletionPolicy
	setReady(&s.fts.Status.Conditions, s.fts.Generation, metav1.ConditionFalse, falconv1alpha1.ReasonDeleting,
		fmt.Sprintf("cleaning up as deletionPolicy %s says; set deletionPolicy: Orphan to skip the cleanup", orDefault(string(policy), "Orphan")))
	if policy == falconv1alpha1.SettingsDeletionRestore && s.fts.Status.OriginalSettings != nil {
		if err := r.restoreOriginals(ctx, s); err != nil {
			r.credentials.rejectIfRefused(settingsCredentialsRef(s.fts), err)
			return withOrphanHint(err)
		}
	}
	controllerutil.RemoveFinalizer(s.fts, falconv1alpha1.Finalizer)
	if err := r.Update(ctx, s.fts); err != nil {
		return client.IgnoreNotFound(err)
	}
	s.released = true
	return nil
}

func (r *TokenSettingsReconciler) restoreOriginals(ctx context.Context, s *settingsScope) error {
	api, err := r.credentials.client(ctx, settingsCredentialsRef(s.fts), s.fts.Spec.FalconAPI.Cloud)
	if err != nil {
		return err
	}
	observed, err := api.GetCustomerSettings(ctx)
	if err != nil {
		return err
	}
	update, diffs := restoreUpdate(s.fts.Status.OriginalSettings, observed)
	if len(diffs) == 0 {
		return nil
	}
	if _, err := api.UpdateCustomerSettings(ctx, update); err != nil {
		return err
	}
	r.event(s.fts, corev1.EventTypeNormal, falconv1alpha1.EventSettingsRestored, "Restore", "Put back the settings observed before the first write: %s", strings.Join(diffs, "; "))
	return nil
}

// writeStatus records the reconcile's result and patches status once.
func (r *TokenSettingsReconciler) writeStatus(ctx context.Context, s *settingsScope, err error) (ctrl.Result, error) {
	if s.released {
		return ctrl.Result{}, nil
	}
	st := &s.fts.Status
	result := conclude(ctx, r.recorder, s.fts, sharedStatus{
		conditions: &st.Conditions, failedAttempts: &st.FailedAttempts, lastFailureTime: &st.LastFailureTime, observedGeneration: &st.ObservedGeneration,
	}, r.Clock.Now(), r.SyncPeriod, ctrl.Result{RequeueAfter: withJitter(r.SyncPeriod)}, err)
	if patchErr := r.Status().Patch(ctx, s.fts, client.MergeFrom(s.base)); patchErr != nil {
		return ctrl.Result{}, client.IgnoreNotFound(patchErr)
	}
	return result, nil
}

func (r *TokenSettingsReconciler) event(obj *falconv1alpha1.FalconTokenSettings, eventType, reason, action, note string, args ...any) {
	r.recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
}

func settingsCredentialsRef(fts *falconv1alpha1.FalconTokenSettings) types.NamespacedName {
	ref := fts.Spec.FalconAPI.CredentialsSecretRef
	return types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
}
