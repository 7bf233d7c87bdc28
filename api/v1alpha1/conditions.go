package v1alpha1

// ConditionReady is the one condition type of both kinds: whether Falcon matches the spec.
const ConditionReady = "Ready"

// Condition reasons. Each doubles as an entry in docs/troubleshooting.md, which says what to do.
const (
	// ReasonTokenReady: the Secret holds a valid token that matches the spec.
	ReasonTokenReady = "TokenReady"
	// ReasonTokenRevoked: the token is revoked because spec.revoked is true.
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
	// ReasonSecretConflict: a Secret of the wanted name exists and is not owned by this resource.
	ReasonSecretConflict = "SecretConflict"
	// ReasonConflict: another FalconTokenSettings already manages this customer account.
	ReasonConflict = "Conflict"
	// ReasonExpired: the token expired and cannot be renewed.
	ReasonExpired = "Expired"
	// ReasonDeleting: the resource is being deleted and its cleanup has not finished.
	ReasonDeleting = "Deleting"
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
	EventDriftDetected    = "DriftDetected"
	EventDriftCorrected   = "DriftCorrected"
	EventSettingsRestored = "SettingsRestored"
)
