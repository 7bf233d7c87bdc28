package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// waitReady polls the samples every second until all are Ready=True, showing progress. It fails
// when the manager exits or after readyTimeout, with each sample's condition and the manager's log.
func waitReady(ctx context.Context, c client.Client, samples []*unstructured.Unstructured, manager *child) error {
	heading("waiting for the samples to become Ready (at most %s)", readyTimeout)
	started := time.Now()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	progress := newProgressLine()
	defer progress.end()
	for {
		ready, short, long := readiness(ctx, c, samples)
		progress.show(fmt.Sprintf("waiting for Ready (%d/%d, %s): %s", ready, len(samples), time.Since(started).Round(time.Second), short), short)
		if ready == len(samples) {
			progress.end()
			detail("all %d Ready after %s", ready, time.Since(started).Round(100*time.Millisecond))
			return nil
		}
		select {
		case <-tick.C:
		case <-manager.exited:
			progress.end()
			return manager.exitError()
		case <-deadline.C:
			progress.end()
			return fmt.Errorf("not Ready after %s:\n%s\nthe end of the manager's log %s:\n%s", readyTimeout, long, manager.logPath, logTail(manager.logPath))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readiness counts the Ready samples and describes each, briefly (one line for all) and in full
// (a line each, with the condition message).
func readiness(ctx context.Context, c client.Client, samples []*unstructured.Unstructured) (ready int, short, long string) {
	var shorts, longs []string
	for _, sample := range samples {
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(sample.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(sample), current); err != nil {
			shorts = append(shorts, sample.GetName()+" (unreadable)")
			longs = append(longs, fmt.Sprintf("    %s: %v", describe(sample), err))
			continue
		}
		condition := readyCondition(current)
		switch {
		case condition == nil:
			shorts = append(shorts, sample.GetName()+" (no Ready condition yet)")
			longs = append(longs, fmt.Sprintf("    %s: no Ready condition yet", describe(sample)))
		case condition.status == "True" && condition.current(current.GetGeneration()):
			state := "Ready"
			if current.GetKind() == kindClusterInstallationToken {
				// Ready does not wait for namespaces the operator has not seen yet: the demo waits
				// until the Secret is in every namespace it created for the token.
				missing, err := unpublished(ctx, c, current)
				switch {
				case err != nil:
					shorts = append(shorts, sample.GetName()+" (namespaces unreadable)")
					longs = append(longs, fmt.Sprintf("    %s: Ready, but the namespaces are unreadable: %v", describe(sample), err))
					continue
				case len(missing) > 0:
					shorts = append(shorts, fmt.Sprintf("%s Ready, not yet in %s", sample.GetName(), strings.Join(missing, ",")))
					longs = append(longs, fmt.Sprintf("    %s: Ready, but its Secret is not yet published in %s", describe(sample), strings.Join(missing, ", ")))
					continue
				}
				state = "Ready, published in " + strings.Join(publishedNamespaces(current), ", ")
			}
			ready++
			shorts = append(shorts, sample.GetName()+" Ready")
			longs = append(longs, fmt.Sprintf("    %s: %s", describe(sample), state))
		default:
			shorts = append(shorts, fmt.Sprintf("%s Ready=%s (%s)", sample.GetName(), condition.status, condition.reason))
			longs = append(longs, fmt.Sprintf("    %s: Ready=%s %s: %s", describe(sample), condition.status, condition.reason, condition.message))
		}
	}
	return ready, strings.Join(shorts, ", "), strings.Join(longs, "\n")
}

type condition struct {
	status, reason, message string
	observedGeneration      int64
}

// current reports whether the condition speaks of the object's latest spec; a condition without
// observedGeneration is taken at its word.
func (c *condition) current(generation int64) bool {
	return c.observedGeneration == 0 || c.observedGeneration >= generation
}

// readyCondition returns obj's status condition of type Ready, or nil.
func readyCondition(obj *unstructured.Unstructured) *condition {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, item := range conditions {
		fields, ok := item.(map[string]any)
		if !ok || fields["type"] != "Ready" {
			continue
		}
		c := &condition{}
		c.status, _, _ = unstructured.NestedString(fields, "status")
		c.reason, _, _ = unstructured.NestedString(fields, "reason")
		c.message, _, _ = unstructured.NestedString(fields, "message")
		c.observedGeneration, _, _ = unstructured.NestedInt64(fields, "observedGeneration")
		return c
	}
	return nil
}

// unpublished lists the namespaces a ClusterFalconInstallationToken selects, by name or by
// label, that are not yet in its status.publishedNamespaces.
func unpublished(ctx context.Context, c client.Client, token *unstructured.Unstructured) ([]string, error) {
	listed, _, _ := unstructured.NestedStringSlice(token.Object, "spec", "secret", "namespaces")
	selector := labels.Nothing()
	if raw, found, _ := unstructured.NestedMap(token.Object, "spec", "secret", "namespaceSelector"); found {
		labelSelector := &metav1.LabelSelector{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, labelSelector); err != nil {
			return nil, err
		}
		var err error
		if selector, err = metav1.LabelSelectorAsSelector(labelSelector); err != nil {
			return nil, err
		}
	}
	namespaces := &corev1.NamespaceList{}
	if err := c.List(ctx, namespaces); err != nil {
		return nil, err
	}
	published := publishedNamespaces(token)
	var missing []string
	for _, ns := range namespaces.Items {
		selected := slices.Contains(listed, ns.Name) || selector.Matches(labels.Set(ns.Labels))
		if selected && ns.DeletionTimestamp.IsZero() && !slices.Contains(published, ns.Name) {
			missing = append(missing, ns.Name)
		}
	}
	return missing, nil
}

// publishedNamespaces is a ClusterFalconInstallationToken's status.publishedNamespaces.
func publishedNamespaces(token *unstructured.Unstructured) []string {
	published, _, _ := unstructured.NestedStringSlice(token.Object, "status", "publishedNamespaces")
	return published
}
