package falcon

import (
	"context"
	"net/http"
)

const customerSettingsPath = "/installation-tokens/entities/customer-settings/v1"

// CustomerSettings are the CID's installation-token settings. A field the API left out is nil,
// never false or 0: those are values.
type CustomerSettings struct {
	TokensRequired  *bool `json:"tokens_required,omitempty"`
	MaxActiveTokens *int  `json:"max_active_tokens,omitempty"`
}

// GetCustomerSettings reads the CID's settings.
func (c *Client) GetCustomerSettings(ctx context.Context) (CustomerSettings, error) {
	rq := request{op: opCustomerSettingsRead, method: http.MethodGet, path: customerSettingsPath}
	settings, found, err := first[CustomerSettings](ctx, c, rq)
	if err == nil && !found {
		err = missingResource(rq.op, "settings")
	}
	return settings, err
}

// UpdateCustomerSettings writes every field of s that is not nil, and returns the settings as
// they now are. Pass the full settings (those just read, with the fields to change
// overwritten) so that both fields are sent whenever they are known. Settings with no field
// set are refused without a request.
func (c *Client) UpdateCustomerSettings(ctx context.Context, s CustomerSettings) (CustomerSettings, error) {
	if s.TokensRequired == nil && s.MaxActiveTokens == nil {
		return CustomerSettings{}, refusal(opCustomerSettingsUpdate, "no settings to write", "")
	}
	rq := request{op: opCustomerSettingsUpdate, method: http.MethodPatch, path: customerSettingsPath, body: s}
	settings, found, err := first[CustomerSettings](ctx, c, rq)
	if err != nil || found {
		return settings, err
	}
	// Before 2026 the API answered the PATCH without the settings: read them instead.
	return c.GetCustomerSettings(ctx)
}
