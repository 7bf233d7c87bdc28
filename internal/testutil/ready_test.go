package testutil

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

func TestReadiness(t *testing.T) {
	ready := metav1.Condition{Type: falconv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: falconv1alpha1.ReasonTokenReady}
	typed := func(generation, observed int64, conditions ...metav1.Condition) client.Object {
		fit := NewToken("ns", "t")
		fit.Generation, fit.Status.ObservedGeneration, fit.Status.Conditions = generation, observed, conditions
		return fit
	}
	untyped := func(generation, observed int64, status metav1.ConditionStatus) client.Object {
		u := &unstructured.Unstructured{Object: map[string]any{
			"status": map[string]any{
				"observedGeneration": observed,
				"conditions": []any{map[string]any{
					"type": "Ready", "status": string(status), "reason": "TokenReady", "message": "",
					"lastTransitionTime": "2026-01-01T00:00:00Z",
				}},
			},
		}}
		u.SetGeneration(generation)
		return u
	}
	cases := []struct {
		name   string
		obj    client.Object
		ready  bool
		reason string
	}{
		{"typed, Ready for its generation", typed(2, 2, ready), true, falconv1alpha1.ReasonTokenReady},
		{"typed, Ready for an older generation", typed(3, 2, ready), false, falconv1alpha1.ReasonTokenReady},
		{"typed, no condition yet", typed(1, 0), false, ""},
		{"unstructured, Ready", untyped(1, 1, metav1.ConditionTrue), true, "TokenReady"},
		{"unstructured, not Ready", untyped(1, 1, metav1.ConditionFalse), false, "TokenReady"},
		{"unstructured, no status", &unstructured.Unstructured{Object: map[string]any{}}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsReady(c.obj); got != c.ready {
				t.Errorf("IsReady = %v, want %v (%s)", got, c.ready, readiness(c.obj))
			}
			if got := ReadyReason(c.obj); got != c.reason {
				t.Errorf("ReadyReason = %q, want %q", got, c.reason)
			}
		})
	}
}
