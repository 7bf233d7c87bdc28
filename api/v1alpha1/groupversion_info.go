// Package v1alpha1 contains the API of falcon-token-operator: FalconInstallationToken, a
// CrowdStrike Falcon sensor installation token published in a Secret, and FalconTokenSettings,
// the customer account's installation-token settings.
//
// +kubebuilder:object:generate=true
// +groupName=falcon.falconops.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "falcon.falconops.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme: each kind's file
	// registers its types with AddKnownTypes in an init function. It is apimachinery's builder,
	// as kubebuilder scaffolds it, so that this package does not depend on controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(func(s *runtime.Scheme) error {
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
