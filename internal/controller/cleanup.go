package controller

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// What the cleanups of every kind share: when a cleanup that cannot run may be given up.

// abandonable returns the namespace being deleted that held the credentials, when a cleanup
// failed for want of them: only then may the cleanup be given up. Otherwise it returns the
// error to report, with the way out added when a person must act.
func (k *skeleton) abandonable(ctx context.Context, s *scope, err error, credentialsNamespace string) (*metav1.PartialObjectMetadata, error) {
	var blocked *blockedError
	if errors.As(err, &blocked) && blocked.reason == falconv1alpha1.ReasonCredentialsNotFound {
		if terminating, checkErr := terminatingNamespace(ctx, k.client, credentialsNamespace); checkErr != nil || terminating != nil {
			return terminating, checkErr
		}
	}
	return nil, withOrphanHint(err, s.now, k.syncPeriod)
}

// terminatingNamespace returns namespace when it is being deleted, nil otherwise.
func terminatingNamespace(ctx context.Context, c client.Reader, namespace string) (*metav1.PartialObjectMetadata, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := c.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			ns.Name = namespace
			return ns, nil
		}
		return nil, err
	}
	if ns.DeletionTimestamp.IsZero() {
		return nil, nil
	}
	return ns, nil
}

// withOrphanHint adds the way out to a cleanup that cannot run until a person acts.
func withOrphanHint(err error, now time.Time, syncPeriod time.Duration) error {
	o := classify(err, now, 0, syncPeriod)
	if !o.stalled {
		return err
	}
	return &blockedError{reason: o.reason, retryAfter: o.retryAfter,
		message: o.message + "; or set spec.deletionPolicy: Orphan to delete without cleaning up"}
}
