package v1alpha1

// Condition types every kind carries, as kstatus (Flux, Helm --wait, Argo CD with the health
// check in docs/) reads them.
const (
	// ConditionReady says whether Falcon (and the published Secrets) match the spec.
	ConditionReady = "Ready"
	// ConditionReconciling is True while work is under way: a token being created or rotated, a
	// failure being retried, a rate limit being waited out.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True while the resource cannot progress until a person acts.
	ConditionStalled = "Stalled"
)

// Condition reasons. Each doubles as an entry in docs/troubleshooting.md, which says what to do.
const (
	// ReasonTokenReady: the Secret holds a valid token that matches the spec.
	ReasonTokenReady = "TokenReady"
	// ReasonTokenRevoked: the token is revoked because spec.revoked is true; Ready is True, as
	// that is what the spec asks for.
	ReasonTokenRevoked = "TokenRevoked"
	// ReasonInSync: the account's settings match the spec (or, under Observe, were read).
	ReasonInSync = "InSync"
	// ReasonDriftDetected: under Observe, Falcon's settings differ from the spec.
	ReasonDriftDetected = "DriftDetected"
	// ReasonCredentialsNotFound: the credentials Secret or one of its keys is missing.
	ReasonCredentialsNotFound = "CredentialsNotFound"
	// ReasonCredentialsInvalid: Falcon refused the client ID and secret.
	ReasonCredentialsInvalid = "CredentialsInvalid"
	// ReasonCloudNotFound: spec.falconAPI.cloud is neither a Falcon cloud nor registered with
	// --cloud-endpoint.
	ReasonCloudNotFound = "CloudNotFound"
	// ReasonMissingScope: the API client lacks a scope; the message names it as the console does.
	ReasonMissingScope = "MissingScope"
	// ReasonRateLimited: Falcon's rate limit is spent; the message says until when.
	ReasonRateLimited = "RateLimited"
	// ReasonAPIUnavailable: Falcon answered 5xx or could not be reached; retried with backoff.
	ReasonAPIUnavailable = "APIUnavailable"
	// ReasonAPIError: Falcon refused a request for a reason a person must look at.
	ReasonAPIError = "APIError"
	// ReasonTokenLimitReached: the account has as many valid tokens as maxActiveTokens allows.
	ReasonTokenLimitReached = "TokenLimitReached"
	// ReasonTokenNotFound: the token named by spec.tokenID does not exist.
	ReasonTokenNotFound = "TokenNotFound"
	// ReasonTokenOwnedElsewhere: the token named by spec.tokenID is managed by another resource.
	ReasonTokenOwnedElsewhere = "TokenOwnedElsewhere"
	// ReasonNamespaceNotFound: no namespace a ClusterFalconInstallationToken selects exists yet
	// (also the reason a listed namespace that does not exist is in status.refusedNamespaces).
	ReasonNamespaceNotFound = "NamespaceNotFound"
	// ReasonSecretConflict: a Secret of the wanted name exists and is not owned by this resource.
	ReasonSecretConflict = "SecretConflict"
	// ReasonConflict: another FalconTokenSettings already manages this customer account.
	ReasonConflict = "Conflict"
	// ReasonExpired: the token expired and cannot be renewed.
	ReasonExpired = "Expired"
	// ReasonDeleting: the resource is being deleted and its cleanup has not finished.
	ReasonDeleting = "Deleting"
	// ReasonKubernetesForbidden: the Kubernetes API server refused the operator a request (RBAC).
	ReasonKubernetesForbidden = "KubernetesForbidden"
	// ReasonKubernetesInvalid: the Kubernetes API server refused an object the operator wrote as
	// invalid (such as the Secret).
	ReasonKubernetesInvalid = "KubernetesInvalid"
	// ReasonKubernetesUnavailable: the Kubernetes API server failed or timed out; retried with
	// backoff.
	ReasonKubernetesUnavailable = "KubernetesUnavailable"
	// ReasonReconcileError: an unexpected error; retried with backoff, see the operator's log.
	ReasonReconcileError = "ReconcileError"
)

// Event reasons, recorded only when something happened.
const (
	EventCreated          = "Created"
	EventAdopted          = "Adopted"
	EventRotated          = "Rotated"
	EventReplaced         = "Replaced"
	EventExtended         = "Extended"
	EventUpdated          = "Updated"
	EventRevoked          = "Revoked"
	EventRestored         = "Restored"
	EventDeleted          = "Deleted"
	EventOrphaned         = "Orphaned"
	EventSecretRestored   = "SecretRestored"
	EventSecretRemoved    = "SecretRemoved"
	EventDriftDetected    = "DriftDetected"
	EventDriftCorrected   = "DriftCorrected"
	EventSettingsRestored = "SettingsRestored"
	EventDuplicateRevoked = "DuplicateRevoked"
	EventTokensLeftBehind = "TokensLeftBehind"
)
