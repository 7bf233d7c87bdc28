package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemoryResult: the manager on an empty cluster, with the N resources (and their Secrets), and
// with many unrelated Secrets besides.
type MemoryResult struct {
	Empty   MemorySample  `json:"emptyCluster"`
	Without MemorySample  `json:"withoutUnrelatedSecrets"`
	With    *MemorySample `json:"withUnrelatedSecrets,omitempty"`
	// The growth over the empty cluster per 1,000 resources, each with its Secret.
	RSSPerThousandMiB  float64         `json:"rssPerThousandResourcesMiB"`
	HeapPerThousandMiB float64         `json:"heapPerThousandResourcesMiB"`
	UnrelatedCreate    metav1.Duration `json:"unrelatedSecretsCreatedIn,omitempty"`
	RSSRatio           float64         `json:"rssRatio,omitempty"` // with / without unrelated Secrets
}

// MemorySample: the manager binary's resident set and the in-process manager's Go heap.
type MemorySample struct {
	RSSKiB     int64 `json:"rssKiB"`     // VmRSS, median of the samples
	PeakRSSKiB int64 `json:"peakRSSKiB"` // VmHWM
	HeapBytes  int64 `json:"heapBytes"`  // live heap after GC, running minus stopped
	// Verified is how long the binary took from its start until every resource was verified.
	Verified metav1.Duration `json:"binaryVerifiedAfter"`
}

// measureEmpty measures the manager on the cluster before any resource exists: the baseline
// of the growth per 1,000 resources.
func (b *bench) measureEmpty(ctx context.Context, binary string, mem *MemoryResult) error {
	b.logf("memory: RSS of the manager binary on an empty cluster")
	var err error
	if mem.Empty, _, err = b.runBinary(ctx, binary, "empty", nil, false); err != nil {
		return err
	}
	b.logf("memory: Go heap of the in-process manager on an empty cluster")
	stop, err := b.startManager(ctx, b.cfg.SyncPeriod)
	if err != nil {
		return err
	}
	mem.Empty.HeapBytes = b.heapOf(ctx, stop)
	return nil
}

// measureMemory measures the manager with the N resources: the Go heap of the in-process
// manager that stop stops, then the binary's resident set, profiled; and again with the
// unrelated Secrets when asked.
func (b *bench) measureMemory(ctx context.Context, binary string, stop func(), mem *MemoryResult) (*Profiles, error) {
	cfg := b.cfg
	b.logf("memory: Go heap of the in-process manager, %d resources", cfg.N)
	heap := b.heapOf(ctx, stop)
	b.logf("memory: RSS and profiles of the manager binary, %d resources", cfg.N)
	without, profiles, err := b.runBinary(ctx, binary, "resources", b.keys, true)
	if err != nil {
		return nil, err
	}
	without.HeapBytes = heap
	mem.Without = without
	thousands := float64(cfg.N) / 1000
	mem.RSSPerThousandMiB = float64(mem.Without.RSSKiB-mem.Empty.RSSKiB) / 1024 / thousands
	mem.HeapPerThousandMiB = float64(mem.Without.HeapBytes-mem.Empty.HeapBytes) / (1 << 20) / thousands
	if cfg.Unrelated == 0 {
		return profiles, nil
	}

	b.logf("memory: creating %d unrelated Secrets of %d bytes", cfg.Unrelated, cfg.UnrelatedSize)
	t0 := time.Now()
	if err := b.createUnrelated(ctx); err != nil {
		return nil, err
	}
	mem.UnrelatedCreate = metav1.Duration{Duration: time.Since(t0).Round(time.Second)}
	b.logf("memory: RSS of the manager binary, %d unrelated Secrets", cfg.Unrelated)
	with, _, err := b.runBinary(ctx, binary, "unrelated", b.keys, false)
	if err != nil {
		return nil, err
	}
	mem.With = &with
	b.logf("memory: Go heap of the in-process manager, %d unrelated Secrets", cfg.Unrelated)
	stopWith, _, err := b.startVerified(ctx)
	if err != nil {
		return nil, err
	}
	mem.With.HeapBytes = b.heapOf(ctx, stopWith)
	mem.RSSRatio = float64(mem.With.RSSKiB) / float64(mem.Without.RSSKiB)
	return profiles, nil
}

// heapOf measures the live Go heap of the running in-process manager as the difference between
// the heap after GC with it running and after it stopped, then leaves it stopped.
func (b *bench) heapOf(ctx context.Context, stop func()) int64 {
	running := liveHeap()
	stop()
	_ = sleep(ctx, time.Second) // goroutines finish unwinding
	return running - liveHeap()
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// createUnrelated fills the cluster with Secrets the operator has nothing to do with.
func (b *bench) createUnrelated(ctx context.Context) error {
	data := make([]byte, b.cfg.UnrelatedSize)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	return parallel(ctx, 32, b.cfg.Unrelated, func(ctx context.Context, i int) error {
		return b.k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNamespace, Name: fmt.Sprintf("unrelated-%05d", i), Labels: map[string]string{"app": "unrelated"}},
			Data:       map[string][]byte{"payload": data},
		})
	})
}
