package v1alpha1

// CloudAutodiscover lets the operator find the credential's cloud from the us-1 OAuth2 redirect.
// GovCloud credentials do not autodiscover and must name their cloud.
const CloudAutodiscover = "autodiscover"

// FalconAPI says how a namespaced resource reaches the Falcon API.
type FalconAPI struct {
	// cloud is the Falcon cloud of the API client: autodiscover, us-1, us-2, us-3, eu-1,
	// us-gov-1, us-gov-2, or a name the cluster administrator registered with the manager flag
	// --cloud-endpoint NAME=URL (for proxies and private endpoints). A URL is never accepted here,
	// so whoever can write this resource cannot send the credentials to another host.
	// +kubebuilder:default=autodiscover
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Cloud string `json:"cloud,omitempty"`

	// credentialsSecretRef names a Secret in this resource's namespace holding the API client:
	// keys client_id and client_secret (or the falcon-operator's falcon-client-id and
	// falcon-client-secret), and optionally member_cid for an MSSP child CID.
	// The API client needs the scopes Installation Tokens: Read and Write, and Sensor Download:
	// Read when the Secret carries the CID.
	CredentialsSecretRef LocalCredentialsReference `json:"credentialsSecretRef"`
}

// LocalCredentialsReference names a credentials Secret in the referring resource's namespace.
type LocalCredentialsReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ClusterFalconAPI says how a cluster-scoped resource reaches the Falcon API.
type ClusterFalconAPI struct {
	// cloud is the Falcon cloud of the API client: autodiscover, us-1, us-2, us-3, eu-1,
	// us-gov-1, us-gov-2, or a name registered with the manager flag --cloud-endpoint NAME=URL.
	// +kubebuilder:default=autodiscover
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Cloud string `json:"cloud,omitempty"`

	// credentialsSecretRef names the Secret holding the API client (keys as for
	// FalconInstallationToken) and the namespace it lives in. The API client needs the scopes
	// Installation Tokens: Read and Installation Tokens Settings: Write, and Sensor Download:
	// Read to identify the CID.
	CredentialsSecretRef CredentialsReference `json:"credentialsSecretRef"`
}

// CredentialsReference names a credentials Secret in a given namespace.
type CredentialsReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace of the Secret. Required: a cluster-scoped resource has no namespace of its own.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`
}
