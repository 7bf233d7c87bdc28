package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ManagementPolicy says whether the operator writes the settings or only watches them.
// +kubebuilder:validation:Enum=Enforce;Observe
type ManagementPolicy string

const (
	// ManagementEnforce writes the managed settings and corrects drift.
	ManagementEnforce ManagementPolicy = "Enforce"
	// ManagementObserve never writes; drift is only reported.
	ManagementObserve ManagementPolicy = "Observe"
)

// SettingsDeletionPolicy says what happens to the settings when the resource is deleted.
// +kubebuilder:validation:Enum=Orphan;Restore
type SettingsDeletionPolicy string

const (
	// SettingsDeletionOrphan leaves the settings as they are.
	SettingsDeletionOrphan SettingsDeletionPolicy = "Orphan"
	// SettingsDeletionRestore puts back the values observed before the operator's first write.
	SettingsDeletionRestore SettingsDeletionPolicy = "Restore"
)

// TokenSettingsValues are the customer account's installation-token settings. A field left
// unset is not managed.
type TokenSettingsValues struct {
	// tokensRequired: when true, sensors must present a valid installation token to install.
	// +optional
	TokensRequired *bool `json:"tokensRequired,omitempty"`

	// maxActiveTokens caps the number of valid installation tokens in the account. Lowering it
	// below the current count does not revoke tokens: Falcon decides, and the operator reports it.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxActiveTokens *int32 `json:"maxActiveTokens,omitempty"`
}

// FalconTokenSettingsSpec is the installation-token settings a customer account should have.
type FalconTokenSettingsSpec struct {
	// falconAPI says which Falcon cloud to use and where the API credentials are: a Secret in
	// the operator's cluster resource namespace. One customer account (CID) has one
	// FalconTokenSettings; a second one for the same CID is refused with reason Conflict.
	FalconAPI FalconAPI `json:"falconAPI"`

	TokenSettingsValues `json:",inline"`

	// managementPolicy is Enforce (default: write the set fields and correct drift) or Observe
	// (never write; report drift only).
	// +kubebuilder:default=Enforce
	// +optional
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// deletionPolicy is Orphan (default: leave the settings) or Restore (put back the values
	// observed before the operator's first write).
	// +kubebuilder:default=Orphan
	// +optional
	DeletionPolicy SettingsDeletionPolicy `json:"deletionPolicy,omitempty"`
}

// FalconTokenSettingsStatus is what the operator observed of the account's settings.
type FalconTokenSettingsStatus struct {
	// tokensRequired as observed in Falcon.
	// +optional
	TokensRequired *bool `json:"tokensRequired,omitempty"`
	// maxActiveTokens as observed in Falcon.
	// +optional
	MaxActiveTokens *int32 `json:"maxActiveTokens,omitempty"`
	// activeTokens is the number of valid installation tokens in the account.
	// +optional
	ActiveTokens *int32 `json:"activeTokens,omitempty"`
	// originalSettings are the values observed before the operator's first write; deletionPolicy
	// Restore puts them back.
	// +optional
	OriginalSettings *TokenSettingsValues `json:"originalSettings,omitempty"`
	// accountID identifies the customer account these settings belong to: its CCID, or, when the
	// API client may not read it, a digest of the client ID and member CID.
	// +optional
	AccountID string `json:"accountID,omitempty"`
	// cloud is the Falcon cloud the credentials resolved to.
	// +optional
	Cloud string `json:"cloud,omitempty"`

	CommonStatus `json:",inline"`
}

// FalconTokenSettings keeps a Falcon customer account's installation-token settings (whether
// tokens are required, and the cap on active tokens) as declared.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=fts,categories=falcon
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.managementPolicy`
// +kubebuilder:printcolumn:name="Tokens Required",type=boolean,JSONPath=`.status.tokensRequired`
// +kubebuilder:printcolumn:name="Max Active",type=integer,JSONPath=`.status.maxActiveTokens`
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.activeTokens`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Cloud",type=string,JSONPath=`.status.cloud`,priority=1
type FalconTokenSettings struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the settings wanted.
	Spec FalconTokenSettingsSpec `json:"spec"`
	// status is the settings observed.
	// +kubebuilder:default={}
	// +optional
	Status FalconTokenSettingsStatus `json:"status,omitempty"`
}

// FalconTokenSettingsList is a list of FalconTokenSettings.
// +kubebuilder:object:root=true
type FalconTokenSettingsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FalconTokenSettings `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, &FalconTokenSettings{}, &FalconTokenSettingsList{})
		return nil
	})
}
