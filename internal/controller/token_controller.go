package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// TokenReconciler keeps one live Falcon installation token per resource of its kind
// (FalconInstallationToken or ClusterFalconInstallationToken) and publishes it in Secrets. The
// two kinds share every phase; tokenKind holds what differs.
type TokenReconciler struct {
	skeleton
	kind        tokenKind
	clusterName string
	apiReader   client.Reader // reads behind the cache: Secrets that lost the operator's label
	credentials *credentialSource
	// connect returns the Falcon API of a credential; cleanup falls back to the last
	// credentials that worked when the Secret is gone (a namespace being deleted).
	connect, connectForCleanup connectFunc[tokenAPI]
	values                     *valueMemory
	snapshots                  *snapshots // tokens the drift check found changed, for the reconciles it queues
	// primed is closed once the drift check's first pass has read every token (and its value).
	primed <-chan struct{}
}

// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falconinstallationtokens;clusterfalconinstallationtokens,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falconinstallationtokens/status;clusterfalconinstallationtokens/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=falcon.falconops.io,resources=falconinstallationtokens/finalizers;clusterfalconinstallationtokens/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// tokenAPI is all of Falcon a token resource needs.
type tokenAPI interface {
	Cloud() string
	CCID(ctx context.Context) (string, error)
	CreateToken(ctx context.Context, label string, expiresAt *time.Time) (falcon.Token, error)
	GetTokens(ctx context.Context, ids []string) ([]falcon.Token, error)
	FindTokensByMarker(ctx context.Context, marker string) ([]falcon.Token, error)
	UpdateTokens(ctx context.Context, ids []string, u falcon.TokenUpdate) ([]falcon.Token, error)
	DeleteTokens(ctx context.Context, ids []string) error
}

// tokenScope is what one reconcile of a token resource read and decided.
type tokenScope struct {
	*scope
	res      tokenResource
	api      tokenAPI
	token    *falcon.Token // the current token as Falcon returned it this reconcile
	observed bool          // Falcon was read (or written) this reconcile
	intent   *falconv1alpha1.CreateIntent
	// targets are the Secrets to publish; copies the Secrets this resource owns, by key.
	targets []types.NamespacedName
	copies  map[types.NamespacedName]*corev1.Secret
	refused []falconv1alpha1.NamespaceRefusal
	// published are the namespaces whose copy holds the current token.
	published []string
	replaced  string    // why the previous token is being replaced
	snapshot  *snapshot // the drift check's read this reconcile acted on, instead of a read of its own
	// wakeAt is the next time the resource has something due (a renewal held back by the
	// minimum interval between renewals).
	wakeAt *time.Time
	// renewalHeld: a renewal or requested rotation waits for the minimum interval.
	renewalHeld bool
}

// Reconcile loads the resource, runs the phases and writes status once.
func (r *TokenReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.reconcile(ctx, req.NamespacedName, r.kind.newObject(), r.reconcileNormal, r.reconcileDelete)
}

func (r *TokenReconciler) newScope(sc *scope) (*tokenScope, error) {
	s := &tokenScope{scope: sc, res: sc.obj.(tokenResource)}
	intent, err := pendingIntent(s.res)
	s.intent = intent
	return s, err
}

func (r *TokenReconciler) reconcileNormal(ctx context.Context, sc *scope) (ctrl.Result, error) {
	s, err := r.newScope(sc)
	if err != nil {
		return ctrl.Result{}, err
	}
	ref := r.kind.credentialsRef(s.res)
	if s.api, err = r.connect(ctx, ref, s.res.GetFalconAPI().Cloud); err != nil {
		return ctrl.Result{}, err
	}
	for _, phase := range []func(context.Context, *tokenScope) error{
		r.loadPublication, r.ensureToken, r.applySpec, r.renew, r.publish, r.retireOldTokens,
	} {
		if err := phase(ctx, s); err != nil {
			r.credentials.rejectIfRefused(ref, err)
			if s.snapshot != nil {
				r.snapshots.put(s.res.GetUID(), *s.snapshot) // the retry acts on it too
			}
			return ctrl.Result{}, err
		}
	}
	r.recordObservation(s)
	return ctrl.Result{RequeueAfter: r.nextReconcile(s)}, nil
}

// recordObservation copies what was observed into status and decides the conditions.
func (r *TokenReconciler) recordObservation(s *tokenScope) {
	st := s.res.GetTokenStatus()
	st.Cloud = s.api.Cloud()
	if s.observed {
		s.res.GetCommonStatus().LastSyncTime = &metav1.Time{Time: s.now}
	}
	if tok := s.token; tok != nil {
		st.TokenStatus, st.Label = tok.Status, tok.Label
		st.CreatedAt = optionalTime(&tok.CreatedAt)
		st.ExpiresAt = optionalTime(tok.ExpiresAt)
		if !sameDay(tok.LastUsedAt, timeOf(st.LastUsedAt)) {
			st.LastUsedAt = optionalTime(tok.LastUsedAt)
		}
		st.RenewalTime = optionalTime(renewalTime(tok.ExpiresAt, s.res.GetTokenParameters()))
	}
	tokenExpiry.set(s.res, st.ExpiresAt)
	s.verdict = r.tokenVerdict(s)
}

// tokenVerdict is how a reconcile that went through leaves the conditions.
func (r *TokenReconciler) tokenVerdict(s *tokenScope) verdict {
	st := s.res.GetTokenStatus()
	blocking := blockingRefusals(s.refused)
	switch {
	case s.res.GetTokenParameters().Revoked:
		// What the spec asks for: Ready, so that kstatus and rollouts waiting on Ready settle.
		return ready(falconv1alpha1.ReasonTokenRevoked, "the token is revoked because spec.revoked is true: set it to false to restore it")
	case st.TokenID == "" && len(s.targets) == 0:
		return progressing(falconv1alpha1.ReasonNamespaceNotFound, "no selected namespace exists yet: the token is created once one does")
	case len(blocking) > 0:
		return stalled(blocking[0].Reason, refusalMessage(secretName(s.res), blocking))
	}
	message := fmt.Sprintf("token %s (revision %d) is %s and published in Secret %s", st.TokenID, st.Revision, st.TokenStatus, secretName(s.res))
	if s.renewalHeld {
		message += fmt.Sprintf("; the renewal waits until %s: a token is renewed at most once an hour", s.wakeAt.UTC().Format(time.RFC3339))
	}
	return ready(falconv1alpha1.ReasonTokenReady, message)
}

// nextReconcile is when something is due: a renewal or the end of a grace period. Changes made in
// the console are found by the drift check, Secret changes by the watch; nothing else needs a
// periodic reconcile. A resource a person must fix is looked at again after the sync period.
func (r *TokenReconciler) nextReconcile(s *tokenScope) time.Duration {
	var next *time.Time
	for _, at := range []*time.Time{timeOf(s.res.GetTokenStatus().RenewalTime), nextRetirement(s.res.GetTokenStatus().RetiringTokens), s.wakeAt} {
		if at != nil && (next == nil || at.Before(*next)) {
			next = at
		}
	}
	switch {
	case s.verdict.stalled:
		return jittered(r.syncPeriod)
	case next == nil:
		return 0
	}
	return max(next.Sub(s.now), time.Second)
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
