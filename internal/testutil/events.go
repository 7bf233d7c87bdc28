package testutil

import (
	"context"
	"encoding/json"
	"slices"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// EventReasons are the reasons of the events (events.k8s.io/v1) recorded about obj, found by
// its UID so that an earlier object of the same name does not count, in the order listed.
func EventReasons(ctx context.Context, c client.Reader, obj client.Object) ([]string, error) {
	list := &eventsv1.EventList{}
	if err := c.List(ctx, list, client.InNamespace(eventNamespace(obj.GetNamespace()))); err != nil {
		return nil, err
	}
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons, nil
}

// eventNamespace is where the events about an object of namespace are recorded: the events of
// cluster-scoped objects go to "default".
func eventNamespace(namespace string) string {
	if namespace == "" {
		return metav1.NamespaceDefault
	}
	return namespace
}

// EventsText is every event in full, as JSON, for the leak checks, and how many there are.
// With namespaces, only the events about objects in them and about cluster-scoped objects.
func EventsText(ctx context.Context, c client.Reader, namespaces ...string) (text string, count int, err error) {
	list := &eventsv1.EventList{}
	if err := c.List(ctx, list); err != nil {
		return "", 0, err
	}
	events := list.Items
	if len(namespaces) > 0 {
		events = slices.DeleteFunc(events, func(e eventsv1.Event) bool {
			return e.Regarding.Namespace != "" && !slices.Contains(namespaces, e.Regarding.Namespace)
		})
	}
	raw, err := json.Marshal(events)
	if err != nil {
		return "", 0, err
	}
	return string(raw), len(events), nil
}
