package testutil

import (
	"fmt"

	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// Conditions returns status.conditions and status.observedGeneration of an object of any kind,
// typed or unstructured, read through its JSON form: every kind of the operator shares that
// status shape, so a kind added later needs nothing here.
func Conditions(obj client.Object) (conditions []metav1.Condition, observedGeneration int64, err error) {
	var content map[string]any
	if u, ok := obj.(*unstructured.Unstructured); ok {
		content = u.Object
	} else if content, err = runtime.DefaultUnstructuredConverter.ToUnstructured(obj); err != nil {
		return nil, 0, err
	}
	observedGeneration, _, err = unstructured.NestedInt64(content, "status", "observedGeneration")
	if err != nil {
		return nil, 0, fmt.Errorf("status.observedGeneration: %w", err)
	}
	raw, _, err := unstructured.NestedSlice(content, "status", "conditions")
	if err != nil {
		return nil, 0, fmt.Errorf("status.conditions: %w", err)
	}
	for _, item := range raw {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, 0, fmt.Errorf("status.conditions holds a %T", item)
		}
		var c metav1.Condition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c); err != nil {
			return nil, 0, fmt.Errorf("status.conditions: %w", err)
		}
		conditions = append(conditions, c)
	}
	return conditions, observedGeneration, nil
}

// ReadyCondition is the object's Ready condition, or nil when it has none (yet).
func ReadyCondition(obj client.Object) *metav1.Condition {
	conditions, _, err := Conditions(obj)
	if err != nil {
		return nil
	}
	return meta.FindStatusCondition(conditions, falconv1alpha1.ConditionReady)
}

// ReadyReason is the reason of the object's Ready condition, "" without one.
func ReadyReason(obj client.Object) string {
	if c := ReadyCondition(obj); c != nil {
		return c.Reason
	}
	return ""
}

// IsReady reports whether Ready is True for the object's current generation, which is what
// kstatus, Helm --wait and Argo CD wait for.
func IsReady(obj client.Object) bool {
	return readiness(obj) == ""
}

// readiness says why obj is not Ready for its generation, "" when it is.
func readiness(obj client.Object) string {
	conditions, observed, err := Conditions(obj)
	if err != nil {
		return err.Error()
	}
	c := meta.FindStatusCondition(conditions, falconv1alpha1.ConditionReady)
	switch {
	case c == nil:
		return "it has no Ready condition"
	case c.Status != metav1.ConditionTrue:
		return fmt.Sprintf("Ready is %s, %s: %s", c.Status, c.Reason, c.Message)
	case observed != obj.GetGeneration():
		return fmt.Sprintf("Ready is True, but for generation %d of %d", observed, obj.GetGeneration())
	}
	return ""
}

// BeReady matches an object whose Ready condition is True for its current generation; its
// failure message says the reason and message of Ready otherwise.
func BeReady() types.GomegaMatcher { return &readyMatcher{} }

type readyMatcher struct{ why string }

func (m *readyMatcher) Match(actual any) (bool, error) {
	obj, ok := actual.(client.Object)
	if !ok {
		return false, fmt.Errorf("BeReady wants a client.Object, got %T", actual)
	}
	m.why = readiness(obj)
	return m.why == "", nil
}

func (m *readyMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("expected %s to be Ready: %s", describe(actual), m.why)
}

func (m *readyMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("expected %s not to be Ready", describe(actual))
}

// HaveReadyReason matches an object whose Ready condition has reason, whatever its status.
func HaveReadyReason(reason string) types.GomegaMatcher { return &reasonMatcher{want: reason} }

type reasonMatcher struct{ want, got string }

func (m *reasonMatcher) Match(actual any) (bool, error) {
	obj, ok := actual.(client.Object)
	if !ok {
		return false, fmt.Errorf("HaveReadyReason wants a client.Object, got %T", actual)
	}
	m.got = ReadyReason(obj)
	return m.got == m.want, nil
}

func (m *reasonMatcher) FailureMessage(actual any) string {
	return fmt.Sprintf("expected the Ready reason of %s to be %q, it is %q", describe(actual), m.want, m.got)
}

func (m *reasonMatcher) NegatedFailureMessage(actual any) string {
	return fmt.Sprintf("expected the Ready reason of %s not to be %q", describe(actual), m.want)
}

func describe(actual any) string {
	obj, ok := actual.(client.Object)
	if !ok {
		return fmt.Sprintf("%T", actual)
	}
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
