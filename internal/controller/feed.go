package controller

import (
	"context"
	"sync"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// requestFeed puts reconcile requests from outside the cluster's watches (a changed credentials
// Secret, the drift check) straight into a controller's queue. Requests made before the
// controller starts are held until it does.
type requestFeed struct {
	mu      sync.Mutex
	queue   workqueue.TypedRateLimitingInterface[reconcile.Request]
	pending []reconcile.Request
}

// source is the feed as a controller watch.
func (f *requestFeed) source() source.Source {
	return source.Func(func(_ context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.queue = queue
		for _, r := range f.pending {
			queue.Add(r)
		}
		f.pending = nil
		return nil
	})
}

// add queues requests; the queue merges duplicates.
func (f *requestFeed) add(requests ...reconcile.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queue == nil {
		f.pending = append(f.pending, requests...)
		return
	}
	for _, r := range requests {
		f.queue.Add(r)
	}
}
