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
	// TokenDeletionOrphan leaves the token as it is and makes no API call; the Secret is kept too.
	TokenDeletionOrphan TokenDeletionPolicy = "Orphan"
)

// Default Secret keys: the falcon-sensor Helm chart's falconSecret reads exactly these.
const (
	DefaultTokenKey = "FALCONCTL_OPT_PROVISIONING_TOKEN"
	DefaultCIDKey   = "FALCONCTL_OPT_CID"
)

// TokenParameters are the installation token a resource wants, shared by
// FalconInstallationToken and ClusterFalconInstallationToken. A token is renewed at most once an
// hour: the bounds below refuse renewal settings that would rotate more often, and a resource
// never holds more than two valid tokens (the current one and one in its grace period).
// +kubebuilder:validation:XValidation:rule="!has(self.renewal) || !has(self.renewal.renewBefore) || has(self.expiresAfter)",message="renewal.renewBefore needs expiresAfter: a token that never expires is never renewed"
// +kubebuilder:validation:XValidation:rule="!has(self.expiresAfter) || !has(self.renewal) || !has(self.renewal.renewBefore) || duration(self.expiresAfter) - duration(self.renewal.renewBefore) >= duration('1h')",message="expiresAfter minus renewal.renewBefore must be at least 1h: a token is renewed at most once an hour"
// +kubebuilder:validation:XValidation:rule="!has(self.expiresAfter) || (has(self.renewal) && has(self.renewal.renewBefore)) || duration(self.expiresAfter) >= duration('90m')",message="expiresAfter must be at least 90m when renewal.renewBefore is left to its default of a third of it: a token is renewed at most once an hour"
// +kubebuilder:validation:XValidation:rule="!has(self.expiresAfter) || !has(self.renewal) || !has(self.renewal.gracePeriod) || (has(self.renewal.renewBefore) ? duration(self.renewal.gracePeriod) < duration(self.expiresAfter) - duration(self.renewal.renewBefore) : duration(self.renewal.gracePeriod) + duration(self.renewal.gracePeriod) + duration(self.renewal.gracePeriod) < duration(self.expiresAfter) + duration(self.expiresAfter))",message="renewal.gracePeriod must be shorter than the time between renewals (expiresAfter minus renewBefore), so that a resource never holds more than two valid tokens"
type TokenParameters struct {
	// label is the token's label in the Falcon console. Defaults to <namespace>/<name>
	// (<name> for the cluster-scoped kind), prefixed with <cluster>/ when the manager runs with
	// --cluster-name. The operator appends a short marker in brackets that ties the token to
	// this resource. Changing it relabels the token in place.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	Label string `json:"label,omitempty"`

	// expiresAfter is the token's lifetime from its creation or last renewal, as a duration such
	// as 720h, from 1h to 8760h (a year). Omitted, the token never expires.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h') && duration(self) <= duration('8760h')",message="expiresAfter must be from 1h to 8760h"
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

	// tokenID adopts an existing Falcon token (32 lower-case hex characters) instead of creating
	// one. It cannot change once the resource holds a token. A token that another resource
	// manages is refused (reason TokenOwnedElsewhere).
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{32}$`
	// +optional
	TokenID string `json:"tokenID,omitempty"`

	// deletionPolicy says what happens to the Falcon token when this resource is deleted:
	// Revoke, Delete, or Orphan (no API call, and the Secret is kept; also the way out when the
	// credentials are gone for good). Unset, a token the operator created is revoked and an
	// adopted one (tokenID) is left alone.
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
	// expiresAfter; expiresAfter minus renewBefore must be at least 1h.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="renewBefore must be positive"
	// +optional
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// gracePeriod is how long a rotated-out token stays valid after the new value is in the
	// Secret, so that sensors installing right now still succeed: from 0s (revoke at once) to
	// 24h, and shorter than the time between renewals. Default 1h.
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('24h')",message="gracePeriod must be at most 24h"
	// +optional
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// SecretTemplate shapes the Secret that publishes the token. Labels and annotations are checked
// as the API server checks a Secret's, so that no token is minted for a Secret that cannot be
// written.
// +kubebuilder:validation:XValidation:rule="!has(self.labels) || self.labels.all(k, !k.startsWith('falcon.falconops.io/'))",message="secret.labels must not use the operator's prefix falcon.falconops.io/"
// +kubebuilder:validation:XValidation:rule="!has(self.annotations) || self.annotations.all(k, !k.startsWith('falcon.falconops.io/'))",message="secret.annotations must not use the operator's prefix falcon.falconops.io/"
type SecretTemplate struct {
	// name of the Secret. Defaults to this resource's name.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`

	// labels added to the Secret: Kubernetes label keys and values.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$') && (k.contains('/') ? size(k.split('/')[0]) <= 253 && size(k.split('/')[1]) <= 63 : size(k) <= 63))",message="secret.labels keys must be valid label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 characters"
	// +optional
	Labels map[string]LabelValue `json:"labels,omitempty"`

	// annotations added to the Secret: Kubernetes annotation keys, 256 KiB at most in all.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$') && (k.contains('/') ? size(k.split('/')[0]) <= 253 && size(k.split('/')[1]) <= 63 : size(k) <= 63))",message="secret.annotations keys must be valid annotation keys: an optional DNS subdomain prefix and '/', then a name of at most 63 characters"
	// +kubebuilder:validation:XValidation:rule="self.map(k, size(k) + size(self[k])).sum() <= 262144",message="secret.annotations must be at most 256 KiB in all"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// keys names the Secret's data keys. The defaults plug into the falcon-sensor Helm chart's
	// falconSecret; falcon-provisioning-token and falcon-cid suit the falcon-operator.
	// +kubebuilder:default={}
	// +optional
	Keys SecretKeys `json:"keys,omitempty"`
}

// LabelValue is a Kubernetes label value: at most 63 characters, alphanumeric at both ends, '-',
// '_' or '.' between.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
type LabelValue string

// SecretKeys names the data keys of the published Secret.
// +kubebuilder:validation:XValidation:rule="!has(self.cid) || self.cid != self.token",message="secret.keys.token and secret.keys.cid must differ"
type SecretKeys struct {
	// token is the key holding the installation token.
	// +kubebuilder:default=FALCONCTL_OPT_PROVISIONING_TOKEN
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self != '.' && self != '..'",message="secret.keys.token must not be '.' or '..'"
	// +optional
	Token string `json:"token,omitempty"`

	// cid is the key holding the customer ID with its checksum (CCID). An empty string leaves
	// the CID out of the Secret, and the API client then needs no Sensor Download scope.
	// +kubebuilder:default=FALCONCTL_OPT_CID
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([-._a-zA-Z0-9]+)?$`
	// +kubebuilder:validation:XValidation:rule="self != '.' && self != '..'",message="secret.keys.cid must not be '.' or '..'"
	// +optional
	CID *string `json:"cid,omitempty"`
}

// CreateIntent records on the resource, before the create call and in the same write as the
// finalizer, that a token is being created, so that a reconcile after a crash or timeout adopts
// it by its marker instead of creating another. It is kept as JSON in the annotation
// falcon.falconops.io/create-intent; it is finished once status.revision reaches its revision.
type CreateIntent struct {
	// revision the token is created for.
	Revision int64 `json:"revision"`
	// marker is the label marker the token is created with.
	Marker string `json:"marker"`
	// startedAt is when the create was first attempted.
	StartedAt metav1.Time `json:"startedAt"`
	// reason is why the token is created.
	Reason CreateReason `json:"reason"`
}

// CreateReason is why a token is being created: Create (the first token), Rotate (renewal or the
// rotate annotation) or Replace (the previous token was deleted, revoked or expired in Falcon).
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

// InstallationTokenStatus is what the operator observed of a resource's token, shared by
// FalconInstallationToken and ClusterFalconInstallationToken. It never holds the token value.
type InstallationTokenStatus struct {
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
	// lastUsedAt is when a sensor last installed with the token, as Falcon reported it; it is
	// brought up to date at most once a day.
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
	// adopted is true when the current token was adopted through spec.tokenID rather than
	// created by the operator.
	// +optional
	Adopted bool `json:"adopted,omitempty"`
	// revokedByOperator is true while the token is revoked because spec.revoked is true, which
	// is the only revocation spec.revoked: false restores.
	// +optional
	RevokedByOperator bool `json:"revokedByOperator,omitempty"`
	// retiringTokens are rotated-out tokens awaiting revocation after their grace period.
	// +optional
	// +listType=atomic
	RetiringTokens []RetiringToken `json:"retiringTokens,omitempty"`
	// lastRotateRequest is the last value of the falcon.falconops.io/rotate annotation acted on.
	// +optional
	LastRotateRequest string `json:"lastRotateRequest,omitempty"`
}
