package controller

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// resource is what the skeleton needs of every kind.
type resource interface {
	client.Object
	GetCommonStatus() *falconv1alpha1.CommonStatus
}

// scope is what one reconcile read and decided, shared by every kind's phases.
type scope struct {
	obj  resource
	base resource // as last written: the optimistic writes send only what changed since
	now  time.Time
	// verdict is how the reconcile leaves the conditions when it returns no error.
	verdict verdict
	// released: the finalizer is gone and the resource with it; nothing is left to write.
	released bool
}

// phase is a kind's reconcile of a live resource (normal) or of one being deleted (cleanup).
type phase func(ctx context.Context, s *scope) (ctrl.Result, error)

// skeleton is the reconcile every kind shares, in the way of cluster-api: load the resource
// through the cache fence, run the kind's phase, and write status once at the end, optimistically,
// with the conditions, the failure count and observedGeneration. observedGeneration moves when
// the reconcile concluded on the generation: it succeeded, or it is blocked until a person acts
// (Stalled), so that kstatus reports the latter as Failed instead of waiting; a failure being
// retried leaves it behind (InProgress). Errors are classified once here into conditions,
// events, a metric and the requeue.
type skeleton struct {
	client   client.Client
	fence    *cacheFence
	recorder events.EventRecorder
	clock    clock.PassiveClock
	// kind names the resources in metrics.
	kind string
	// syncPeriod is how often Falcon is compared with the spec, and a problem a person must fix
	// looked at again.
	syncPeriod time.Duration
	// redact removes secrets the operator knows (token values) from messages and logs.
	redact func(string) string
}

// reconcile runs one reconcile of the resource at key, read into obj.
func (k *skeleton) reconcile(ctx context.Context, key types.NamespacedName, obj resource, normal, cleanup phase) (ctrl.Result, error) {
	if err := k.fence.get(ctx, k.client, key, obj); err != nil {
		if errors.Is(err, errCacheBehind) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{obj: obj, base: obj.DeepCopyObject().(resource), now: k.clock.Now()}
	var result ctrl.Result
	var err error
	switch {
	case obj.GetDeletionTimestamp().IsZero():
		result, err = normal(ctx, s)
	case controllerutil.ContainsFinalizer(obj, falconv1alpha1.Finalizer):
		result, err = cleanup(ctx, s)
	default:
		return ctrl.Result{}, nil // being deleted, nothing of ours left to do
	}
	return k.conclude(ctx, s, result, err)
}

// persist writes the resource's metadata (finalizer, annotations) in one optimistic patch: it
// fails with a Conflict when the resource changed since it was read, so a reconcile working
// from a stale copy cannot act twice. Only the metadata is sent: a spec written back as Go
// encodes it (1h0m0s for 1h) would count as a spec change.
func (k *skeleton) persist(ctx context.Context, s *scope) error {
	stored := s.base.DeepCopyObject().(resource)
	stored.SetFinalizers(s.obj.GetFinalizers())
	stored.SetAnnotations(s.obj.GetAnnotations())
	if err := k.client.Patch(ctx, stored, client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	k.fence.wrote(stored)
	s.obj.SetResourceVersion(stored.GetResourceVersion())
	s.base = stored // as stored: its status is still the one read
	return nil
}

// ensureFinalizer adds the finalizer, with one optimistic update, before a first write to Falcon.
func (k *skeleton) ensureFinalizer(ctx context.Context, s *scope) error {
	if !controllerutil.AddFinalizer(s.obj, falconv1alpha1.Finalizer) {
		return nil
	}
	return k.persist(ctx, s)
}

// release removes the finalizer once the cleanup is done; the resource is then gone.
func (k *skeleton) release(ctx context.Context, s *scope) error {
	controllerutil.RemoveFinalizer(s.obj, falconv1alpha1.Finalizer)
	if err := k.persist(ctx, s); err != nil {
		return client.IgnoreNotFound(err)
	}
	s.released = true
	k.fence.forget(s.obj.GetUID())
	return nil
}

// writeStatus patches the status now, optimistically, for a write that must precede a Falcon
// call (such as the original settings before the first settings write).
func (k *skeleton) writeStatus(ctx context.Context, s *scope) error {
	patch, err := statusPatch(s)
	if err != nil || patch == nil {
		return err
	}
	if err := k.client.Status().Patch(ctx, s.obj, patch); err != nil {
		return err
	}
	k.fence.wrote(s.obj)
	s.base = s.obj.DeepCopyObject().(resource)
	return nil
}

// statusPatch is the merge patch of what changed since s.base, carrying the resourceVersion read
// so that it fails on a newer copy (optimistic); nil when nothing changed. The difference is
// computed once: most reconciles change nothing and write nothing.
func statusPatch(s *scope) (client.Patch, error) {
	if equality.Semantic.DeepEqual(s.base, s.obj) {
		return nil, nil // cheaper than the JSON difference, and the common case
	}
	data, err := client.MergeFrom(s.base).Data(s.obj)
	if err != nil || string(data) == "{}" {
		return nil, err
	}
	patch := map[string]any{}
	if err := json.Unmarshal(data, &patch); err != nil {
		return nil, err
	}
	metadata, _ := patch["metadata"].(map[string]any)
	if metadata == nil {
		metadata = map[string]any{}
		patch["metadata"] = metadata
	}
	metadata["resourceVersion"] = s.obj.GetResourceVersion()
	if data, err = json.Marshal(patch); err != nil {
		return nil, err
	}
	return client.RawPatch(types.MergePatchType, data), nil
}

// conclude records the reconcile's result in status and writes it once. A reconcile that lost a
// write race (Conflict) writes nothing and starts over from the newer copy.
func (k *skeleton) conclude(ctx context.Context, s *scope, result ctrl.Result, err error) (ctrl.Result, error) {
	if s.released {
		return result, nil
	}
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	st := s.obj.GetCommonStatus()
	generation := s.obj.GetGeneration()
	if err == nil {
		st.FailedAttempts, st.LastFailureTime = 0, nil
		if s.obj.GetDeletionTimestamp().IsZero() {
			st.ObservedGeneration = generation
		}
		setConditions(&st.Conditions, generation, s.verdict)
	} else {
		result = k.recordFailure(ctx, s, err)
	}
	if err := k.writeStatus(ctx, s); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return result, nil
}

// recordFailure turns err into the conditions, the failure count, a Warning event when the
// reason changes, a log line and the metric, and returns when to try again.
func (k *skeleton) recordFailure(ctx context.Context, s *scope, err error) ctrl.Result {
	st := s.obj.GetCommonStatus()
	o := classify(err, s.now, st.FailedAttempts, k.syncPeriod)
	o.message = k.redact(o.message)
	logFailure(ctx, o.reason, k.redact(err.Error()), err)
	reconcileFailures.WithLabelValues(k.kind, o.reason).Inc()
	if o.countsAsFailure {
		st.FailedAttempts++
		st.LastFailureTime = &metav1.Time{Time: s.now}
	}
	if o.stalled && s.obj.GetDeletionTimestamp().IsZero() {
		st.ObservedGeneration = s.obj.GetGeneration()
	}
	v := verdict{reason: o.reason, message: o.message, stalled: o.stalled, progressing: !o.stalled}
	if changed := setConditions(&st.Conditions, s.obj.GetGeneration(), v); changed && o.reason != falconv1alpha1.ReasonRateLimited {
		k.recorder.Eventf(s.obj, nil, corev1.EventTypeWarning, o.reason, "Reconcile", "%s", o.message)
	}
	return ctrl.Result{RequeueAfter: o.retryAfter}
}

// event records something that happened to the resource.
func (k *skeleton) event(obj client.Object, eventType, reason, action, note string, args ...any) {
	k.recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
}

// logFailure logs a failed reconcile, with the Falcon trace ID for CrowdStrike support.
func logFailure(ctx context.Context, reason, text string, err error) {
	keysAndValues := []any{"reason", reason, "error", text}
	var apiErr *falcon.APIError
	if errors.As(err, &apiErr) {
		keysAndValues = append(keysAndValues, "operation", apiErr.Operation, "status", apiErr.StatusCode, "traceID", apiErr.TraceID)
	}
	log.FromContext(ctx).Info("reconcile failed", keysAndValues...)
}
