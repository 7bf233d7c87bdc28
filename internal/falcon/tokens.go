package falcon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	tokensQueryPath  = "/installation-tokens/queries/tokens/v1"
	tokensEntityPath = "/installation-tokens/entities/tokens/v1"
	// maxIDsPerRequest keeps entity requests' URLs short.
	maxIDsPerRequest = 100
)

// Token statuses. The API documents valid and revoked; expired is accepted as well.
const (
	TokenStatusValid   = "valid"
	TokenStatusRevoked = "revoked"
	TokenStatusExpired = "expired"
)

// Token is an installation token. Value is the secret sensors install with; printing or
// JSON-encoding a Token leaves it out.
type Token struct {
	ID, Value, Label, Status, Type string
	CreatedAt                      time.Time
	ExpiresAt, LastUsedAt          *time.Time // ExpiresAt nil: never expires
	RevokedAt                      *time.Time
}

// String shows the token's fields except Value.
func (t Token) String() string {
	expires := "never"
	if t.ExpiresAt != nil {
		expires = t.ExpiresAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("falcon.Token{ID: %q, Label: %q, Status: %q, Expires: %s, Value: %s}", t.ID, t.Label, t.Status, expires, redacted(t.Value))
}

// Format makes every fmt verb print String.
func (t Token) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, t.String()) }

// MarshalJSON encodes the token without its value, for loggers that encode values as JSON.
func (t Token) MarshalJSON() ([]byte, error) {
	type withoutValue Token
	v := withoutValue(t)
	v.Value = redacted(t.Value)
	return json.Marshal(v)
}

// tokenJSON is the API's token entity.
type tokenJSON struct {
	ID       string  `json:"id"`
	Value    string  `json:"value"`
	Label    string  `json:"label"`
	Status   string  `json:"status"`
	Type     string  `json:"type"`
	Created  apiTime `json:"created_timestamp"`
	Expires  apiTime `json:"expires_timestamp"`
	LastUsed apiTime `json:"last_used_timestamp"`
	Revoked  apiTime `json:"revoked_timestamp"`
}

func (w tokenJSON) token() Token {
	return Token{
		ID: w.ID, Value: w.Value, Label: w.Label, Status: strings.ToLower(w.Status), Type: w.Type,
		CreatedAt: w.Created.value(), ExpiresAt: w.Expires.t, LastUsedAt: w.LastUsed.t, RevokedAt: w.Revoked.t,
	}
}

// GetTokens reads tokens by ID, up to 100 per request. IDs the API does not know are left out
// of the result rather than failing the call.
func (c *Client) GetTokens(ctx context.Context, ids []string) ([]Token, error) {
	return readEntities(ctx, c, opTokensRead, tokensEntityPath, ids, tokenJSON.token)
}

// readEntities reads entities by ID in batches (?ids=a&ids=b) and converts them.
func readEntities[W, T any](ctx context.Context, c *Client, op, path string, ids []string, convert func(W) T) ([]T, error) {
	var out []T
	for batch := range slices.Chunk(ids, maxIDsPerRequest) {
		var page []W
		rq := request{op: op, method: http.MethodGet, path: path, query: url.Values{"ids": batch}, missingOK: true}
		if _, err := c.do(ctx, rq, &page); err != nil {
			return nil, err
		}
		for _, w := range page {
			out = append(out, convert(w))
		}
	}
	return out, nil
}

// tokenCreateBody leaves out the optional "type": CrowdStrike's own clients never send it.
type tokenCreateBody struct {
	Label   string   `json:"label"`
	Expires wireTime `json:"expires_timestamp"`
}

// CreateToken creates a token; a nil expiresAt makes it never expire. A reply without the new
// token's ID is a malformed reply (IsServerError): the token may exist, so look for it before
// creating another.
func (c *Client) CreateToken(ctx context.Context, label string, expiresAt *time.Time) (Token, error) {
	body := tokenCreateBody{Label: label, Expires: wireTime{expiresAt}}
	created, found, err := first[tokenJSON](ctx, c, request{op: opTokensCreate, method: http.MethodPost, path: tokensEntityPath, body: body})
	switch {
	case err != nil:
		return Token{}, err
	case !found:
		return Token{}, missingResource(opTokensCreate, "token")
	case created.ID == "":
		return Token{}, missingResource(opTokensCreate, "token ID")
	}
	return created.token(), nil
}

// TokenUpdate changes the fields that are not nil.
type TokenUpdate struct {
	Label   *string
	Expiry  *Expiry
	Revoked *bool // false restores a revoked token
}

// Expiry is a new expiry time; At == nil means the token never expires.
type Expiry struct{ At *time.Time }

// tokenPatchBody sends exactly the fields set: false and null are values, not omissions.
type tokenPatchBody struct {
	Label   *string   `json:"label,omitempty"`
	Expires *wireTime `json:"expires_timestamp,omitempty"`
	Revoked *bool     `json:"revoked,omitempty"`
}

// UpdateTokens applies u to the tokens and returns them as updated. A 404 (IsNotFound) means
// none of the IDs exists. An update with no field set is refused without a request.
func (c *Client) UpdateTokens(ctx context.Context, ids []string, u TokenUpdate) ([]Token, error) {
	if u == (TokenUpdate{}) {
		return nil, refusal(opTokensUpdate, "no token field to change", "")
	}
	body := tokenPatchBody{Label: u.Label, Revoked: u.Revoked}
	if u.Expiry != nil {
		body.Expires = &wireTime{u.Expiry.At}
	}
	var updated []Token
	for batch := range slices.Chunk(ids, maxIDsPerRequest) {
		var page []tokenJSON
		rq := request{op: opTokensUpdate, method: http.MethodPatch, path: tokensEntityPath, query: commaIDs(batch), body: body}
		if _, err := c.do(ctx, rq, &page); err != nil {
			return nil, err
		}
		if len(page) == 0 {
			// Before 2026 the API answered a PATCH without the entities: read them instead.
			tokens, err := c.GetTokens(ctx, batch)
			if err != nil {
				return nil, err
			}
			updated = append(updated, tokens...)
			continue
		}
		for _, w := range page {
			updated = append(updated, w.token())
		}
	}
	return updated, nil
}

// DeleteTokens deletes tokens. A 404 (IsNotFound) means none of the IDs exists.
func (c *Client) DeleteTokens(ctx context.Context, ids []string) error {
	for batch := range slices.Chunk(ids, maxIDsPerRequest) {
		rq := request{op: opTokensDelete, method: http.MethodDelete, path: tokensEntityPath, query: commaIDs(batch)}
		if _, err := c.do(ctx, rq, nil); err != nil {
			return err
		}
	}
	return nil
}

// commaIDs is the ids parameter of PATCH and DELETE, which take one comma-separated value.
func commaIDs(ids []string) url.Values {
	return url.Values{"ids": {strings.Join(ids, ",")}}
}
