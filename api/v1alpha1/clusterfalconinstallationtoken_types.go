package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ClusterFalconInstallationTokenSpec is one installation token published into many namespaces.
type ClusterFalconInstallationTokenSpec struct {
	// falconAPI says which Falcon cloud to use and where the API credentials are: a Secret in
	// the operator's cluster resource namespace.
	FalconAPI FalconAPI `json:"falconAPI"`

	TokenParameters `json:",inline"`

	// secret shapes the Secret that publishes the token and the customer ID, and says which
	// namespaces get a copy.
	Secret ClusterSecretTemplate `json:"secret"`
}

// ClusterSecretTemplate is a SecretTemplate and the namespaces it is published into: those
// listed and those the selector matches, including namespaces created or labelled later.
// +kubebuilder:validation:XValidation:rule="(has(self.namespaces) && size(self.namespaces) > 0) || has(self.namespaceSelector)",message="secret needs namespaces, a namespaceSelector, or both"
type ClusterSecretTemplate struct {
	SecretTemplate `json:",inline"`

	// namespaces get a copy of the Secret.
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// namespaceSelector selects more namespaces that get a copy, by their labels.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// NamespaceRefusal is a selected namespace the Secret could not be published into.
type NamespaceRefusal struct {
	// namespace that was refused.
	Namespace string `json:"namespace"`
	// reason, as for the Ready condition: SecretConflict, KubernetesForbidden, ...
	Reason string `json:"reason"`
	// message says what to do.
	Message string `json:"message"`
}

// ClusterFalconInstallationTokenStatus is what the operator observed of the token and where it
// is published. It never holds the token value.
type ClusterFalconInstallationTokenStatus struct {
	InstallationTokenStatus `json:",inline"`

	// publishedNamespaces hold a copy of the Secret with the current token.
	// +optional
	// +listType=atomic
	PublishedNamespaces []string `json:"publishedNamespaces,omitempty"`
	// refusedNamespaces are selected namespaces that hold no copy, and why.
	// +optional
	// +listType=atomic
	RefusedNamespaces []NamespaceRefusal `json:"refusedNamespaces,omitempty"`

	CommonStatus `json:",inline"`
}

// ClusterFalconInstallationToken is one CrowdStrike Falcon sensor installation token, kept valid
// by the operator and published with the customer ID in a Secret in every selected namespace:
// for the falcon-platform chart, whose sensor and admission controller read the same Secret in
// their own namespaces.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cfit,categories=falcon
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.tokenStatus`
// +kubebuilder:printcolumn:name="Expires",type=string,format=date-time,JSONPath=`.status.expiresAt`,description="When the token expires (RFC 3339); empty when it never does"
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Namespaces",type=string,JSONPath=`.status.publishedNamespaces`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Token ID",type=string,JSONPath=`.status.tokenID`,priority=1
// +kubebuilder:printcolumn:name="Cloud",type=string,JSONPath=`.status.cloud`,priority=1
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.tokenID) || (has(self.spec.tokenID) ? has(oldSelf.spec.tokenID) && self.spec.tokenID == oldSelf.spec.tokenID : !has(oldSelf.spec.tokenID))",message="spec.tokenID cannot change once the resource holds a token: create a new resource to adopt another token"
type ClusterFalconInstallationToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the token wanted and where it goes.
	Spec ClusterFalconInstallationTokenSpec `json:"spec"`
	// status is the token observed and where it is published.
	// +kubebuilder:default={}
	// +optional
	Status ClusterFalconInstallationTokenStatus `json:"status,omitempty"`
}

// ClusterFalconInstallationTokenList is a list of ClusterFalconInstallationToken.
// +kubebuilder:object:root=true
type ClusterFalconInstallationTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterFalconInstallationToken `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, &ClusterFalconInstallationToken{}, &ClusterFalconInstallationTokenList{})
		return nil
	})
}
