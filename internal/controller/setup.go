package controller

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// credentialsIndex indexes resources by the credentials Secret they use, as namespace/name.
const credentialsIndex = "spec.falconAPI.credentialsSecretRef"

// eventSource names the operator in the events it records.
const eventSource = "falcon-token-operator"

// SetupWithManager registers the reconcilers of the three kinds, the drift check and the
// credentials watches they share.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.ClusterResourceNamespace == "" {
		return fmt.Errorf("the cluster resource namespace is not set")
	}
	namespacedKind := namespacedTokens{}
	clusterKind := clusterTokens{namespaces: mgr.GetClient(), clusterResourceNamespace: opts.ClusterResourceNamespace}
	// Requests from outside the manager's own watches: a changed credentials Secret, the drift check.
	feeds := map[string]*requestFeed{namespacedKind.name(): {}, clusterKind.name(): {}, settingsKind: {}}
	lists := map[string]client.ObjectList{
		namespacedKind.name(): &falconv1alpha1.FalconInstallationTokenList{},
		clusterKind.name():    &falconv1alpha1.ClusterFalconInstallationTokenList{},
		settingsKind:          &falconv1alpha1.FalconTokenSettingsList{},
	}
	if err := indexCredentials(mgr, opts.ClusterResourceNamespace); err != nil {
		return err
	}
	var credentials *credentialSource
	watches, err := newCredentialWatches(mgr, opts.Namespaces, func(ctx context.Context, ref types.NamespacedName) {
		for kind, feed := range feeds {
			feed.add(usersOf(ctx, mgr.GetClient(), lists[kind], ref)...)
		}
	}, func(ctx context.Context) (map[types.NamespacedName]bool, error) {
		used, err := credentialsInUse(ctx, mgr.GetClient(), lists, opts.ClusterResourceNamespace)
		if err == nil {
			credentials.forgetUnused(used)
		}
		return used, err
	}, max(opts.SyncPeriod, time.Minute))
	if err != nil {
		return err
	}
	credentials = newCredentialSource(watches, mgr.GetAPIReader(), opts)
	if err := indexTokens(mgr); err != nil {
		return err
	}
	shared := tokenShared{values: newValueMemory(), snapshots: &snapshots{}, primed: make(chan struct{})}
	for _, kind := range []tokenKind{namespacedKind, clusterKind} {
		if err := setupTokenController(mgr, opts, kind, credentials, feeds[kind.name()], shared); err != nil {
			return err
		}
	}
	if err := mgr.Add(&driftCheck{
		cache: mgr.GetClient(), credentials: credentials, clock: opts.Clock, period: opts.SyncPeriod,
		kinds:     []driftKind{{kind: namespacedKind, feed: feeds[namespacedKind.name()]}, {kind: clusterKind, feed: feeds[clusterKind.name()]}},
		snapshots: shared.snapshots, values: shared.values, recorder: mgr.GetEventRecorder(eventSource), primed: shared.primed,
		lastSearch: map[*falcon.Client]time.Time{},
	}); err != nil {
		return fmt.Errorf("set up the drift check: %w", err)
	}
	return setupSettingsController(mgr, opts, credentials, feeds[settingsKind])
}

// tokenShared is what the two token controllers and the drift check share.
type tokenShared struct {
	values    *valueMemory
	snapshots *snapshots
	primed    chan struct{} // closed by the drift check's first pass
}

// newSkeleton is the shared reconcile of one kind.
func newSkeleton(mgr ctrl.Manager, opts Options, kind string, redact func(string) string) skeleton {
	return skeleton{
		client:     mgr.GetClient(),
		fence:      newCacheFence(clock.RealClock{}),
		recorder:   mgr.GetEventRecorder(eventSource),
		clock:      opts.Clock,
		kind:       kind,
		syncPeriod: opts.SyncPeriod,
		redact:     redact,
	}
}

// setupTokenController registers the reconciler of one token kind.
func setupTokenController(mgr ctrl.Manager, opts Options, kind tokenKind, credentials *credentialSource, feed *requestFeed, shared tokenShared) error {
	r := &TokenReconciler{
		skeleton:          newSkeleton(mgr, opts, kind.name(), shared.values.redact),
		kind:              kind,
		clusterName:       opts.ClusterName,
		apiReader:         mgr.GetAPIReader(),
		credentials:       credentials,
		connect:           connectAs[tokenAPI](credentials.client),
		connectForCleanup: connectAs[tokenAPI](credentials.cleanupClient),
		values:            shared.values,
		snapshots:         shared.snapshots,
		primed:            shared.primed,
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(kind.newObject(), builder.WithPredicates(tokenSpecChanged())).
		Owns(&corev1.Secret{}).
		WatchesRawSource(feed.source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.MaxConcurrentReconciles, 1)})
	if _, many := kind.(clusterTokens); many {
		// A namespace created, labelled or deleted may change where the Secret goes.
		b = b.WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(allOf(mgr.GetClient(), &falconv1alpha1.ClusterFalconInstallationTokenList{})),
			builder.WithPredicates(namespaceMembershipChanged()))
	}
	if err := b.Named(strings.ToLower(kind.name())).Complete(r); err != nil {
		return fmt.Errorf("set up the %s controller: %w", kind.name(), err)
	}
	return nil
}

// The Falcon client is every reconciler's Falcon API.
var (
	_ tokenAPI    = (*falcon.Client)(nil)
	_ settingsAPI = (*falcon.Client)(nil)
)

// connectFunc returns the Falcon API of the credentials in Secret ref, on cloud.
type connectFunc[API any] func(ctx context.Context, ref types.NamespacedName, cloud string) (API, error)

// connectAs adapts a credentials lookup to the Falcon API a reconciler calls: a failed lookup
// gives a nil interface, not one holding a nil client.
func connectAs[API any](lookup connectFunc[*falcon.Client]) connectFunc[API] {
	return func(ctx context.Context, ref types.NamespacedName, cloud string) (API, error) {
		var api API
		c, err := lookup(ctx, ref, cloud)
		if err == nil {
			api = any(c).(API)
		}
		return api, err
	}
}

// tokenSpecChanged lets through what a token resource's reconcile acts on: creation, a spec
// change, a new value of the rotate annotation, deletion. The operator's own metadata writes
// (finalizer, create intent) and status writes queue nothing.
func tokenSpecChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
				e.ObjectOld.GetAnnotations()[falconv1alpha1.RotateAnnotation] != e.ObjectNew.GetAnnotations()[falconv1alpha1.RotateAnnotation] ||
				e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
	}
}

// namespaceMembershipChanged lets through the namespace events that can change a selection.
func namespaceMembershipChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) ||
				e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
	}
}

// allOf maps an event to every resource of list's kind: there are few.
func allOf(c client.Client, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []reconcile.Request {
		return requestsFor(ctx, c, list.DeepCopyObject().(client.ObjectList))
	}
}

func requestsFor(ctx context.Context, c client.Client, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	if err := c.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list resources to reconcile")
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	requests := make([]reconcile.Request, 0, len(items))
	for _, item := range items {
		if o, ok := item.(client.Object); ok {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return requests
}

// indexCredentials indexes the resources of the three kinds by their credentials Secret.
func indexCredentials(mgr ctrl.Manager, clusterResourceNamespace string) error {
	for _, obj := range []client.Object{
		&falconv1alpha1.FalconInstallationToken{}, &falconv1alpha1.ClusterFalconInstallationToken{}, &falconv1alpha1.FalconTokenSettings{},
	} {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), obj, credentialsIndex, func(o client.Object) []string {
			return []string{credentialsRefOf(o, clusterResourceNamespace).String()}
		}); err != nil {
			return fmt.Errorf("index %T by credentials: %w", obj, err)
		}
	}
	return nil
}

// credentialsRefOf is the credentials Secret a resource of any kind uses: in its own namespace,
// or for the cluster-scoped kinds in the cluster resource namespace.
func credentialsRefOf(o client.Object, clusterResourceNamespace string) types.NamespacedName {
	namespace := o.GetNamespace()
	if namespace == "" {
		namespace = clusterResourceNamespace
	}
	var name string
	if withAPI, ok := o.(interface {
		GetFalconAPI() falconv1alpha1.FalconAPI
	}); ok {
		name = withAPI.GetFalconAPI().CredentialsSecretRef.Name
	}
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// indexTokens indexes the token resources by the tokens they hold, and the Secrets by the
// resource that controls them.
func indexTokens(mgr ctrl.Manager) error {
	for _, obj := range []client.Object{&falconv1alpha1.FalconInstallationToken{}, &falconv1alpha1.ClusterFalconInstallationToken{}} {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), obj, tokenIDIndex, heldTokenIDs); err != nil {
			return fmt.Errorf("index %T by token ID: %w", obj, err)
		}
	}
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Secret{}, secretOwnerIndex, func(o client.Object) []string {
		if owner := metav1.GetControllerOf(o); owner != nil {
			return []string{string(owner.UID)}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index Secrets by owner: %w", err)
	}
	return nil
}

// usersOf lists the resources of list's kind that use credentials Secret ref.
func usersOf(ctx context.Context, c client.Client, list client.ObjectList, ref types.NamespacedName) []reconcile.Request {
	return requestsFor(ctx, c, list.DeepCopyObject().(client.ObjectList), client.MatchingFields{credentialsIndex: ref.String()})
}

// credentialsInUse lists the credentials Secrets that resources of every kind name.
func credentialsInUse(
	ctx context.Context, c client.Client, lists map[string]client.ObjectList, clusterResourceNamespace string,
) (map[types.NamespacedName]bool, error) {
	used := map[types.NamespacedName]bool{}
	for _, list := range lists {
		list := list.DeepCopyObject().(client.ObjectList)
		if err := c.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			used[credentialsRefOf(item.(client.Object), clusterResourceNamespace)] = true
		}
	}
	return used, nil
}
