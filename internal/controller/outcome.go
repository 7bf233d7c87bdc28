package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

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
// message, and when to look again. Messages name what to do and stay the same from one
// attempt to the next, so that status does not churn.
type outcome struct {
	reason  string
	message string
	// retryAfter is when to reconcile again; zero waits for a change to the resource or its
	// credentials Secret.
	retryAfter time.Duration
	// countsAsFailure raises status.failedAttempts, which sets the backoff.
	countsAsFailure bool
}

// classify maps an error of a reconcile to its outcome. failures is the count of failed
// attempts before this one; longRetry is the recheck interval for problems a person must fix.
func classify(ctx context.Context, err error, now time.Time, failures int32, longRetry time.Duration) outcome {
	var expired *expiredError
	if errors.As(err, &expired) {
		o := classify(ctx, expired.cause, now, failures, longRetry)
		o.reason, o.message = falconv1alpha1.ReasonExpired, "the token expired and no replacement could be created yet: "+o.message
		return o
	}
	var blocked *blockedError
	if errors.As(err, &blocked) {
		return outcome{reason: blocked.reason, message: blocked.message, retryAfter: blocked.retryAfter, countsAsFailure: blocked.retryAfter > 0}
	}
	if retryAt, ok := falcon.RetryAt(err); ok {
		return outcome{
			reason:     falconv1alpha1.ReasonRateLimited,
			message:    fmt.Sprintf("Falcon API rate limit reached for these credentials: no request is sent before %s", retryAt.UTC().Format(time.RFC3339)),
			retryAfter: withJitter(max(retryAt.Sub(now), 0) + time.Second),
		}
	}
	logAPIError(ctx, err)
	var apiErr *falcon.APIError
	switch {
	case falcon.IsInvalidCredentials(err):
		return outcome{reason: falconv1alpha1.ReasonCredentialsInvalid, message: credentialsInvalidMessage}
	case isMissingScope(err):
		scope, _ := falcon.MissingScope(err)
		return outcome{reason: falconv1alpha1.ReasonMissingScope, countsAsFailure: true, retryAfter: longRetry,
			message: fmt.Sprintf("the API client lacks the scope %q: add it to the API client in the Falcon console", scope)}
	case falcon.IsServerError(err):
		next := retryDelay(failures + 1)
		return outcome{reason: falconv1alpha1.ReasonAPIUnavailable, countsAsFailure: true, retryAfter: next,
			message: "the Falcon API did not answer or failed (" + operationOf(err) + "): retrying with exponential backoff, see status.failedAttempts"}
	case falcon.IsForbidden(err):
		return outcome{reason: falconv1alpha1.ReasonAPIError, countsAsFailure: true, retryAfter: longRetry,
			message: fmt.Sprintf("Falcon refused %s: access denied (IP allow-list or permissions of the API client)", operationOf(err))}
	case errors.As(err, &apiErr):
		return outcome{reason: falconv1alpha1.ReasonAPIError, countsAsFailure: true, retryAfter: longRetry,
			message: fmt.Sprintf("Falcon refused %s: %s", apiErr.Operation, apiErrorSummary(apiErr))}
	default:
		return outcome{reason: falconv1alpha1.ReasonAPIUnavailable, countsAsFailure: true, retryAfter: retryDelay(failures + 1),
			message: "reconcile failed: retrying with exponential backoff, see the operator's log and status.failedAttempts"}
	}
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

// logAPIError logs a Falcon error with its trace ID, for CrowdStrike support.
func logAPIError(ctx context.Context, err error) {
	var apiErr *falcon.APIError
	if errors.As(err, &apiErr) {
		log.FromContext(ctx).Info("Falcon API error", "operation", apiErr.Operation, "status", apiErr.StatusCode, "traceID", apiErr.TraceID, "error", apiErr.Error())
		return
	}
	log.FromContext(ctx).Info("reconcile error", "error", err.Error())
}

// sharedStatus points at the status fields both kinds have.
type sharedStatus struct {
	conditions         *[]metav1.Condition
	failedAttempts     *int32
	lastFailureTime    **metav1.Time
	observedGeneration *int64
}

// conclude records a reconcile's result in status: on error the Ready condition, the failure
// count and a Warning event when the reason changes; on success the observed generation. It
// returns when to reconcile again.
func conclude(ctx context.Context, recorder events.EventRecorder, obj client.Object, st sharedStatus, now time.Time, longRetry time.Duration, result ctrl.Result, err error) ctrl.Result {
	if err == nil {
		*st.failedAttempts, *st.lastFailureTime = 0, nil
		if obj.GetDeletionTimestamp().IsZero() {
			*st.observedGeneration = obj.GetGeneration()
		}
		return result
	}
	o := classify(ctx, err, now, *st.failedAttempts, longRetry)
	if o.countsAsFailure {
		*st.failedAttempts++
		*st.lastFailureTime = &metav1.Time{Time: now}
	}
	if changed := setReady(st.conditions, obj.GetGeneration(), metav1.ConditionFalse, o.reason, o.message); changed && o.reason != falconv1alpha1.ReasonRateLimited {
		recorder.Eventf(obj, nil, corev1.EventTypeWarning, o.reason, "Reconcile", "%s", o.message)
	}
	return ctrl.Result{RequeueAfter: o.retryAfter}
}

// setReady sets the Ready condition and reports whether its reason or status changed.
func setReady(conditions *[]metav1.Condition, generation int64, status metav1.ConditionStatus, reason, message string) bool {
	previous := meta.FindStatusCondition(*conditions, falconv1alpha1.ConditionReady)
	changed := previous == nil || previous.Status != status || previous.Reason != reason
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: falconv1alpha1.ConditionReady, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
	})
	return changed
}
