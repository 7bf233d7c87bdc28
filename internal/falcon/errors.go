package falcon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrorDetail is one entry of the API's "errors" array.
type ErrorDetail struct {
	Code    int
	Message string
	ID      string
}

// APIError is a reply the API refused, or a reply the client itself refused (StatusCode 0: a
// redirect or region outside the configured endpoints). It never carries a secret: messages
// that quote one are withheld.
type APIError struct {
	Operation  string // e.g. "tokens-create"
	StatusCode int
	TraceID    string // X-Cs-Traceid, for CrowdStrike support
	Errors     []ErrorDetail
	// Hint is the next step for a person, such as the console scope to grant; empty if none.
	Hint string
}

// Error reads like "falcon tokens-create: 403 access denied, scope not permitted (trace 1234)",
// followed by the hint when there is one.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "falcon %s: ", e.Operation)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d ", e.StatusCode)
	}
	b.WriteString(e.message())
	if e.TraceID != "" {
		fmt.Fprintf(&b, " (trace %s)", e.TraceID)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

func (e *APIError) message() string {
	for _, d := range e.Errors {
		if d.Message != "" {
			return d.Message
		}
	}
	if text := http.StatusText(e.StatusCode); text != "" {
		return strings.ToLower(text)
	}
	return "unexpected reply"
}

// newAPIError builds an APIError and adds the console scope to grant when the API refused a
// scope.
func newAPIError(op string, status int, traceID string, details []ErrorDetail) *APIError {
	e := &APIError{Operation: op, StatusCode: status, TraceID: traceID, Errors: details}
	if scope, ok := missingScope(e); ok {
		e.Hint = fmt.Sprintf("the API client needs the scope %q", scope)
	}
	return e
}

// refusal is an APIError for a reply the client refused itself.
func refusal(op, message, hint string) *APIError {
	return &APIError{Operation: op, Errors: []ErrorDetail{{Message: message}}, Hint: hint}
}

// RateLimitError means the credential is cooling down after a 429: no request was sent, and
// none will be before RetryAt.
type RateLimitError struct {
	Operation string
	RetryAt   time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("falcon %s: rate limited until %s", e.Operation, e.RetryAt.UTC().Format(time.RFC3339))
}

// RetryAt reports when a rate-limited call may be tried again.
func RetryAt(err error) (time.Time, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.RetryAt, true
	}
	return time.Time{}, false
}

// transportError is a failure to get a usable reply at all: connection refused, reset or dropped,
// timeout, or a reply that is not the JSON it should be.
type transportError struct {
	op  string
	err error
}

func (e *transportError) Error() string { return fmt.Sprintf("falcon %s: %v", e.op, e.err) }
func (e *transportError) Unwrap() error { return e.err }

func asAPIError(err error) (*APIError, bool) {
	var apiErr *APIError
	ok := errors.As(err, &apiErr)
	return apiErr, ok
}

func hasStatus(err error, status int) bool {
	e, ok := asAPIError(err)
	return ok && e.StatusCode == status
}

// IsNotFound: the API knows none of the IDs asked for.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict: the API refused a create with 409 (most likely the active-token cap).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnauthorized: an API call was refused with 401 even after fetching a fresh access token.
func IsUnauthorized(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.StatusCode == http.StatusUnauthorized && e.Operation != opOAuth2Token
}

// IsForbidden: an API call was refused with 403 (missing scope, IP allow-list, permissions).
func IsForbidden(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.StatusCode == http.StatusForbidden && e.Operation != opOAuth2Token
}

// IsInvalidCredentials: the token request was refused; the client ID, secret or member CID
// (or, for autodiscover, the cloud) is wrong.
func IsInvalidCredentials(err error) bool {
	e, ok := asAPIError(err)
	if !ok || e.Operation != opOAuth2Token {
		return false
	}
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		return true
	}
	return false
}

// MissingScope reports the console name of the scope the API client lacks, when err is a 403
// "scope not permitted".
func MissingScope(err error) (consoleScope string, ok bool) {
	e, isAPI := asAPIError(err)
	if !isAPI {
		return "", false
	}
	return missingScope(e)
}

func missingScope(e *APIError) (string, bool) {
	if e.StatusCode != http.StatusForbidden {
		return "", false
	}
	scope, known := operationScopes[e.Operation]
	if !known {
		return "", false
	}
	for _, d := range e.Errors {
		if strings.Contains(strings.ToLower(d.Message), "scope not permitted") {
			return scope, true
		}
	}
	return "", false
}

// IsServerError: worth retrying with backoff (5xx, timeouts, connection resets, dropped
// connections, garbled replies). A cancelled context is not.
func IsServerError(err error) bool {
	if e, ok := asAPIError(err); ok {
		return e.StatusCode >= 500
	}
	var te *transportError
	return errors.As(err, &te) && !errors.Is(err, context.Canceled)
}
