package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// FalconInstallationTokenSpec is the installation token a team wants and where to publish it.
type FalconInstallationTokenSpec struct {
	// falconAPI says which Falcon cloud to use and where the API credentials are: a Secret in
	// this resource's namespace.
	FalconAPI FalconAPI `json:"falconAPI"`

	TokenParameters `json:",inline"`

	// secret shapes the Secret, in this resource's namespace, that publishes the token and the
	// customer ID.
	// +kubebuilder:default={}
	// +optional
	Secret SecretTemplate `json:"secret,omitempty"`
}

// FalconInstallationTokenStatus is what the operator observed of the token. It never holds the
// token value.
type FalconInstallationTokenStatus struct {
	InstallationTokenStatus `json:",inline"`
	CommonStatus            `json:",inline"`
}

// FalconInstallationToken is a CrowdStrike Falcon sensor installation token, kept valid by the
// operator and published with the customer ID in a Secret for sensor rollouts.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fit,categories=falcon
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.tokenStatus`
// +kubebuilder:printcolumn:name="Expires",type=string,format=date-time,JSONPath=`.status.expiresAt`,description="When the token expires (RFC 3339); empty when it never does"
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Token ID",type=string,JSONPath=`.status.tokenID`,priority=1
// +kubebuilder:printcolumn:name="Cloud",type=string,JSONPath=`.status.cloud`,priority=1
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.tokenID) || (has(self.spec.tokenID) ? has(oldSelf.spec.tokenID) && self.spec.tokenID == oldSelf.spec.tokenID : !has(oldSelf.spec.tokenID))",message="spec.tokenID cannot change once the resource holds a token: create a new resource to adopt another token"
type FalconInstallationToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the token wanted.
	Spec FalconInstallationTokenSpec `json:"spec"`
	// status is the token observed.
	// +kubebuilder:default={}
	// +optional
	Status FalconInstallationTokenStatus `json:"status,omitempty"`
}

// FalconInstallationTokenList is a list of FalconInstallationToken.
// +kubebuilder:object:root=true
type FalconInstallationTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FalconInstallationToken `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, &FalconInstallationToken{}, &FalconInstallationTokenList{})
		return nil
	})
}
