package testutil

import (
	"context"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// Kind is one kind of the operator.
type Kind struct {
	schema.GroupVersionKind
	Namespaced bool
}

// Kinds are the operator's kinds, those not yet served included: a kind whose CRD the API
// server does not know is skipped where they are listed.
var Kinds = []Kind{
	{falconv1alpha1.GroupVersion.WithKind("FalconInstallationToken"), true},
	{falconv1alpha1.GroupVersion.WithKind("ClusterFalconInstallationToken"), false},
	{falconv1alpha1.GroupVersion.WithKind("FalconTokenSettings"), false},
}

// StatusesText is the status of every resource of the operator's kinds, as JSON, for the leak
// checks, and how many resources there are. With namespaces, the namespaced kinds are listed
// only there; cluster-scoped ones always in full.
func StatusesText(ctx context.Context, c client.Reader, namespaces ...string) (text string, count int, err error) {
	var statuses []any
	for _, kind := range Kinds {
		scopes := []string{""}
		if kind.Namespaced && len(namespaces) > 0 {
			scopes = namespaces
		}
		for _, ns := range scopes {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(kind.GroupVersion().WithKind(kind.Kind + "List"))
			if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
				if meta.IsNoMatchError(err) {
					break
				}
				return "", 0, err
			}
			for _, item := range list.Items {
				statuses = append(statuses, item.Object["status"])
			}
		}
	}
	raw, err := json.Marshal(statuses)
	if err != nil {
		return "", 0, err
	}
	return string(raw), len(statuses), nil
}
