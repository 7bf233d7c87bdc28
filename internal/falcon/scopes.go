package falcon

// Operation names, as used in errors, metrics and the simulator's counters.
const (
	opOAuth2Token            = "oauth2-token"
	opOAuth2Revoke           = "oauth2-revoke"
	opTokensQuery            = "tokens-query"
	opTokensRead             = "tokens-read"
	opTokensCreate           = "tokens-create"
	opTokensUpdate           = "tokens-update"
	opTokensDelete           = "tokens-delete"
	opAuditEventsQuery       = "audit-events-query"
	opAuditEventsRead        = "audit-events-read"
	opCustomerSettingsRead   = "customer-settings-read"
	opCustomerSettingsUpdate = "customer-settings-update"
	opCCID                   = "ccid"
)

// Console names of the API scopes, as a person finds them when editing an API client.
const (
	scopeTokensRead     = "Installation Tokens: Read"
	scopeTokensWrite    = "Installation Tokens: Write"
	scopeSettingsWrite  = "Installation Tokens Settings: Write"
	scopeSensorDownload = "Sensor Download: Read"
)

// operationScopes says which scope each operation needs. The API's 403 does not name the
// missing scope, so the client derives it from the operation.
var operationScopes = map[string]string{
	opTokensQuery:            scopeTokensRead,
	opTokensRead:             scopeTokensRead,
	opAuditEventsQuery:       scopeTokensRead,
	opAuditEventsRead:        scopeTokensRead,
	opCustomerSettingsRead:   scopeTokensRead,
	opTokensCreate:           scopeTokensWrite,
	opTokensUpdate:           scopeTokensWrite,
	opTokensDelete:           scopeTokensWrite,
	opCustomerSettingsUpdate: scopeSettingsWrite,
	opCCID:                   scopeSensorDownload,
}
