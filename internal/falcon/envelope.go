package falcon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// envelope is the JSON reply every Falcon API operation shares. Parts are decoded one by one so
// that an odd meta or errors entry does not cost the resources.
type envelope struct {
	Meta      json.RawMessage `json:"meta"`
	Errors    json.RawMessage `json:"errors"`
	Resources json.RawMessage `json:"resources"`
}

type replyMeta struct {
	TraceID    string `json:"trace_id"`
	Pagination *struct {
		Total *int64 `json:"total"`
	} `json:"pagination"`
}

// total is meta.pagination.total; known is false when the reply has none.
func (m replyMeta) total() (total int, known bool) {
	if m.Pagination == nil || m.Pagination.Total == nil {
		return 0, false
	}
	return int(*m.Pagination.Total), true
}

// wireError is an "errors" entry; the code may arrive as a number or a numeric string.
type wireError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
	ID      string      `json:"id"`
}

// errMalformedReply marks a reply whose body is not the JSON the operation returns.
var errMalformedReply = errors.New("malformed reply")

// decodeReply decodes a successful reply's resources into out (a pointer to a slice). Other
// statuses become an *APIError; with missingOK a 404 counts as success (a read of IDs of which
// some or all are gone still returns the rest).
func decodeReply(op string, status int, header http.Header, body []byte, out any, missingOK bool) (replyMeta, error) {
	success := status >= 200 && status < 300
	allowedNotFound := missingOK && status == http.StatusNotFound
	if !success && !allowedNotFound {
		return replyMeta{}, decodeError(op, status, header, body)
	}
	var env envelope
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &env); err != nil {
			if !success {
				return replyMeta{}, nil
			}
			return replyMeta{}, malformed(op, status, err)
		}
	}
	var meta replyMeta
	_ = json.Unmarshal(env.Meta, &meta) // meta is informative only
	if out == nil || len(env.Resources) == 0 {
		return meta, nil
	}
	if err := json.Unmarshal(env.Resources, out); err != nil {
		return meta, malformed(op, status, err)
	}
	return meta, nil
}

// malformed describes a decoding failure by position or field, never by quoting the body.
func malformed(op string, status int, err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	detail := "not JSON"
	switch {
	case errors.As(err, &syntaxErr):
		detail = fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field != "" && typeErr.Type == apiTimeType && typeErr.Value == "string":
		detail = fmt.Sprintf("field %q is not an RFC 3339 time", typeErr.Field)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		detail = fmt.Sprintf("field %q has an unexpected type", typeErr.Field)
	case errors.As(err, &typeErr):
		detail = "unexpected JSON type"
	}
	return &transportError{op: op, err: fmt.Errorf("%w (status %d): %s", errMalformedReply, status, detail)}
}

// missingResource is the error for a successful reply that lacks the resource it must carry.
func missingResource(op, what string) error {
	return &transportError{op: op, err: fmt.Errorf("%w: no %s in the reply", errMalformedReply, what)}
}

// decodeError builds the APIError for a refused request from whatever of the envelope is
// readable. A message, ID or trace ID that quotes a secret found in the body is withheld.
func decodeError(op string, status int, header http.Header, body []byte) *APIError {
	secrets := secretsIn(body)
	var env envelope
	var meta replyMeta
	var rawErrors []json.RawMessage
	if json.Unmarshal(body, &env) == nil {
		_ = json.Unmarshal(env.Meta, &meta)
		_ = json.Unmarshal(env.Errors, &rawErrors)
	}
	var details []ErrorDetail
	for _, raw := range rawErrors {
		var w wireError
		if json.Unmarshal(raw, &w) != nil {
			continue
		}
		code, _ := strconv.ParseFloat(w.Code.String(), 64)
		details = append(details, ErrorDetail{
			Code:    int(code),
			Message: withhold(w.Message, secrets, "(message withheld: it quoted a secret)"),
			ID:      withhold(w.ID, secrets, ""),
		})
	}
	traceID := withhold(meta.TraceID, secrets, "")
	if traceID == "" {
		traceID = headerValue(header, "X-Cs-Traceid")
	}
	return newAPIError(op, status, traceID, details)
}

// minSecretLen: shorter values in secret-bearing fields are not real secrets, and withholding
// on them would hide ordinary messages.
const minSecretLen = 6

// withhold returns text, or replacement when text contains one of secrets.
func withhold(text string, secrets []string, replacement string) string {
	for _, s := range secrets {
		if strings.Contains(text, s) {
			return replacement
		}
	}
	return text
}

// secretFields are the JSON keys (any case) whose string values are secrets: access tokens,
// client secrets and installation-token values.
var secretFields = []string{"access_token", "refresh_token", "id_token", "client_secret", "value", "token"}

// secretsIn lists the strings held by secret-bearing keys anywhere in body, reading every
// occurrence (duplicated keys too) with a streaming decoder. A body that stops being JSON
// yields what was read before that point.
func secretsIn(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var (
		secrets   []string
		inObject  []bool // one entry per open container: true for an object, false for an array
		expectKey bool
		key       string
	)
	afterValue := func() { expectKey = len(inObject) > 0 && inObject[len(inObject)-1] }
	for {
		tok, err := dec.Token()
		if err != nil {
			return secrets
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				inObject = append(inObject, t == '{')
				expectKey = t == '{'
			default:
				inObject = inObject[:len(inObject)-1]
				afterValue()
			}
		case string:
			if expectKey {
				key, expectKey = t, false
				continue
			}
			if len(inObject) > 0 && inObject[len(inObject)-1] && isSecretField(key) && len(t) >= minSecretLen {
				secrets = append(secrets, t)
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

func isSecretField(key string) bool {
	for _, f := range secretFields {
		if strings.EqualFold(key, f) {
			return true
		}
	}
	return false
}
