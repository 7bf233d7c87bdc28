package v1alpha1

// Names the operator owns on objects it touches. Every one lives under falcon.falconops.io/.
const (
	// Finalizer keeps a custom resource until its Falcon-side cleanup ran.
	Finalizer = "falcon.falconops.io/cleanup"
	// RotateAnnotation on a token resource asks for a rotation now; any new value triggers
	// exactly one rotation (at most one an hour).
	RotateAnnotation = "falcon.falconops.io/rotate"
	// CreateIntentAnnotation on a token resource holds its CreateIntent as JSON.
	CreateIntentAnnotation = "falcon.falconops.io/create-intent"
	// ManagedByLabel marks Secrets the operator writes; the manager caches only Secrets with it.
	ManagedByLabel = "falcon.falconops.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel.
	ManagedByValue = "falcon-token-operator"
	// RevisionAnnotation on a generated Secret is the token revision it holds.
	RevisionAnnotation = "falcon.falconops.io/revision"
	// TokenIDAnnotation on a generated Secret is the Falcon ID of the token it holds.
	TokenIDAnnotation = "falcon.falconops.io/token-id"
)
