package controller

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// tokenIDIndex indexes the token resources of both kinds by the Falcon tokens they hold: the
// current one and those being retired.
const tokenIDIndex = "status.tokenIDs"

// heldTokenIDs is the index function of tokenIDIndex.
func heldTokenIDs(obj client.Object) []string {
	res, ok := obj.(tokenResource)
	if !ok {
		return nil
	}
	st := res.GetTokenStatus()
	var ids []string
	if st.TokenID != "" {
		ids = append(ids, st.TokenID)
	}
	for _, t := range st.RetiringTokens {
		ids = append(ids, t.TokenID)
	}
	return ids
}

// tokenHolder names another resource, of either kind, that holds the Falcon token id; "" when
// none does.
func (r *TokenReconciler) tokenHolder(ctx context.Context, self tokenResource, id string) (string, error) {
	namespaced := &falconv1alpha1.FalconInstallationTokenList{}
	if err := r.client.List(ctx, namespaced, client.MatchingFields{tokenIDIndex: id}); err != nil {
		return "", err
	}
	for _, other := range namespaced.Items {
		if other.UID != self.GetUID() {
			return fmt.Sprintf("FalconInstallationToken %s/%s", other.Namespace, other.Name), nil
		}
	}
	cluster := &falconv1alpha1.ClusterFalconInstallationTokenList{}
	if err := r.client.List(ctx, cluster, client.MatchingFields{tokenIDIndex: id}); err != nil {
		return "", err
	}
	for _, other := range cluster.Items {
		if other.UID != self.GetUID() {
			return "ClusterFalconInstallationToken " + other.Name, nil
		}
	}
	return "", nil
}
