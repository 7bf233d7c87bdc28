package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// errCacheBehind: the cache still holds a copy older than this process's own last write.
var errCacheBehind = errors.New("the cache has not caught up with this process's own write")

const (
	// fenceWait bounds how long a reconcile waits for the cache to catch up with a write.
	fenceWait = 2 * time.Second
	// fencePoll is how often the cache is looked at meanwhile; a watch event takes milliseconds.
	fencePoll = 5 * time.Millisecond
)

// cacheFence keeps a reconcile from acting on a copy of a resource older than this process's own
// last write to it. A write's watch event reaches the cache a little after the write returns,
// and another event (the Secret the reconcile just created) can queue the next reconcile before
// it does: that reconcile would see the create intent but not the token and look the token up
// by its marker, two Falcon calls for nothing; or record as original settings the values it
// enforced itself. With the fence it waits the few milliseconds until the cache holds the write.
// Resource versions are compared as the integers they are (comparable since Kubernetes 1.35); a
// version that is not one never counts as old.
type cacheFence struct {
	// clock paces the wait. It is the real clock in the manager: the wait is for the API
	// server's watch, which runs on real time whatever clock the reconcilers decide by.
	clock clock.WithTicker

	mu      sync.Mutex
	written map[types.UID]string // the last resourceVersion this process wrote, until the cache has it
}

func newCacheFence(c clock.WithTicker) *cacheFence {
	return &cacheFence{clock: c, written: map[types.UID]string{}}
}

// wrote records the resourceVersion a write of the resource returned.
func (f *cacheFence) wrote(obj client.Object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written[obj.GetUID()] = obj.GetResourceVersion()
}

// forget drops what is known of a resource that is gone.
func (f *cacheFence) forget(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.written, uid)
}

// behind reports whether obj, read from the cache, is older than the last write to it.
func (f *cacheFence) behind(obj client.Object) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	written, ok := f.written[obj.GetUID()]
	if !ok {
		return false
	}
	if cmp, err := resourceversion.CompareResourceVersion(obj.GetResourceVersion(), written); err == nil && cmp < 0 {
		return true
	}
	delete(f.written, obj.GetUID()) // caught up: nothing older can come from the cache any more
	return false
}

// get reads key from c into obj, waiting up to fenceWait for the cache to catch up with this
// process's last write; errCacheBehind when it does not.
func (f *cacheFence) get(ctx context.Context, c client.Reader, key types.NamespacedName, obj client.Object) error {
	started := f.clock.Now()
	var ticker clock.Ticker
	for {
		if err := c.Get(ctx, key, obj); err != nil {
			return err
		}
		if !f.behind(obj) {
			return nil
		}
		if f.clock.Since(started) >= fenceWait {
			return errCacheBehind
		}
		if ticker == nil {
			ticker = f.clock.NewTicker(fencePoll)
			defer ticker.Stop()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C():
		}
	}
}
