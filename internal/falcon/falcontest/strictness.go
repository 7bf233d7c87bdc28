package falcontest

import (
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"
)

// What the simulator refuses so as to be at least as strict as the API (see the package doc).

// defaultMaxLabelLength is the label limit when Options.MaxLabelLength is 0.
const defaultMaxLabelLength = 255

// Token fields that requests set, and that queries filter and sort on.
const (
	fieldLabel            = "label"
	fieldType             = "type"
	fieldCreatedTimestamp = "created_timestamp"
	fieldExpiresTimestamp = "expires_timestamp"
	fieldRevoked          = "revoked"
)

// The fields of the swagger's request bodies.
var (
	tokenCreateFields   = []string{fieldLabel, fieldExpiresTimestamp, fieldType}    // api.tokenCreateRequestV1
	tokenPatchFields    = []string{fieldLabel, fieldExpiresTimestamp, fieldRevoked} // api.tokenPatchRequestV1
	settingsPatchFields = []string{"max_active_tokens", "tokens_required"}          // api.customerSettingsPatchRequestV1
)

var (
	tokenIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// timestampPattern is how the API writes times: UTC, whole seconds.
	timestampPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
)

// tokenIDs reads the ids parameter and refuses it empty or with an ID that is not 32
// lower-case hex.
func tokenIDs(r *http.Request) ([]string, *response) {
	want := ids(r)
	if len(want) == 0 {
		return nil, badRequest("ids is required")
	}
	for _, id := range want {
		if !tokenIDPattern.MatchString(id) {
			return nil, badRequest(fmt.Sprintf("invalid token id %q: want 32 lower-case hexadecimal characters", id))
		}
	}
	return want, nil
}

// decodeBody reads a JSON object body keeping which fields were present, so that null and
// absent differ. It refuses another content type and fields outside allowed.
func decodeBody(r *http.Request, allowed []string) (map[string]json.RawMessage, *response) {
	if mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		return nil, badRequest("Content-Type must be application/json")
	}
	fields := map[string]json.RawMessage{}
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
		return nil, badRequest("the body must be a JSON object")
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(allowed, name) {
			return nil, badRequest(fmt.Sprintf("unknown field %q", name))
		}
	}
	return fields, nil
}

// decodePatch is decodeBody for a PATCH, which must change something.
func decodePatch(r *http.Request, allowed []string) (map[string]json.RawMessage, *response) {
	fields, res := decodeBody(r, allowed)
	if res == nil && len(fields) == 0 {
		res = badRequest("the body sets no field")
	}
	return fields, res
}

// nullOrAbsent reports whether a body field is null or not there, which the API treats alike.
func nullOrAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// label reads a label field: nil when absent or null.
func (s *Simulator) label(raw json.RawMessage) (*string, *response) {
	if nullOrAbsent(raw) {
		return nil, nil
	}
	var label string
	if err := json.Unmarshal(raw, &label); err != nil {
		return nil, badRequest("label must be a string")
	}
	if utf8.RuneCountInString(label) > s.opts.MaxLabelLength {
		return nil, badRequest(fmt.Sprintf("label must be at most %d characters", s.opts.MaxLabelLength))
	}
	return &label, nil
}

// expiry reads expires_timestamp: null, absent and 0001-01-01T00:00:00Z mean never.
func expiry(raw json.RawMessage) (*time.Time, *response) {
	if nullOrAbsent(raw) {
		return nil, nil
	}
	refused := badRequest("expires_timestamp must be null or a UTC time in whole seconds, YYYY-MM-DDTHH:MM:SSZ")
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !timestampPattern.MatchString(s) {
		return nil, refused
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, refused
	}
	if t.IsZero() {
		return nil, nil
	}
	return &t, nil
}
