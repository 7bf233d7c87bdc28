package controller

import (
	"math/rand/v2"
	"time"
)

const (
	firstRetry = time.Second
	maxRetry   = 5 * time.Minute
)

// retryDelay is the wait before attempt n+1 after n consecutive failures: 1s doubling to 5m.
// The count lives in status, so a restart does not reset it.
func retryDelay(failures int32) time.Duration {
	if failures < 1 {
		return firstRetry
	}
	delay := firstRetry
	for i := int32(1); i < failures && delay < maxRetry; i++ {
		delay *= 2
	}
	return min(delay, maxRetry)
}

// withJitter spreads requeues of many objects so they do not all hit Falcon in the same second.
func withJitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
