package falcon

import (
	"context"
	"net/http"
)

const customerSettingsPath = "/installation-tokens/entities/customer-settings/v1"

// CustomerSettings are the CID's installation-token settings.
type CustomerSettings struct {
	TokensRequired  bool `json:"tokens_required"`
	MaxActiveTokens int  `json:"max_active_tokens"`
}

// CustomerSettingsUpdate changes the fields that are not nil; false and 0 are sent as values.
type CustomerSettingsUpdate struct {
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

// UpdateCustomerSettings writes the fields set in u and returns the settings as they now are.
func (c *Client) UpdateCustomerSettings(ctx context.Context, u CustomerSettingsUpdate) (CustomerSettings, error) {
	rq := request{op: opCustomerSettingsUpdate, method: http.MethodPatch, path: customerSettingsPath, body: u}
	settings, found, err := first[CustomerSettings](ctx, c, rq)
	if err != nil || found {
		return settings, err
	}
	// Before 2026 the API answered the PATCH without the settings: read them instead.
	return c.GetCustomerSettings(ctx)
}
