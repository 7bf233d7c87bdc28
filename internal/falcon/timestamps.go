package falcon

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// apiTime decodes an API timestamp liberally: RFC 3339 with or without fractional seconds or
// an offset, a zone-less form read as UTC, and null, "" or 0001-01-01T00:00:00Z as "no time".
type apiTime struct{ t *time.Time }

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"}

// A decoding error of this type makes encoding/json name the field, which malformed reports.
var apiTimeType = reflect.TypeFor[apiTime]()

func (a *apiTime) UnmarshalJSON(data []byte) error {
	a.t = nil
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: apiTimeType}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() > 1 {
				t = t.UTC()
				a.t = &t
			}
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: "string", Type: apiTimeType}
}

// value is the time, or the zero time when there is none.
func (a apiTime) value() time.Time {
	if a.t == nil {
		return time.Time{}
	}
	return *a.t
}

// wireTime encodes a request timestamp the way the API writes them (seconds, UTC); nil is
// JSON null, which the API reads as "never".
type wireTime struct{ t *time.Time }

func (w wireTime) MarshalJSON() ([]byte, error) {
	if w.t == nil {
		return []byte("null"), nil
	}
	return json.Marshal(w.t.UTC().Truncate(time.Second).Format(time.RFC3339))
}
