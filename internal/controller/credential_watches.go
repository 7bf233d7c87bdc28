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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

const (
	// credentialsSyncTimeout bounds the wait for a credentials Secret's watch to start.
	credentialsSyncTimeout = 30 * time.Second
	// maxSecretWatches is how many credentials Secrets of one namespace are watched one by one;
	// beyond it, one watch of the namespace's Secrets (metadata only) serves them all.
	maxSecretWatches = 3
)

// secretsResource is what the credentials watches list and watch.
var secretsResource = corev1.SchemeGroupVersion.WithResource("secrets")

// namespaceWideSelector leaves out of a namespace-wide watch the Secrets that are never
// credentials and come in numbers: service-account tokens and Helm release records.
var namespaceWideSelector = fields.AndSelectors(
	fields.OneTermNotEqualSelector("type", string(corev1.SecretTypeServiceAccountToken)),
	fields.OneTermNotEqualSelector("type", "helm.sh/release.v1"),
).String()

// credentialWatches watch the credentials Secrets in use, metadata only, and nothing else: a
// watch per Secret that a resource names (a field selector on its name) while a namespace has
// few, and one watch of the namespace's Secrets once it has more, so the number of watches stays
// bounded by namespaces, not Secrets. A watch starts when a reconcile first asks for a Secret
// and stops once no resource names a Secret it serves. A changed, created or deleted credentials
// Secret reconciles every resource that uses it at once. A watch keeps only each Secret's
// identity and version; the data is read directly, once per version (credentialSource).
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
	bySpace map[string]*namespaceWatches
}

// namespaceWatches are the watches of one namespace: per Secret, or one for the namespace.
type namespaceWatches struct {
	perSecret map[string]*secretWatch
	wide      *secretWatch
}

type secretWatch struct {
	informer toolscache.SharedIndexInformer
	stop     context.CancelFunc
}

// newCredentialWatches adds the watches to the manager. namespaces are those the operator may
// watch (empty: all); changed is told about every change of a watched Secret; inUse lists the
// Secrets resources name, checked every sweepAt to stop the watches no longer needed.
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
		bySpace:    map[string]*namespaceWatches{},
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
			for ns, nw := range w.bySpace {
				nw.stopAll()
				delete(w.bySpace, ns)
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

// get returns the identity and version of Secret ref, starting a watch that serves it on first
// use. The error is NotFound when the Secret does not exist.
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

// watch returns the watch serving Secret ref, starting one if needed: a namespace-wide one once
// the namespace has more than maxSecretWatches Secrets in use.
func (w *credentialWatches) watch(ref types.NamespacedName) *secretWatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	nw, ok := w.bySpace[ref.Namespace]
	if !ok {
		nw = &namespaceWatches{perSecret: map[string]*secretWatch{}}
		w.bySpace[ref.Namespace] = nw
	}
	if nw.wide != nil {
		return nw.wide
	}
	if sw, ok := nw.perSecret[ref.Name]; ok {
		return sw
	}
	if len(nw.perSecret) < maxSecretWatches {
		sw := w.start(ref.Namespace, fields.OneTermEqualSelector("metadata.name", ref.Name).String(), "credentials Secret "+ref.String())
		nw.perSecret[ref.Name] = sw
		return sw
	}
	nw.wide = w.start(ref.Namespace, namespaceWideSelector, "credentials Secrets in "+ref.Namespace)
	for name, sw := range nw.perSecret {
		sw.stop()
		delete(nw.perSecret, name)
	}
	return nw.wide
}

// start runs a metadata-only watch of the Secrets of namespace that fieldSelector selects.
func (w *credentialWatches) start(namespace, fieldSelector, description string) *secretWatch {
	secrets := w.client.Resource(secretsResource).Namespace(namespace)
	// Wrapped so that the reflector knows whether the client can stream its initial list, as
	// generated informers do.
	informer := toolscache.NewSharedIndexInformerWithOptions(toolscache.ToListWatcherWithWatchListSemantics(&toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = fieldSelector
			return secrets.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = fieldSelector
			return secrets.Watch(ctx, opts)
		},
	}, w.client), &metav1.PartialObjectMetadata{}, toolscache.SharedIndexInformerOptions{ObjectDescription: description})
	_ = informer.SetTransform(keepIdentity)
	notify := func(obj any) {
		if m, ok := obj.(metav1.Object); ok {
			w.changed(w.ctx, types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
		} else if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			if m, ok := tombstone.Obj.(metav1.Object); ok {
				w.changed(w.ctx, types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
			}
		}
	}
	_, _ = informer.AddEventHandler(toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if !initial { // a Secret present from the start is no news: its users are being reconciled
				notify(obj)
			}
		},
		UpdateFunc: func(before, after any) {
			if resourceVersionOf(before) != resourceVersionOf(after) {
				notify(after)
			}
		},
		DeleteFunc: notify,
	})
	ctx, stop := context.WithCancel(w.ctx)
	go informer.RunWithContext(ctx)
	return &secretWatch{informer: informer, stop: stop}
}

// sweep stops the watches that serve no Secret a resource names any more.
func (w *credentialWatches) sweep(ctx context.Context) {
	w.mu.Lock()
	idle := len(w.bySpace) == 0
	w.mu.Unlock()
	if idle {
		return
	}
	used, err := w.inUse(ctx)
	if err != nil {
		log.FromContext(ctx).Error(err, "list the credentials Secrets in use")
		return
	}
	usedIn := map[string]bool{}
	for ref := range used {
		usedIn[ref.Namespace] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for ns, nw := range w.bySpace {
		for name, sw := range nw.perSecret {
			if !used[types.NamespacedName{Namespace: ns, Name: name}] {
				sw.stop()
				delete(nw.perSecret, name)
			}
		}
		if nw.wide != nil && !usedIn[ns] {
			nw.wide.stop()
			nw.wide = nil
		}
		if nw.wide == nil && len(nw.perSecret) == 0 {
			delete(w.bySpace, ns)
		}
	}
}

func (nw *namespaceWatches) stopAll() {
	for _, sw := range nw.perSecret {
		sw.stop()
	}
	if nw.wide != nil {
		nw.wide.stop()
	}
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
