package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

func TestClassify(t *testing.T) {
	secrets := schema.GroupResource{Resource: "secrets"}
	const longRetry = 10 * time.Minute
	for _, tc := range []struct {
		name      string
		err       error
		reason    string
		stalled   bool
		retry     time.Duration // 0: only a change brings a retry
		failure   bool
		inMessage string
	}{
		{"Kubernetes Forbidden is blocked and names the permission",
			apierrors.NewForbidden(secrets, "sensors", errors.New(`User "system:serviceaccount:ops:op" cannot create resource "secrets" in the namespace "team"`)),
			falconv1alpha1.ReasonKubernetesForbidden, true, longRetry, true, `cannot create resource "secrets"`},
		{"Kubernetes Invalid is blocked without retry",
			apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "sensors", field.ErrorList{field.Invalid(field.NewPath("metadata", "labels"), "x y", "invalid label")}),
			falconv1alpha1.ReasonKubernetesInvalid, true, 0, false, "metadata.labels"},
		{"a Kubernetes timeout is retried with backoff",
			apierrors.NewTimeoutError("etcd slow", 1),
			falconv1alpha1.ReasonKubernetesUnavailable, false, 2 * time.Second, true, "retrying"},
		{"a wrapped Kubernetes refusal is still a Kubernetes refusal",
			fmt.Errorf("publish: %w", apierrors.NewForbidden(secrets, "s", errors.New("denied"))),
			falconv1alpha1.ReasonKubernetesForbidden, true, longRetry, true, "denied"},
		{"a Falcon 5xx is APIUnavailable with backoff",
			&falcon.APIError{Operation: "tokens-create", StatusCode: 503},
			falconv1alpha1.ReasonAPIUnavailable, false, 2 * time.Second, true, "tokens-create"},
		{"a Falcon refusal needs a person",
			&falcon.APIError{Operation: "tokens-create", StatusCode: 400, Errors: []falcon.ErrorDetail{{Message: "bad label"}}},
			falconv1alpha1.ReasonAPIError, true, longRetry, true, "HTTP 400 bad label"},
		{"a Falcon 429 waits until Retryafter",
			&falcon.RateLimitError{Operation: "tokens-read", RetryAt: t0.Add(30 * time.Second)},
			falconv1alpha1.ReasonRateLimited, false, 31 * time.Second, false, "2026-11-24T12:00:30Z"},
		{"refused credentials",
			&falcon.APIError{Operation: "oauth2-token", StatusCode: 403},
			falconv1alpha1.ReasonCredentialsInvalid, true, 0, false, "client ID and secret"},
		{"a blocked error keeps its reason",
			&blockedError{reason: falconv1alpha1.ReasonSecretConflict, message: "taken", retryAfter: longRetry},
			falconv1alpha1.ReasonSecretConflict, true, longRetry, true, "taken"},
		{"an unknown error is retried, not blamed on Falcon",
			errors.New("boom"),
			falconv1alpha1.ReasonReconcileError, false, 2 * time.Second, true, "operator's log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := classify(tc.err, t0, 1, longRetry)
			if o.reason != tc.reason || o.stalled != tc.stalled || o.countsAsFailure != tc.failure {
				t.Fatalf("classify = %+v, want reason %s, stalled %v, failure %v", o, tc.reason, tc.stalled, tc.failure)
			}
			if tc.reason == falconv1alpha1.ReasonRateLimited {
				if o.retryAfter < tc.retry || o.retryAfter > tc.retry+tc.retry/10 {
					t.Errorf("retryAfter = %s, want %s plus jitter", o.retryAfter, tc.retry)
				}
			} else if o.retryAfter != tc.retry {
				t.Errorf("retryAfter = %s, want %s", o.retryAfter, tc.retry)
			}
			if !strings.Contains(o.message, tc.inMessage) {
				t.Errorf("message %q does not say %q", o.message, tc.inMessage)
			}
		})
	}
}
