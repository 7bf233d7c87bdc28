package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// settingsKind names FalconTokenSettings in metrics and feeds.
const settingsKind = "FalconTokenSettings"

// TokenSettingsReconciler keeps a customer account's installation-token settings as a
// FalconTokenSettings declares them.
type TokenSettingsReconciler struct {
	skeleton
	clusterResourceNamespace string
	credentials              *credentialSource
	// connect returns the Falcon API of a credential; cleanup falls back to the last
	// credentials that worked when the Secret is gone.
	connect, connectForCleanup connectFunc[settingsAPI]
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

// settingsScope is what one reconcile of a FalconTokenSettings read and decided.
type settingsScope struct {
	*scope
	fts *falconv1alpha1.FalconTokenSettings
	api settingsAPI
}

// Reconcile loads the resource, runs the phases and writes status once.
func (r *TokenSettingsReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.reconcile(ctx, req.NamespacedName, &falconv1alpha1.FalconTokenSettings{}, r.reconcileNormal, r.reconcileDelete)
}

// reconcileNormal identifies the account, makes sure no older resource manages it, reads the
// settings and, under Enforce, writes the managed fields that differ. The settings are read
// again every sync period: that is how drift made in the console is found.
func (r *TokenSettingsReconciler) reconcileNormal(ctx context.Context, sc *scope) (ctrl.Result, error) {
	s := &settingsScope{scope: sc, fts: sc.obj.(*falconv1alpha1.FalconTokenSettings)}
	ref := credentialsRefOf(s.fts, r.clusterResourceNamespace)
	api, err := r.connect(ctx, ref, s.fts.Spec.FalconAPI.Cloud)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.api = api
	if err := r.syncSettings(ctx, s); err != nil {
		r.credentials.rejectIfRefused(ref, err)
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: jittered(r.syncPeriod)}, nil
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
	st.ActiveTokens = ptr.To(int32(active))
	next, diffs := settingsChanges(s.fts.Spec.TokenSettingsValues, observed)
	enforce := s.fts.Spec.ManagementPolicy != falconv1alpha1.ManagementObserve
	if enforce {
		if err := r.recordOriginals(ctx, s, observed, len(diffs) > 0); err != nil {
			return err
		}
	}
	if len(diffs) > 0 {
		if observed, err = r.applySettings(ctx, s, observed, next, diffs); err != nil {
			return err
		}
	}
	st.TokensRequired = observed.TokensRequired
	st.MaxActiveTokens = nil
	if observed.MaxActiveTokens != nil {
		st.MaxActiveTokens = ptr.To(int32(*observed.MaxActiveTokens))
	}
	st.LastSyncTime = &metav1.Time{Time: s.now}
	s.verdict = settingsVerdict(s.fts, enforce, diffs)
	return nil
}

// claimAccount identifies the customer account and refuses to manage it when an older
// FalconTokenSettings already does.
func (r *TokenSettingsReconciler) claimAccount(ctx context.Context, s *settingsScope) error {
	accountID, err := s.api.CCID(ctx)
	if isMissingScope(err) {
		accountID, err = falcon.ClientLabel(s.api.Identity()), nil
	}
	if err != nil {
		return err
	}
	st := &s.fts.Status
	st.AccountID, st.Cloud = accountID, s.api.Cloud()
	all := &falconv1alpha1.FalconTokenSettingsList{}
	if err := r.client.List(ctx, all); err != nil {
		return err
	}
	if owner := settingsOwner(s.fts, all.Items, accountID); owner.UID != s.fts.UID {
		return &blockedError{reason: falconv1alpha1.ReasonConflict, retryAfter: r.syncPeriod, message: fmt.Sprintf(
			"FalconTokenSettings %s already manages customer account %s: this one writes nothing while it exists; delete one of the two", owner.Name, accountID)}
	}
	return nil
}

// recordOriginals keeps the values of newly managed fields as first observed under Enforce.
// When a write follows, they are written to status (optimistically, with the finalizer) before
// it, so that neither a crash after the write nor a reconcile from a stale copy can lose what
// deletionPolicy Restore puts back.
func (r *TokenSettingsReconciler) recordOriginals(ctx context.Context, s *settingsScope, observed falcon.CustomerSettings, writeFollows bool) error {
	st := &s.fts.Status
	if originals, changed := withOriginals(st.OriginalSettings, s.fts.Spec.TokenSettingsValues, observed); changed {
		st.OriginalSettings = originals
	}
	if !writeFollows {
		return nil
	}
	if err := r.ensureFinalizer(ctx, s.scope); err != nil {
		return err
	}
	if err := r.writeStatus(ctx, s.scope); err != nil {
		return fmt.Errorf("record the original settings: %w", err)
	}
	return nil
}

// applySettings reports drift and, under Enforce, writes the fields that differ.
func (r *TokenSettingsReconciler) applySettings(
	ctx context.Context, s *settingsScope, observed, next falcon.CustomerSettings, diffs []string,
) (falcon.CustomerSettings, error) {
	st := &s.fts.Status
	drifted := st.ObservedGeneration == s.fts.Generation && st.LastSyncTime != nil
	summary := strings.Join(diffs, "; ")
	if s.fts.Spec.ManagementPolicy == falconv1alpha1.ManagementObserve {
		previous := meta.FindStatusCondition(st.Conditions, falconv1alpha1.ConditionReady)
		if previous == nil || previous.Reason != falconv1alpha1.ReasonDriftDetected || previous.Message != driftMessage(diffs) {
			r.event(s.fts, corev1.EventTypeWarning, falconv1alpha1.EventDriftDetected, "Observe",
				"Falcon's settings differ from the spec: %s (managementPolicy Observe writes nothing)", summary)
		}
		return observed, nil
	}
	if drifted {
		r.event(s.fts, corev1.EventTypeWarning, falconv1alpha1.EventDriftDetected, "Observe", "Falcon's settings were changed outside the operator: %s", summary)
	}
	written, err := s.api.UpdateCustomerSettings(ctx, next)
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

// settingsVerdict is how a reconcile that went through leaves the conditions.
func settingsVerdict(fts *falconv1alpha1.FalconTokenSettings, enforce bool, diffs []string) verdict {
	if !enforce && len(diffs) > 0 {
		return stalled(falconv1alpha1.ReasonDriftDetected, driftMessage(diffs))
	}
	message := "the account's installation-token settings match the spec"
	if !enforce {
		message += " (managementPolicy Observe: read only)"
	}
	if st := fts.Status; st.MaxActiveTokens != nil && st.ActiveTokens != nil {
		message += capMessage(*st.MaxActiveTokens, *st.ActiveTokens)
	}
	return ready(falconv1alpha1.ReasonInSync, message)
}

func driftMessage(diffs []string) string {
	return "Falcon's settings differ from the spec: " + strings.Join(diffs, "; ") +
		"; managementPolicy Observe writes nothing: set it to Enforce to correct them"
}

// reconcileDelete puts back the original settings when deletionPolicy says Restore, then
// releases the finalizer. Orphan makes no API call, which is also the way out when the
// credentials are gone for good. When they are gone because their namespace is being deleted
// and no credentials that worked are left, the finalizer is released with a Warning.
func (r *TokenSettingsReconciler) reconcileDelete(ctx context.Context, sc *scope) (ctrl.Result, error) {
	s := &settingsScope{scope: sc, fts: sc.obj.(*falconv1alpha1.FalconTokenSettings)}
	policy := s.fts.Spec.DeletionPolicy
	sc.verdict = progressing(falconv1alpha1.ReasonDeleting, fmt.Sprintf(
		"cleaning up as deletionPolicy %s says; set deletionPolicy: Orphan to skip the cleanup", orDefault(string(policy), "Orphan")))
	if policy == falconv1alpha1.SettingsDeletionRestore && s.fts.Status.OriginalSettings != nil {
		if err := r.restoreOriginals(ctx, s); err != nil {
			ref := credentialsRefOf(s.fts, r.clusterResourceNamespace)
			r.credentials.rejectIfRefused(ref, err)
			terminating, err := r.abandonable(ctx, sc, err, ref.Namespace)
			if err != nil {
				return ctrl.Result{}, err
			}
			r.event(s.fts, corev1.EventTypeWarning, falconv1alpha1.EventTokensLeftBehind, "Delete",
				"No credentials left to restore the settings with while namespace %s is deleted: the account keeps its current settings", terminating.Name)
		}
	}
	return ctrl.Result{}, r.release(ctx, sc)
}

func (r *TokenSettingsReconciler) restoreOriginals(ctx context.Context, s *settingsScope) error {
	api, err := r.connectForCleanup(ctx, credentialsRefOf(s.fts, r.clusterResourceNamespace), s.fts.Spec.FalconAPI.Cloud)
	if err != nil {
		return err
	}
	observed, err := api.GetCustomerSettings(ctx)
	if err != nil {
		return err
	}
	next, diffs := settingsChanges(*s.fts.Status.OriginalSettings, observed)
	if len(diffs) == 0 {
		return nil
	}
	if _, err := api.UpdateCustomerSettings(ctx, next); err != nil {
		return err
	}
	r.event(s.fts, corev1.EventTypeNormal, falconv1alpha1.EventSettingsRestored, "Restore",
		"Put back the settings observed before the first write: %s", strings.Join(diffs, "; "))
	return nil
}

// setupSettingsController registers the FalconTokenSettings reconciler.
func setupSettingsController(mgr ctrl.Manager, opts Options, credentials *credentialSource, feed *requestFeed) error {
	r := &TokenSettingsReconciler{
		skeleton:                 newSkeleton(mgr, opts, settingsKind, func(s string) string { return s }),
		clusterResourceNamespace: opts.ClusterResourceNamespace,
		credentials:              credentials,
		connect:                  connectAs[settingsAPI](credentials.client),
		connectForCleanup:        connectAs[settingsAPI](credentials.cleanupClient),
	}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&falconv1alpha1.FalconTokenSettings{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// When a FalconTokenSettings is gone, a newer one for the same account may take over.
		Watches(&falconv1alpha1.FalconTokenSettings{}, handler.EnqueueRequestsFromMapFunc(allOf(mgr.GetClient(), &falconv1alpha1.FalconTokenSettingsList{})),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(event.CreateEvent) bool { return false },
				UpdateFunc: func(event.UpdateEvent) bool { return false },
				DeleteFunc: func(event.DeleteEvent) bool { return true },
			})).
		WatchesRawSource(feed.source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.MaxConcurrentReconciles, 1)}).
		Named("falcontokensettings").
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up the FalconTokenSettings controller: %w", err)
	}
	return nil
}
