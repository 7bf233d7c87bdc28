package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	firstRetry = time.Second
	maxRetry   = 5 * time.Minute
	// jitterFactor spreads requeues of many objects so they do not all hit Falcon in the same
	// second.
	jitterFactor = 0.1
	// conflictRetry is the wait before a reconcile that lost a write race starts over.
	conflictRetry = 200 * time.Millisecond
)

// retryDelay is the wait before attempt n+1 after n consecutive failures: 1s doubling to 5m.
// The count lives in status, so a restart does not reset it.
func retryDelay(failures int32) time.Duration {
	delay := firstRetry
	for i := int32(1); i < failures && delay < maxRetry; i++ {
		delay *= 2
	}
	return min(delay, maxRetry)
}

// jittered is d plus up to a tenth of it.
func jittered(d time.Duration) time.Duration { return wait.Jitter(d, jitterFactor) }
