package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RenewalStrategy says how a token that nears its expiry is renewed.
// +kubebuilder:validation:Enum=Rotate;Extend
type RenewalStrategy string

const (
	// RenewalRotate creates a new token, publishes it in the Secret and revokes the old one
	// after the grace period.
	RenewalRotate RenewalStrategy = "Rotate"
	// RenewalExtend moves the expiry of the same token forward; the value in the Secret stays.
	RenewalExtend RenewalStrategy = "Extend"
)

// TokenDeletionPolicy says what happens to the Falcon token when its resource is deleted.
// +kubebuilder:validation:Enum=Revoke;Delete;Orphan
type TokenDeletionPolicy string

const (
	// TokenDeletionRevoke revokes the token; it stays visible, revoked, in the Falcon console.
	TokenDeletionRevoke TokenDeletionPolicy = "Revoke"
	// TokenDeletionDelete deletes the token from the Falcon console.
	TokenDeletionDelete TokenDeletionPolicy = "Delete"
	// TokenDeletionOrphan leaves the token as it is and makes no API call.
	TokenDeletionOrphan TokenDeletionPolicy = "Orphan"
)

// Token statuses as the Falcon API reports them.
const (
	TokenStatusValid   = "valid"
	TokenStatusRevoked = "revoked"
	TokenStatusExpired = "expired"
)

// Default Secret keys: the falcon-sensor Helm chart's falconSecret reads exactly these.
const (
	DefaultTokenKey = "FALCONCTL_OPT_PROVISIONING_TOKEN"
	DefaultCIDKey   = "FALCONCTL_OPT_CID"
)

// FalconInstallationTokenSpec is the installation token a team wants and where to publish it.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.tokenID) || (has(self.tokenID) && self.tokenID == oldSelf.tokenID)",message="tokenID is immutable once set: create a new FalconInstallationToken to adopt another token"
// +kubebuilder:validation:XValidation:rule="!has(self.renewal) || !has(self.renewal.renewBefore) || has(self.expiresAfter)",message="renewal.renewBefore needs expiresAfter: a token that never expires is never renewed"
// +kubebuilder:validation:XValidation:rule="!has(self.renewal) || !has(self.renewal.renewBefore) || !has(self.expiresAfter) || duration(self.renewal.renewBefore) < duration(self.expiresAfter)",message="renewal.renewBefore must be shorter than expiresAfter"
type FalconInstallationTokenSpec struct {
	// falconAPI says which Falcon cloud to use and where the API credentials are.
	FalconAPI FalconAPI `json:"falconAPI"`

	// label is the token's label in the Falcon console. Defaults to <namespace>/<name>, prefixed
	// with <cluster>/ when the manager runs with --cluster-name. The operator appends a short
	// marker in brackets that ties the token to this resource. Changing it relabels the token
	// in place.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Label string `json:"label,omitempty"`

	// expiresAfter is the token's lifetime from its creation or last renewal, as a duration such
	// as 720h. Omitted, the token never expires. At least 10m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10m')",message="expiresAfter must be at least 10m"
	// +optional
	ExpiresAfter *metav1.Duration `json:"expiresAfter,omitempty"`

	// renewal says how and when an expiring token is renewed. Renewal is timed from the token's
	// real expiry in Falcon.
	// +kubebuilder:default={}
	// +optional
	Renewal Renewal `json:"renewal,omitempty"`

	// revoked true revokes the token; false keeps it valid, and restores a revocation the
	// operator made because revoked was true. A token revoked by a person in the Falcon console
	// is never restored: it is replaced by a new one.
	// +optional
	Revoked bool `json:"revoked,omitempty"`

	// tokenID adopts an existing Falcon token (32 hex characters) instead of creating one. It can
	// be set once and never changed.
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{32}$`
	// +optional
	TokenID string `json:"tokenID,omitempty"`

	// secret shapes the Secret that publishes the token and the customer ID.
	// +kubebuilder:default={}
	// +optional
	Secret SecretTemplate `json:"secret,omitempty"`

	// deletionPolicy says what happens to the Falcon token when this resource is deleted:
	// Revoke (default), Delete, or Orphan (no API call; also the way out when the credentials
	// are gone for good).
	// +kubebuilder:default=Revoke
	// +optional
	DeletionPolicy TokenDeletionPolicy `json:"deletionPolicy,omitempty"`
}

// Renewal says how and when an expiring token is renewed.
type Renewal struct {
	// strategy is Rotate (default: a new token is created, the Secret updated, and the old token
	// revoked after gracePeriod) or Extend (the same token's expiry is moved forward).
	// +kubebuilder:default=Rotate
	// +optional
	Strategy RenewalStrategy `json:"strategy,omitempty"`

	// renewBefore is how long before the expiry the token is renewed. Defaults to one third of
	// expiresAfter; must be shorter than expiresAfter.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="renewBefore must be positive"
	// +optional
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// gracePeriod is how long a rotated-out token stays valid after the new value is in the
	// Secret, so that sensors installing right now still succeed. Default 1h; 0s revokes at once.
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +optional
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// SecretTemplate shapes the Secret that publishes the token.
// +kubebuilder:validation:XValidation:rule="!has(self.labels) || self.labels.all(k, !k.startsWith('falcon.falconops.io/'))",message="secret.labels must not use the operator's prefix falcon.falconops.io/"
// +kubebuilder:validation:XValidation:rule="!has(self.annotations) || self.annotations.all(k, !k.startsWith('falcon.falconops.io/'))",message="secret.annotations must not use the operator's prefix falcon.falconops.io/"
type SecretTemplate struct {
	// name of the Secret, in this resource's namespace. Defaults to this resource's name.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`

	// labels added to the Secret.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations added to the Secret.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// keys names the Secret's data keys. The defaults plug into the falcon-sensor Helm chart's
	// falconSecret; falcon-provisioning-token and falcon-cid suit the falcon-operator.
	// +kubebuilder:default={}
	// +optional
	Keys SecretKeys `json:"keys,omitempty"`
}

// SecretKeys names the data keys of the published Secret.
// +kubebuilder:validation:XValidation:rule="!has(self.cid) || self.cid != self.token",message="secret.keys.token and secret.keys.cid must differ"
type SecretKeys struct {
	// token is the key holding the installation token.
	// +kubebuilder:default=FALCONCTL_OPT_PROVISIONING_TOKEN
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	Token string `json:"token,omitempty"`

	// cid is the key holding the customer ID with its checksum (CCID). An empty string leaves
	// the CID out of the Secret, and the API client then needs no Sensor Download scope.
	// +kubebuilder:default=FALCONCTL_OPT_CID
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([-._a-zA-Z0-9]+)?$`
	// +optional
	CID *string `json:"cid,omitempty"`
}

// PendingCreate records, before the create call, that a token is being created, so that a
// reconcile after a crash or timeout adopts it by its marker instead of creating another.
type PendingCreate struct {
	// revision the token is created for.
	Revision int64 `json:"revision"`
	// marker is the label marker the token is created with.
	Marker string `json:"marker"`
	// startedAt is when the create was first attempted.
	StartedAt metav1.Time `json:"startedAt"`
	// reason is why the token is created: Create (the first token), Rotate (renewal or the
	// rotate annotation) or Replace (the previous token was deleted, revoked or expired in Falcon).
	// +kubebuilder:validation:Enum=Create;Rotate;Replace
	Reason CreateReason `json:"reason"`
}

// CreateReason is why a token is being created.
type CreateReason string

// Reasons for creating a token.
const (
	CreateFirst   CreateReason = "Create"
	CreateRotate  CreateReason = "Rotate"
	CreateReplace CreateReason = "Replace"
)

// RetiringToken is a rotated-out token that stays valid until its grace period ends.
type RetiringToken struct {
	// tokenID of the old token.
	TokenID string `json:"tokenID"`
	// revokeAt is when the old token is revoked; empty until the Secret holds its successor.
	// +optional
	RevokeAt *metav1.Time `json:"revokeAt,omitempty"`
}

// FalconInstallationTokenStatus is what the operator observed of the token. It never holds the
// token value.
type FalconInstallationTokenStatus struct {
	// tokenID is the Falcon ID of the current token.
	// +optional
	TokenID string `json:"tokenID,omitempty"`
	// tokenStatus is the token's status in Falcon: valid, revoked or expired.
	// +optional
	TokenStatus string `json:"tokenStatus,omitempty"`
	// label is the token's label in Falcon, marker included.
	// +optional
	Label string `json:"label,omitempty"`
	// createdAt is when Falcon created the token.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// expiresAt is when the token expires; empty when it never does.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// lastUsedAt is when a sensor last installed with the token.
	// +optional
	LastUsedAt *metav1.Time `json:"lastUsedAt,omitempty"`
	// validSince is when the current validity period began: the token's creation or adoption,
	// or its last extension. The wanted expiry is validSince plus spec.expiresAfter.
	// +optional
	ValidSince *metav1.Time `json:"validSince,omitempty"`
	// renewalTime is when the operator will renew the token.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	// secretName is the Secret that holds the token.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// revision counts the tokens this resource has had: 1 after the first create, one more per
	// rotation or replacement.
	// +optional
	Revision int64 `json:"revision,omitempty"`
	// cloud is the Falcon cloud the credentials resolved to.
	// +optional
	Cloud string `json:"cloud,omitempty"`
	// revokedByOperator is true while the token is revoked because spec.revoked is true, which
	// is the only revocation spec.revoked: false restores.
	// +optional
	RevokedByOperator bool `json:"revokedByOperator,omitempty"`
	// pendingCreate is set while a create call may have reached Falcon without its reply.
	// +optional
	PendingCreate *PendingCreate `json:"pendingCreate,omitempty"`
	// retiringTokens are rotated-out tokens awaiting revocation after their grace period.
	// +optional
	// +listType=atomic
	RetiringTokens []RetiringToken `json:"retiringTokens,omitempty"`
	// lastSyncTime is when this resource last took the token's state from Falcon: when it was
	// created, changed or renewed, and when the drift check (which reads every token in batches
	// each sync period) found it changed in Falcon. An unchanged token leaves it alone.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// lastRotateRequest is the last value of the falcon.falconops.io/rotate annotation acted on.
	// +optional
	LastRotateRequest string `json:"lastRotateRequest,omitempty"`
	// failedAttempts counts consecutive failed reconciles; it sets the retry backoff and survives
	// restarts.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`
	// lastFailureTime is when the last failed attempt happened.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`
	// observedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready says whether the Secret holds a token that matches the spec.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
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
type FalconInstallationToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the token wanted.
	Spec FalconInstallationTokenSpec `json:"spec"`
	// status is the token observed.
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
	SchemeBuilder.Register(&FalconInstallationToken{}, &FalconInstallationTokenList{})
}
