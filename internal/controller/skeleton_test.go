package controller

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// A failure's message reaches the Ready condition, a Warning event and the log: none may carry a
// token value the process knows, even when Falcon (or a proxy) echoes it.
func TestFailuresCarryNoTokenValue(t *testing.T) {
	fit := unitToken("echoed")
	c := fakeCluster(fit)
	account := newFakeFalcon()
	r, _ := tokenUnderTest(c, account)
	recorder := r.recorder.(*events.FakeRecorder)
	const value = "c0ffee42"
	r.values.set("another-token", value)
	account.fail["tokens-create"] = &falcon.APIError{Operation: "tokens-create", StatusCode: 400,
		Errors: []falcon.ErrorDetail{{Message: "label refused: token " + value + " already uses it"}}}

	reconcileOnce(t, r, fit)
	ready := meta.FindStatusCondition(current(t, c, fit).Status.Conditions, falconv1alpha1.ConditionReady)
	if ready == nil || ready.Reason != falconv1alpha1.ReasonAPIError {
		t.Fatalf("Ready = %+v, want APIError", ready)
	}
	if strings.Contains(ready.Message, value) || !strings.Contains(ready.Message, "[redacted]") {
		t.Errorf("Ready message %q must show [redacted] instead of the token value", ready.Message)
	}
	close(recorder.Events)
	for event := range recorder.Events {
		if strings.Contains(event, value) {
			t.Errorf("event %q carries the token value", event)
		}
	}
}

// observedGeneration moves when the reconcile concluded: on success, or when it is blocked
// until a person acts (kstatus then says Failed); a failure being retried leaves it behind.
func TestObservedGenerationFollowsTheConclusion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    error
		moves   bool
		stalled bool
	}{
		{"success", nil, true, false},
		{"blocked on a person", &falcon.APIError{Operation: "tokens-create", StatusCode: 400}, true, true},
		{"retried", &falcon.APIError{Operation: "tokens-create", StatusCode: 503}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fit := unitToken("gen")
			c := fakeCluster(fit)
			account := newFakeFalcon()
			if tc.fail != nil {
				account.fail["tokens-create"] = tc.fail
			}
			r, _ := tokenUnderTest(c, account)
			before := testutil.ToFloat64(reconcileFailures.WithLabelValues("FalconInstallationToken", falconv1alpha1.ReasonAPIUnavailable))
			reconcileOnce(t, r, fit)
			got := current(t, c, fit)
			if moved := got.Status.ObservedGeneration == got.Generation; moved != tc.moves {
				t.Errorf("observedGeneration %d for generation %d: moved = %v, want %v", got.Status.ObservedGeneration, got.Generation, moved, tc.moves)
			}
			if stalled := meta.IsStatusConditionTrue(got.Status.Conditions, falconv1alpha1.ConditionStalled); stalled != tc.stalled {
				t.Errorf("Stalled = %v, want %v", stalled, tc.stalled)
			}
			reconciling := meta.IsStatusConditionTrue(got.Status.Conditions, falconv1alpha1.ConditionReconciling)
			if reconciling != (tc.fail != nil && !tc.stalled) {
				t.Errorf("Reconciling = %v", reconciling)
			}
			after := testutil.ToFloat64(reconcileFailures.WithLabelValues("FalconInstallationToken", falconv1alpha1.ReasonAPIUnavailable))
			if counted := after - before; (counted == 1) != (tc.name == "retried") {
				t.Errorf("falcon_reconcile_failures_total{reason=APIUnavailable} rose by %v", counted)
			}
		})
	}
}
