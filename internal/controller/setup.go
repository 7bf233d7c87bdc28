package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// credentialsIndex indexes resources by the credentials Secret they use, as namespace/name.
const credentialsIndex = "spec.falconAPI.credentialsSecretRef"

// SetupWithManager registers both reconcilers and the credentials watches they share.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	// Requests from outside the manager's own watches: a changed credentials Secret, the drift check.
	tokenFeed, settingsFeed := &requestFeed{}, &requestFeed{}
	credentialsWatches, err := newCredentialWatches(mgr, opts.Namespaces, func(ctx context.Context, ref types.NamespacedName) {
		tokenFeed.add(usersOf(ctx, mgr.GetClient(), &falconv1alpha1.FalconInstallationTokenList{}, ref)...)
		settingsFeed.add(usersOf(ctx, mgr.GetClient(), &falconv1alpha1.FalconTokenSettingsList{}, ref)...)
	}, credentialsInUse(mgr.GetClient()), max(opts.SyncPeriod, time.Minute))
	if err != nil {
		return err
	}
	credentials := newCredentialSource(credentialsWatches, mgr.GetAPIReader(), opts)
	if err := setupTokenController(mgr, opts, credentials, tokenFeed); err != nil {
		return err
	}
	return setupSettingsController(mgr, opts, credentials, settingsFeed)
}

// setupTokenController registers the FalconInstallationToken reconciler and its drift check.
func setupTokenController(mgr ctrl.Manager, opts Options, credentials *credentialSource, feed *requestFeed) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &falconv1alpha1.FalconInstallationToken{}, credentialsIndex, func(o client.Object) []string {
		return []string{credentialsRef(o.(*falconv1alpha1.FalconInstallationToken)).String()}
	}); err != nil {
		return fmt.Errorf("index FalconInstallationToken credentials: %w", err)
	}
	primed := make(chan struct{}) // closed by the drift check's first pass
	tokens := &InstallationTokenReconciler{
		Client:      mgr.GetClient(),
		Options:     opts,
		apiReader:   mgr.GetAPIReader(),
		credentials: credentials,
		recorder:    mgr.GetEventRecorder("falcon-token-operator"),
		values:      &valueMemory{},
		snapshots:   &snapshots{},
		fence:       &cacheFence{},
		primed:      primed,
	}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&falconv1alpha1.FalconInstallationToken{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}).
		WatchesRawSource(feed.source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.MaxConcurrentReconciles, 1)}).
		Named("falconinstallationtoken").
		Complete(tokens)
	if err != nil {
		return fmt.Errorf("set up the FalconInstallationToken controller: %w", err)
	}
	if err := mgr.Add(&driftCheck{cache: mgr.GetClient(), credentials: credentials, clock: opts.Clock, period: opts.SyncPeriod,
		feed: feed, snapshots: tokens.snapshots, values: tokens.values, primed: primed}); err != nil {
		return fmt.Errorf("set up the FalconInstallationToken drift check: %w", err)
	}
	return nil
}

// setupSettingsController registers the FalconTokenSettings reconciler.
func setupSettingsController(mgr ctrl.Manager, opts Options, credentials *credentialSource, feed *requestFeed) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &falconv1alpha1.FalconTokenSettings{}, credentialsIndex, func(o client.Object) []string {
		return []string{settingsCredentialsRef(o.(*falconv1alpha1.FalconTokenSettings)).String()}
	}); err != nil {
		return fmt.Errorf("index FalconTokenSettings credentials: %w", err)
	}
	settings := &TokenSettingsReconciler{
		Client:      mgr.GetClient(),
		Options:     opts,
		credentials: credentials,
		recorder:    mgr.GetEventRecorder("falcon-token-operator"),
	}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&falconv1alpha1.FalconTokenSettings{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// When a FalconTokenSettings is gone, a newer one for the same account may take over.
		Watches(&falconv1alpha1.FalconTokenSettings{}, handler.EnqueueRequestsFromMapFunc(othersOf(mgr.GetClient())),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(event.CreateEvent) bool { return false },
				UpdateFunc: func(event.UpdateEvent) bool { return false },
				DeleteFunc: func(event.DeleteEvent) bool { return true },
			})).
		WatchesRawSource(feed.source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.MaxConcurrentReconciles, 1)}).
		Named("falcontokensettings").
		Complete(settings)
	if err != nil {
		return fmt.Errorf("set up the FalconTokenSettings controller: %w", err)
	}
	return nil
}

// othersOf maps a FalconTokenSettings event to every other FalconTokenSettings: there are few.
func othersOf(c client.Client) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		all := &falconv1alpha1.FalconTokenSettingsList{}
		if err := c.List(ctx, all); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "list FalconTokenSettings")
			return nil
		}
		var requests []reconcile.Request
		for _, other := range all.Items {
			if other.UID != obj.GetUID() {
				requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&other)})
			}
		}
		return requests
	}
}

// usersOf lists the resources of list's kind that use credentials Secret ref.
func usersOf(ctx context.Context, c client.Client, list client.ObjectList, ref types.NamespacedName) []reconcile.Request {
	if err := c.List(ctx, list, client.MatchingFields{credentialsIndex: ref.String()}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list users of credentials Secret", "secret", ref.String())
		return nil
	}
	var requests []reconcile.Request
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	for _, item := range items {
		if o, ok := item.(client.Object); ok {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return requests
}

// credentialsInUse lists the credentials Secrets that resources of both kinds name.
func credentialsInUse(c client.Client) func(context.Context) (map[types.NamespacedName]bool, error) {
	return func(ctx context.Context) (map[types.NamespacedName]bool, error) {
		used := map[types.NamespacedName]bool{}
		tokens := &falconv1alpha1.FalconInstallationTokenList{}
		if err := c.List(ctx, tokens, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		for i := range tokens.Items {
			used[credentialsRef(&tokens.Items[i])] = true
		}
		settings := &falconv1alpha1.FalconTokenSettingsList{}
		if err := c.List(ctx, settings, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		for i := range settings.Items {
			used[settingsCredentialsRef(&settings.Items[i])] = true
		}
		return used, nil
	}
}
