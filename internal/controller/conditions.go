package controller

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// verdict is how a reconcile leaves the conditions: Ready and why, and whether the operator is
// still at work (Reconciling) or waits for a person (Stalled).
type verdict struct {
	ready       bool
	reason      string
	message     string
	progressing bool
	stalled     bool
}

func ready(reason, message string) verdict {
	return verdict{ready: true, reason: reason, message: message}
}

func progressing(reason, message string) verdict {
	return verdict{reason: reason, message: message, progressing: true}
}

func stalled(reason, message string) verdict {
	return verdict{reason: reason, message: message, stalled: true}
}

// setConditions writes v as the Ready, Reconciling and Stalled conditions for generation, and
// reports whether Ready's status or reason changed.
func setConditions(conditions *[]metav1.Condition, generation int64, v verdict) bool {
	previous := meta.FindStatusCondition(*conditions, falconv1alpha1.ConditionReady)
	status := metav1.ConditionFalse
	if v.ready {
		status = metav1.ConditionTrue
	}
	changed := previous == nil || previous.Status != status || previous.Reason != v.reason
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: falconv1alpha1.ConditionReady, Status: status, Reason: v.reason, Message: v.message, ObservedGeneration: generation,
	})
	setOrRemove(conditions, falconv1alpha1.ConditionReconciling, v.progressing, generation, v.reason, v.message)
	setOrRemove(conditions, falconv1alpha1.ConditionStalled, v.stalled, generation, v.reason, v.message)
	return changed
}

// setOrRemove keeps an abnormal-true condition only while it holds, as kstatus expects.
func setOrRemove(conditions *[]metav1.Condition, conditionType string, holds bool, generation int64, reason, message string) {
	if !holds {
		meta.RemoveStatusCondition(conditions, conditionType)
		return
	}
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: conditionType, Status: metav1.ConditionTrue, Reason: reason, Message: message, ObservedGeneration: generation,
	})
}
