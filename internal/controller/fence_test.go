package controller

import (
	"context"
	"errors"
	"runtime"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

func TestCacheFence(t *testing.T) {
	fit := func(rv string) *falconv1alpha1.FalconInstallationToken {
		return &falconv1alpha1.FalconInstallationToken{ObjectMeta: metav1.ObjectMeta{UID: "u", ResourceVersion: rv}}
	}
	f := newCacheFence(clocktesting.NewFakeClock(t0))
	if f.behind(fit("5")) {
		t.Fatal("nothing written: nothing is behind")
	}
	f.wrote(fit("10"))
	for _, rv := range []string{"9", "2"} {
		if !f.behind(fit(rv)) {
			t.Errorf("resourceVersion %s is older than the write", rv)
		}
	}
	if f.behind(fit("11")) {
		t.Error("a newer copy is not behind")
	}
	if f.behind(fit("9")) {
		t.Error("once the cache caught up, the write is forgotten")
	}
	f.wrote(fit("20"))
	if f.behind(fit("not-a-number")) {
		t.Error("a resourceVersion that is not an integer never counts as behind")
	}
	f.wrote(fit("30"))
	f.forget("u")
	if f.behind(fit("29")) {
		t.Error("a forgotten resource is never behind")
	}
}

// A cache that never catches up costs the reconcile fenceWait on the fence's clock, then
// errCacheBehind, never a reconcile on the old copy.
func TestCacheFenceGivesUpAfterItsWait(t *testing.T) {
	stored := &falconv1alpha1.FalconInstallationToken{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "n", UID: "u"}}
	c := fakeCluster(stored)
	clk := clocktesting.NewFakeClock(t0)
	f := newCacheFence(clk)
	ahead := current(t, c, stored)
	ahead.ResourceVersion = "1000000"
	f.wrote(ahead)
	done := make(chan error, 1)
	go func() {
		done <- f.get(context.Background(), c, client.ObjectKeyFromObject(stored), &falconv1alpha1.FalconInstallationToken{})
	}()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		default:
			if clk.HasWaiters() { // time passes only while the fence waits, and only as the test says
				clk.Step(fencePoll)
			}
			runtime.Gosched()
		}
	}
	if clk.Since(t0) < fenceWait {
		t.Fatalf("the fence gave up after %s, before its wait of %s", clk.Since(t0), fenceWait)
	}
	if !errors.Is(err, errCacheBehind) {
		t.Fatalf("get = %v, want errCacheBehind", err)
	}
}
