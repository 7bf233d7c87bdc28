package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CommonStatus is the part of the status every kind shares: the conditions kstatus, Flux, Helm
// and Argo CD read, the generation last reconciled, and the retry state that survives restarts.
type CommonStatus struct {
	// observedGeneration is the generation the operator last concluded on: reconciled, or
	// blocked until a person acts (then Stalled says why). 0 until the first such reconcile,
	// which kstatus (Flux, Helm --wait) reads as not reconciled yet.
	// +kubebuilder:default=0
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready says whether Falcon (and the Secrets) match the spec; Reconciling is
	// True while work is under way or retried; Stalled is True while a person must act.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// lastSyncTime is when the resource last took its state from Falcon.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// failedAttempts counts consecutive failed reconciles; it sets the retry backoff and survives
	// restarts.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`
	// lastFailureTime is when the last failed attempt happened.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`
}
