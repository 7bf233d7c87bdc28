package falcon

import (
	"encoding/json"
	"fmt"
	"io"
)

// Credentials identify a Falcon API client. MemberCID, when set, makes an MSSP parent client
// act for that child CID. Printing or JSON-encoding Credentials never shows ClientSecret.
type Credentials struct {
	ClientID     string
	ClientSecret string
	MemberCID    string
}

// String shows the client ID and member CID and whether a secret is set, never the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("falcon.Credentials{ClientID: %q, ClientSecret: %s, MemberCID: %q}", c.ClientID, redacted(c.ClientSecret), c.MemberCID)
}

// GoString is String, so %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// Format makes every fmt verb print String.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// MarshalJSON leaves the secret out, for loggers that encode values as JSON.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ClientID     string `json:"clientID"`
		ClientSecret string `json:"clientSecret"`
		MemberCID    string `json:"memberCID,omitempty"`
	}{c.ClientID, redacted(c.ClientSecret), c.MemberCID})
}

// redacted tells whether a secret is set without showing it.
func redacted(secret string) string {
	if secret == "" {
		return `""`
	}
	return "<redacted>"
}
