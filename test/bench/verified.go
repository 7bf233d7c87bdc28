package main

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// verifyTimeout bounds the wait for a (re)started manager to verify every resource.
const verifyTimeout = 5 * time.Minute

// waitVerified waits until a manager started with every token in place has verified every
// resource against Falcon, and returns when it was first seen to have. Verified means, as
// observed from outside the manager:
//
//   - every resource's token was read from Falcon since the start: each token ID appeared in a
//     tokens-read request that Falcon answered 200 (recorded in front of the simulator, so it
//     counts the drift check's batched reads and any read of a single resource alike); and
//   - every resource's Secret was checked against that value: the token controller has finished
//     at least N reconciles since the start and has nothing queued or running (its
//     controller-runtime metrics). A manager that starts queues every resource once; a
//     reconcile that must check a Secret before its token's value is known waits for the drift
//     check's first pass or reads the token itself. So once that queue has drained after all
//     tokens were read, every Secret has been compared with a value read from Falcon.
//
// keys are the resources that exist; base is the controller's state before the start (an
// in-process manager's counters outlive it). The time's resolution is src.every.
func (b *bench) waitVerified(ctx context.Context, src metricsSource, keys []types.NamespacedName, base controllerState) (time.Time, error) {
	ids := b.tracker.tokenIDs(keys)
	n := float64(len(keys))
	return waitController(ctx, src, verifyTimeout, "every resource to be verified against Falcon", func(st controllerState) bool {
		return st.reconciles-base.reconciles >= n && st.idle() && b.reads.all(ids)
	})
}

// startVerified starts the in-process manager with the short sync period and waits until it
// has verified every resource (waitVerified). It returns the running manager's stop and how
// long the verification took from its start.
func (b *bench) startVerified(ctx context.Context) (stop func(), verifiedAfter time.Duration, err error) {
	b.reads.reset()
	base, err := readControllerState(ctx, inProcessMetrics) // the counters outlive a manager
	if err != nil {
		return nil, 0, err
	}
	started := time.Now()
	if stop, err = b.startManager(ctx, b.cfg.SyncPeriod); err != nil {
		return nil, 0, err
	}
	verified, err := b.waitVerified(ctx, inProcessMetrics, b.keys, base)
	if err != nil {
		stop()
		return nil, 0, err
	}
	return stop, verified.Sub(started), nil
}
