package v1alpha1

// CloudAutodiscover lets the operator find the credential's cloud from the us-1 OAuth2 redirect.
// GovCloud credentials do not autodiscover and must name their cloud.
const CloudAutodiscover = "autodiscover"

// FalconAPI says how a resource reaches the Falcon API.
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

	// credentialsSecretRef names the Secret holding the API client: keys client_id and
	// client_secret (or the falcon-operator's falcon-client-id and falcon-client-secret), and
	// optionally member_cid for an MSSP child CID. A FalconInstallationToken reads it from its own
	// namespace; the cluster-scoped kinds read it from the operator's cluster resource namespace
	// (--cluster-resource-namespace, by default the operator's own), as cert-manager's
	// ClusterIssuer does. Scopes: Installation Tokens: Read and Write for the token kinds,
	// Installation Tokens Settings: Write for FalconTokenSettings, and Sensor Download: Read to
	// read the CID.
	CredentialsSecretRef CredentialsReference `json:"credentialsSecretRef"`
}

// CredentialsReference names a credentials Secret.
type CredentialsReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}
