package e2e_test

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// clusterToken stands for falconv1alpha1.ClusterFalconInstallationToken, which this branch does
// not have yet: the same JSON, registered in the suite's scheme under the same kind, so that the
// scenario is written as against the typed API. To switch, delete this file and write
// falconv1alpha1.ClusterFalconInstallationToken (and its spec types) for clusterToken.
type clusterToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              clusterTokenSpec   `json:"spec"`
	Status            clusterTokenStatus `json:"status,omitempty"`
}

// The fields as the API documents them, self-contained so that renames in the API package do
// not break this stand-in before it is replaced.
type clusterTokenSpec struct {
	FalconAPI      clusterFalconAPI      `json:"falconAPI"`
	Label          string                `json:"label,omitempty"`
	ExpiresAfter   *metav1.Duration      `json:"expiresAfter,omitempty"`
	Renewal        *clusterTokenRenewal  `json:"renewal,omitempty"`
	Revoked        bool                  `json:"revoked,omitempty"`
	TokenID        string                `json:"tokenID,omitempty"`
	Secret         clusterSecretTemplate `json:"secret,omitempty"`
	DeletionPolicy string                `json:"deletionPolicy,omitempty"`
}

// clusterFalconAPI: the credentials Secret lives in the manager's --cluster-resource-namespace.
type clusterFalconAPI struct {
	Cloud                string `json:"cloud,omitempty"`
	CredentialsSecretRef struct {
		Name string `json:"name"`
	} `json:"credentialsSecretRef"`
}

type clusterTokenRenewal struct {
	Strategy    string           `json:"strategy,omitempty"`
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

type clusterSecretTemplate struct {
	Name              string                `json:"name,omitempty"`
	Namespaces        []string              `json:"namespaces,omitempty"`
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	Labels            map[string]string     `json:"labels,omitempty"`
	Annotations       map[string]string     `json:"annotations,omitempty"`
	Keys              *struct {
		Token string  `json:"token,omitempty"`
		CID   *string `json:"cid,omitempty"`
	} `json:"keys,omitempty"`
}

// clusterTokenStatus holds the fields the scenario reads.
type clusterTokenStatus struct {
	TokenID             string             `json:"tokenID,omitempty"`
	TokenStatus         string             `json:"tokenStatus,omitempty"`
	ObservedGeneration  int64              `json:"observedGeneration,omitempty"`
	Conditions          []metav1.Condition `json:"conditions,omitempty"`
	PublishedNamespaces []string           `json:"publishedNamespaces,omitempty"`
	RefusedNamespaces   []refusedNamespace `json:"refusedNamespaces,omitempty"`
}

type refusedNamespace struct {
	Namespace string `json:"namespace"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
}

func (c *clusterToken) DeepCopyObject() runtime.Object {
	out := &clusterToken{}
	raw, err := json.Marshal(c)
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		panic(err)
	}
	return out
}

// addClusterTokenToScheme registers clusterToken, unless the API package registers the real
// type under that kind by now: then the scenario says so until it is switched.
func addClusterTokenToScheme(scheme *runtime.Scheme) {
	gvk := falconv1alpha1.GroupVersion.WithKind("ClusterFalconInstallationToken")
	if !scheme.Recognizes(gvk) {
		scheme.AddKnownTypeWithName(gvk, &clusterToken{})
	}
}
