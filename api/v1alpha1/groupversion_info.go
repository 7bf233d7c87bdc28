// Package v1alpha1 contains the API of falcon-token-operator: FalconInstallationToken, a
// CrowdStrike Falcon sensor installation token published in a Secret, and FalconTokenSettings,
// the customer account's installation-token settings.
//
// +kubebuilder:object:generate=true
// +groupName=falcon.falconops.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "falcon.falconops.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
