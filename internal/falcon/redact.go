package falcon

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

const redactedText = "[redacted]"

// Redact returns text with every occurrence of each secret replaced by "[redacted]": as it is,
// query-escaped (an echoed form body) and JSON-escaped (an echoed JSON body). Empty secrets
// are ignored. Overlapping occurrences become one "[redacted]", so no part of a secret is left.
func Redact(text string, secrets ...string) string {
	covered := make([]bool, len(text))
	found := false
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, form := range []string{secret, url.QueryEscape(secret), jsonEscaped(secret)} {
			for from := 0; ; {
				i := strings.Index(text[from:], form)
				if i < 0 {
					break
				}
				for j := from + i; j < from+i+len(form); j++ {
					covered[j] = true
				}
				from, found = from+i+1, true
			}
		}
	}
	if !found {
		return text
	}
	var b strings.Builder
	for i := range len(text) {
		switch {
		case !covered[i]:
			b.WriteByte(text[i])
		case i == 0 || !covered[i-1]:
			b.WriteString(redactedText)
		}
	}
	return b.String()
}

// jsonEscaped is secret as it appears inside a JSON string.
func jsonEscaped(secret string) string {
	quoted, _ := json.Marshal(secret) // a string always marshals
	return string(quoted[1 : len(quoted)-1])
}

// knownSecrets are the secrets the Client holds, plus those given: what no error may quote.
func (c *Client) knownSecrets(extra ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{c.credentials.ClientSecret, c.accessToken, c.retiredAccessToken}, extra...)
}

// scrub returns err with every secret the Client knows (and those given, such as the access
// token a request was sent with) taken out of its text: a proxy or upstream may echo the
// request's Authorization header or form body into a reply, a header or a protocol error.
func (c *Client) scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	known := c.knownSecrets(secrets...)
	var apiErr *APIError
	var te *transportError
	switch {
	case errors.As(err, &apiErr):
		scrubbed := *apiErr
		scrubbed.TraceID = Redact(apiErr.TraceID, known...)
		scrubbed.Hint = Redact(apiErr.Hint, known...)
		scrubbed.Errors = make([]ErrorDetail, len(apiErr.Errors))
		for i, d := range apiErr.Errors {
			scrubbed.Errors[i] = ErrorDetail{Code: d.Code, Message: Redact(d.Message, known...), ID: Redact(d.ID, known...)}
		}
		return &scrubbed
	case errors.As(err, &te):
		return &transportError{op: te.op, err: &redactedError{text: Redact(te.err.Error(), known...), class: errorClass(te.err)}}
	}
	return err // a *RateLimitError holds nothing but the operation and a time
}

// redactedError is a cause's text with the secrets taken out. It unwraps only to the error
// class callers test for, never to the cause itself, whose text may quote a secret.
type redactedError struct {
	text  string
	class error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.class }

// errorClass is the sentinel err matches among those callers classify by, or nil.
func errorClass(err error) error {
	for _, class := range []error{context.Canceled, context.DeadlineExceeded, errMalformedReply} {
		if errors.Is(err, class) {
			return class
		}
	}
	return nil
}
