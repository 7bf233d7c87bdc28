package e2e_test

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Scenario 10: SIGTERM to the leader, as the kubelet sends it. The process exits cleanly within
// the grace period, and releases the lease on the way, so a standby takes over at once instead
// of waiting out a lease duration.
func gracefulShutdown(ctx SpecContext) {
	s := newScenario(ctx, "shutdown")
	leader := s.startLeader()
	standby := s.startManager()
	Consistently(standby.isLeader).WithTimeout(2 * retryPeriod).Should(BeFalse())
	holders := watchLease(s.ns)
	oldHolder, err := s.leaseHolder(ctx)
	Expect(err).NotTo(HaveOccurred())

	signalled := time.Now()
	exitedIn := leader.terminate()
	Expect(leader.state.ExitCode()).To(BeZero(), "clean exit after SIGTERM\n%s", logTail(leader.logPath, 20))
	Expect(exitedIn).To(BeNumerically("<", gracePeriod), "exit within terminationGracePeriodSeconds")

	standby.waitLeader()
	var released, acquired *leaseChange
	Eventually(func(g Gomega) {
		released, acquired = holders.handover(oldHolder, signalled)
		g.Expect(released).NotTo(BeNil(), "the lease was released (holder emptied) after SIGTERM")
		g.Expect(acquired).NotTo(BeNil(), "a new holder took the lease")
	}).Should(Succeed())
	holders.stop()
	Expect(acquired.at.Sub(released.at)).To(BeNumerically("<", leaseDuration),
		"the standby took the released lease without waiting for it to expire")

	scenario := "10 graceful shutdown"
	record(scenario, "exit after SIGTERM in", exitedIn.Round(10*time.Millisecond))
	record(scenario, "grace period", gracePeriod)
	record(scenario, "exit code", leader.state.ExitCode())
	record(scenario, "lease released after SIGTERM in", released.at.Sub(signalled).Round(10*time.Millisecond))
	record(scenario, "standby took the lease after its release in", acquired.at.Sub(released.at).Round(10*time.Millisecond))
}

// leaseWatch records every holder the manager's lease in a namespace had, from a watch.
type leaseWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changes []leaseChange
}

type leaseChange struct {
	at     time.Time
	holder string
}

func watchLease(namespace string) *leaseWatch {
	GinkgoHelper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := k8sClient.Watch(ctx, &coordinationv1.LeaseList{}, client.InNamespace(namespace))
	Expect(err).NotTo(HaveOccurred())
	lw := &leaseWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(lw.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				lease, ok := ev.Object.(*coordinationv1.Lease)
				if !ok || lease.Name != leaseName {
					continue
				}
				holder := ""
				if lease.Spec.HolderIdentity != nil {
					holder = *lease.Spec.HolderIdentity
				}
				lw.mu.Lock()
				if len(lw.changes) == 0 || lw.changes[len(lw.changes)-1].holder != holder {
					lw.changes = append(lw.changes, leaseChange{at: time.Now(), holder: holder})
				}
				lw.mu.Unlock()
			}
		}
	}()
	DeferCleanup(lw.stop)
	return lw
}

func (lw *leaseWatch) stop() {
	lw.cancel()
	<-lw.done
}

// handover finds, after since, the release of the lease by oldHolder and the next holder.
func (lw *leaseWatch) handover(oldHolder string, since time.Time) (released, acquired *leaseChange) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for i := range lw.changes {
		c := lw.changes[i]
		switch {
		case c.at.Before(since):
		case released == nil && c.holder == "":
			released = &c
		case released != nil && c.holder != "" && c.holder != oldHolder:
			acquired = &c
			return released, acquired
		}
	}
	return released, nil
}
