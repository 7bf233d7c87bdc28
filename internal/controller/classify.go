package controller

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

const credentialsInvalidMessage = "Falcon refused the client ID and secret: fix them in the credentials Secret " +
	"(the API client may have been deleted or its secret reset)"

// blockedError is a problem a person must fix, with the condition that says so. With no
// retryAfter, nothing is tried again until the resource or its credentials Secret changes.
type blockedError struct {
	reason     string
	message    string
	retryAfter time.Duration
}

func (e *blockedError) Error() string { return e.message }

// expiredError is a failed replacement of an expired token: Ready says Expired, and the retry
// follows the cause.
type expiredError struct{ cause error }

func (e *expiredError) Error() string { return "replace expired token: " + e.cause.Error() }
func (e *expiredError) Unwrap() error { return e.cause }

// outcome is what a failed reconcile means for the resource: the Ready condition's reason and
// message, whether a person must act (Stalled) or the operator keeps trying (Reconciling), and
// when to look again. Messages name what to do and stay the same from one attempt to the next,
// so that status does not churn.
type outcome struct {
	reason  string
	message string
	// retryAfter is when to reconcile again; zero waits for a change to the resource or its
	// credentials Secret.
	retryAfter time.Duration
	// countsAsFailure raises status.failedAttempts, which sets the backoff.
	countsAsFailure bool
	// stalled: nothing changes until a person acts.
	stalled bool
}

// classify maps an error of a reconcile to its outcome. failures is the count of failed
// attempts before this one; longRetry is the recheck interval for problems a person must fix.
// Kubernetes refusals are told apart from Falcon's: they have reasons of their own.
func classify(err error, now time.Time, failures int32, longRetry time.Duration) outcome {
	var expired *expiredError
	if errors.As(err, &expired) {
		o := classify(expired.cause, now, failures, longRetry)
		o.reason, o.message = falconv1alpha1.ReasonExpired, "the token expired and no replacement could be created yet: "+o.message
		return o
	}
	var blocked *blockedError
	if errors.As(err, &blocked) {
		return outcome{reason: blocked.reason, message: blocked.message, retryAfter: blocked.retryAfter,
			countsAsFailure: blocked.retryAfter > 0, stalled: true}
	}
	if status, ok := kubernetesStatus(err); ok {
		return classifyKubernetes(status, failures, longRetry)
	}
	if retryAt, ok := falcon.RetryAt(err); ok {
		return outcome{
			reason:     falconv1alpha1.ReasonRateLimited,
			message:    fmt.Sprintf("Falcon API rate limit reached for these credentials: no request is sent before %s", retryAt.UTC().Format(time.RFC3339)),
			retryAfter: jittered(max(retryAt.Sub(now), 0) + time.Second),
		}
	}
	var apiErr *falcon.APIError
	switch {
	case falcon.IsInvalidCredentials(err):
		return outcome{reason: falconv1alpha1.ReasonCredentialsInvalid, message: credentialsInvalidMessage, stalled: true}
	case isMissingScope(err):
		scope, _ := falcon.MissingScope(err)
		return outcome{reason: falconv1alpha1.ReasonMissingScope, countsAsFailure: true, retryAfter: longRetry, stalled: true,
			message: fmt.Sprintf("the API client lacks the scope %q: add it to the API client in the Falcon console", scope)}
	case falcon.IsServerError(err):
		return outcome{reason: falconv1alpha1.ReasonAPIUnavailable, countsAsFailure: true, retryAfter: retryDelay(failures + 1),
			message: "the Falcon API did not answer or failed (" + operationOf(err) + "): retrying with exponential backoff, see status.failedAttempts"}
	case falcon.IsForbidden(err):
		return outcome{reason: falconv1alpha1.ReasonAPIError, countsAsFailure: true, retryAfter: longRetry, stalled: true,
			message: fmt.Sprintf("Falcon refused %s: access denied (IP allow-list or permissions of the API client)", operationOf(err))}
	case errors.As(err, &apiErr):
		return outcome{reason: falconv1alpha1.ReasonAPIError, countsAsFailure: true, retryAfter: longRetry, stalled: true,
			message: fmt.Sprintf("Falcon refused %s: %s", apiErr.Operation, apiErrorSummary(apiErr))}
	default:
		return outcome{reason: falconv1alpha1.ReasonReconcileError, countsAsFailure: true, retryAfter: retryDelay(failures + 1),
			message: "reconcile failed: retrying with exponential backoff, see the operator's log and status.failedAttempts"}
	}
}

// classifyKubernetes maps a refusal of the Kubernetes API server. Forbidden and Invalid need a
// person (RBAC, a Secret the API server will not take); anything else is retried with backoff.
// A Conflict never gets here: the skeleton starts over from the newer copy.
func classifyKubernetes(status metav1.Status, failures int32, longRetry time.Duration) outcome {
	switch status.Reason {
	case metav1.StatusReasonForbidden:
		return outcome{reason: falconv1alpha1.ReasonKubernetesForbidden, countsAsFailure: true, retryAfter: longRetry, stalled: true,
			message: "the Kubernetes API server refused the operator: " + status.Message +
				"; grant the operator's service account this permission (see docs/install.md)"}
	case metav1.StatusReasonInvalid:
		return outcome{reason: falconv1alpha1.ReasonKubernetesInvalid, stalled: true,
			message: "the Kubernetes API server refused an object the operator wrote: " + status.Message + "; fix the spec that shapes it"}
	}
	return outcome{reason: falconv1alpha1.ReasonKubernetesUnavailable, countsAsFailure: true, retryAfter: retryDelay(failures + 1),
		message: "the Kubernetes API server failed a request (" + string(status.Reason) + "): retrying with exponential backoff, see status.failedAttempts"}
}

// kubernetesStatus is the API server's Status when err came from it.
func kubernetesStatus(err error) (metav1.Status, bool) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return metav1.Status{}, false
	}
	return status.Status(), true
}

func isMissingScope(err error) bool {
	_, ok := falcon.MissingScope(err)
	return ok
}

func operationOf(err error) string {
	var apiErr *falcon.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Operation
	}
	return "request"
}

// apiErrorSummary is the status code and the API's first message, without the trace ID that
// changes on every attempt (it goes to the log).
func apiErrorSummary(e *falcon.APIError) string {
	if len(e.Errors) > 0 && e.Errors[0].Message != "" {
		return fmt.Sprintf("HTTP %d %s", e.StatusCode, e.Errors[0].Message)
	}
	return fmt.Sprintf("HTTP %d", e.StatusCode)
}
