package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// However often rotation is asked for, a resource rotates at most once an hour (or once a grace
// period, when longer), so it never holds more than two valid tokens.
func TestRotationWaitsForTheMinimumInterval(t *testing.T) {
	fit := unitToken("rotating", func(f *falconv1alpha1.FalconInstallationToken) {
		f.Spec.ExpiresAfter = &metav1.Duration{Duration: 30 * time.Hour}
	})
	c := fakeCluster(fit)
	account := newFakeFalcon()
	r, clk := tokenUnderTest(c, account)
	reconcileOnce(t, r, fit)
	first := current(t, c, fit).Status.TokenID

	annotated := current(t, c, fit)
	annotated.Annotations[falconv1alpha1.RotateAnnotation] = "now"
	if err := c.Update(context.Background(), annotated); err != nil {
		t.Fatal(err)
	}
	result := reconcileOnce(t, r, fit)
	if n := account.count("tokens-create"); n != 1 {
		t.Fatalf("creates = %d, want the rotation held back", n)
	}
	if result.RequeueAfter <= 0 || result.RequeueAfter > time.Hour {
		t.Fatalf("requeue after %s, want by the end of the hour", result.RequeueAfter)
	}

	clk.Step(time.Hour)
	reconcileOnce(t, r, fit)
	after := current(t, c, fit)
	if account.count("tokens-create") != 2 || after.Status.TokenID == first {
		t.Fatalf("creates = %d, token %s: want the rotation once the hour is over", account.count("tokens-create"), after.Status.TokenID)
	}
	if len(after.Status.RetiringTokens) != 1 || after.Status.RetiringTokens[0].TokenID != first {
		t.Fatalf("retiring = %+v, want the first token", after.Status.RetiringTokens)
	}
	if after.Status.LastRotateRequest != "now" {
		t.Fatalf("lastRotateRequest = %q", after.Status.LastRotateRequest)
	}
}
