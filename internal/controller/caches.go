package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// CacheOptions configure the manager's cache so that its memory does not grow with the
// cluster's unrelated Secrets: only Secrets carrying the operator's label are cached (the API
// server filters them), and managedFields are dropped from everything. Credentials Secrets,
// which do not carry the label, are never in this cache: see credentialWatches.
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{falconv1alpha1.ManagedByLabel: falconv1alpha1.ManagedByValue})},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// credentialsSyncTimeout bounds the wait for a credentials Secret's watch to start.
const credentialsSyncTimeout = 30 * time.Second

// secretsResource is what the credentials watches list and watch.
var secretsResource = corev1.SchemeGroupVersion.WithResource("secrets")

// credentialWatches watch the credentials Secrets in use, and nothing else: one metadata-only
// watch per Secret that a resource names (a field selector on its name), started when a
// reconcile first asks for that Secret and stopped once no resource names it any more. So the
// operator's memory does not grow with the cluster's Secrets, while a changed, created or
// deleted credentials Secret still reconciles every resource that uses it at once. A watch keeps
// only the Secret's identity and version; the data is read directly, once per version
// (credentialSource).
type credentialWatches struct {
	client     metadata.Interface
	namespaces map[string]bool // the namespaces the operator may watch; empty: all
	// changed is told about every change to a watched Secret after its watch started.
	changed func(ctx context.Context, ref types.NamespacedName)
	// inUse lists the credentials Secrets resources name, for stopping unused watches.
	inUse   func(ctx context.Context) (map[types.NamespacedName]bool, error)
	sweepAt time.Duration // how often unused watches are stopped

	started chan struct{}
	ctx     context.Context // the manager's, once started

	mu      sync.Mutex
	watches map[types.NamespacedName]*secretWatch
}

type secretWatch struct {
	informer toolscache.SharedIndexInformer
	stop     context.CancelFunc
}

// newCredentialWatches adds the watches to the manager. changed is told about every change of a
// watched Secret; inUse lists the Secrets resources name, checked every sweepAt to stop the
// watches no longer needed.
func newCredentialWatches(mgr manager.Manager, namespaces []string, changed func(context.Context, types.NamespacedName),
	inUse func(context.Context) (map[types.NamespacedName]bool, error), sweepAt time.Duration) (*credentialWatches, error) {
	c, err := metadata.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("create the credentials watch client: %w", err)
	}
	w := &credentialWatches{
		client:     c,
		namespaces: map[string]bool{},
		changed:    changed,
		inUse:      inUse,
		sweepAt:    sweepAt,
		started:    make(chan struct{}),
		watches:    map[types.NamespacedName]*secretWatch{},
	}
	for _, ns := range namespaces {
		w.namespaces[ns] = true
	}
	if err := mgr.Add(w); err != nil {
		return nil, fmt.Errorf("start the credentials watches: %w", err)
	}
	return w, nil
}

// Start runs until the manager stops, stopping watches no resource needs any more.
func (w *credentialWatches) Start(ctx context.Context) error {
	w.ctx = ctx
	close(w.started)
	sweep := time.NewTicker(w.sweepAt)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			w.mu.Lock()
			for ref, sw := range w.watches {
				sw.stop()
				delete(w.watches, ref)
			}
			w.mu.Unlock()
			return nil
		case <-sweep.C:
			w.sweep(ctx)
		}
	}
}

// NeedLeaderElection is false: watches start only when a reconcile asks, which only the leader does.
func (w *credentialWatches) NeedLeaderElection() bool { return false }

// watched reports whether the operator may watch Secrets in namespace.
func (w *credentialWatches) watched(namespace string) bool {
	return len(w.namespaces) == 0 || w.namespaces[namespace]
}

// get returns the identity and version of Secret ref, starting its watch on first use. The
// error is NotFound when the Secret does not exist.
func (w *credentialWatches) get(ctx context.Context, ref types.NamespacedName) (*metav1.PartialObjectMetadata, error) {
	select {
	case <-w.started:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sw := w.watch(ref)
	if !sw.informer.HasSynced() {
		// The first list is one small request; poll for it more often than client-go's 100ms,
		// and not for ever: a watch the operator may not open (RBAC) never syncs.
		err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, credentialsSyncTimeout, true, func(context.Context) (bool, error) {
			return sw.informer.HasSynced(), nil
		})
		if err != nil {
			return nil, fmt.Errorf("cannot watch credentials Secret %s (may the operator list and watch Secrets in %s?): %w", ref, ref.Namespace, err)
		}
	}
	obj, exists, err := sw.informer.GetStore().GetByKey(ref.String())
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, apierrors.NewNotFound(secretsResource.GroupResource(), ref.Name)
	}
	return obj.(*metav1.PartialObjectMetadata).DeepCopy(), nil
}

// watch returns the watch of Secret ref, starting it if needed.
func (w *credentialWatches) watch(ref types.NamespacedName) *secretWatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	if sw, ok := w.watches[ref]; ok {
		return sw
	}
	byName := fields.OneTermEqualSelector("metadata.name", ref.Name).String()
	secrets := w.client.Resource(secretsResource).Namespace(ref.Namespace)
	informer := toolscache.NewSharedIndexInformerWithOptions(&toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = byName
			return secrets.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = byName
			return secrets.Watch(ctx, opts)
		},
	}, &metav1.PartialObjectMetadata{}, toolscache.SharedIndexInformerOptions{ObjectDescription: "credentials Secret " + ref.String()})
	_ = informer.SetTransform(keepIdentity)
	notify := func() { w.changed(w.ctx, ref) }
	_, _ = informer.AddEventHandler(toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(_ any, initial bool) {
			if !initial { // a Secret present from the start is no news: its users are being reconciled
				notify()
			}
		},
		UpdateFunc: func(before, after any) {
			if resourceVersionOf(before) != resourceVersionOf(after) {
				notify()
			}
		},
		DeleteFunc: func(any) { notify() },
	})
	ctx, stop := context.WithCancel(w.ctx)
	go informer.RunWithContext(ctx)
	sw := &secretWatch{informer: informer, stop: stop}
	w.watches[ref] = sw
	return sw
}

// sweep stops the watches of Secrets no resource names any more.
func (w *credentialWatches) sweep(ctx context.Context) {
	w.mu.Lock()
	idle := len(w.watches) == 0
	w.mu.Unlock()
	if idle {
		return
	}
	used, err := w.inUse(ctx)
	if err != nil {
		log.FromContext(ctx).Error(err, "list the credentials Secrets in use")
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for ref, sw := range w.watches {
		if !used[ref] {
			sw.stop()
			delete(w.watches, ref)
		}
	}
}

// watching is the number of credentials Secrets watched.
func (w *credentialWatches) watching() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.watches)
}

func resourceVersionOf(obj any) string {
	if m, ok := obj.(metav1.Object); ok {
		return m.GetResourceVersion()
	}
	return ""
}

// keepIdentity drops all metadata but what identifies a credentials Secret's version.
func keepIdentity(in any) (any, error) {
	m, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			DeletionTimestamp: m.DeletionTimestamp,
		},
	}, nil
}
