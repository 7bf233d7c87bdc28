package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// tokenResource is a FalconInstallationToken or a ClusterFalconInstallationToken: what the token
// phases read and write, whichever the kind.
type tokenResource interface {
	resource
	GetTokenParameters() *falconv1alpha1.TokenParameters
	GetTokenStatus() *falconv1alpha1.InstallationTokenStatus
	GetFalconAPI() falconv1alpha1.FalconAPI
	GetSecretTemplate() *falconv1alpha1.SecretTemplate
}

// tokenKind is all that differs between the two token kinds: where the credentials are, the
// default label, and where the Secret goes. The phases are the same.
type tokenKind interface {
	// name is the kind, for metrics and messages.
	name() string
	newObject() tokenResource
	// list reads every resource of the kind from the cache, read-only.
	list(ctx context.Context, c client.Reader) ([]tokenResource, error)
	// credentialsRef is the Secret holding the resource's API client.
	credentialsRef(obj tokenResource) types.NamespacedName
	// defaultLabel is the token's label when spec.label is empty, before any cluster prefix.
	defaultLabel(obj tokenResource) string
	// targets are the Secrets the resource publishes, and the selected namespaces that cannot
	// get one (they do not exist).
	targets(ctx context.Context, obj tokenResource) ([]types.NamespacedName, []falconv1alpha1.NamespaceRefusal, error)
	// recordPublication puts where the Secret is published into the kind's status;
	// publishedNamespaces reads it back.
	recordPublication(obj tokenResource, published []string, refused []falconv1alpha1.NamespaceRefusal)
	publishedNamespaces(obj tokenResource) []string
}

// secretName is the name of the Secret that publishes the token.
func secretName(obj tokenResource) string {
	if name := obj.GetSecretTemplate().Name; name != "" {
		return name
	}
	return obj.GetName()
}

// namespacedTokens is FalconInstallationToken: credentials and the Secret in its own namespace.
type namespacedTokens struct{}

func (namespacedTokens) name() string { return "FalconInstallationToken" }

func (namespacedTokens) newObject() tokenResource { return &falconv1alpha1.FalconInstallationToken{} }

func (namespacedTokens) list(ctx context.Context, c client.Reader) ([]tokenResource, error) {
	list := &falconv1alpha1.FalconInstallationTokenList{}
	err := c.List(ctx, list, client.UnsafeDisableDeepCopy)
	return resourcesOf(list.Items), err
}

// resourcesOf are the items of a list as token resources, without copying them.
func resourcesOf[T any, PT interface {
	*T
	tokenResource
}](items []T) []tokenResource {
	out := make([]tokenResource, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

func (namespacedTokens) credentialsRef(obj tokenResource) types.NamespacedName {
	return credentialsRefOf(obj, "")
}

func (namespacedTokens) defaultLabel(obj tokenResource) string {
	return obj.GetNamespace() + "/" + obj.GetName()
}

func (namespacedTokens) targets(_ context.Context, obj tokenResource) ([]types.NamespacedName, []falconv1alpha1.NamespaceRefusal, error) {
	return []types.NamespacedName{{Namespace: obj.GetNamespace(), Name: secretName(obj)}}, nil, nil
}

func (namespacedTokens) recordPublication(tokenResource, []string, []falconv1alpha1.NamespaceRefusal) {
}

func (namespacedTokens) publishedNamespaces(obj tokenResource) []string {
	if obj.GetTokenStatus().SecretName != secretName(obj) {
		return nil
	}
	return []string{obj.GetNamespace()}
}

// clusterTokens is ClusterFalconInstallationToken: credentials in the cluster resource
// namespace, the Secret in every namespace listed or selected.
type clusterTokens struct {
	// namespaces reads Namespace metadata from the manager's cache.
	namespaces               client.Reader
	clusterResourceNamespace string
}

func (clusterTokens) name() string { return "ClusterFalconInstallationToken" }

func (clusterTokens) newObject() tokenResource {
	return &falconv1alpha1.ClusterFalconInstallationToken{}
}

func (clusterTokens) list(ctx context.Context, c client.Reader) ([]tokenResource, error) {
	list := &falconv1alpha1.ClusterFalconInstallationTokenList{}
	err := c.List(ctx, list, client.UnsafeDisableDeepCopy)
	return resourcesOf(list.Items), err
}

func (k clusterTokens) credentialsRef(obj tokenResource) types.NamespacedName {
	return credentialsRefOf(obj, k.clusterResourceNamespace)
}

func (clusterTokens) defaultLabel(obj tokenResource) string { return obj.GetName() }

// targets are the namespaces listed and those the selector matches, sorted; a listed namespace
// that does not exist (yet) is refused, and one being deleted is left out.
func (k clusterTokens) targets(ctx context.Context, obj tokenResource) ([]types.NamespacedName, []falconv1alpha1.NamespaceRefusal, error) {
	spec := obj.(*falconv1alpha1.ClusterFalconInstallationToken).Spec.Secret
	all := &metav1.PartialObjectMetadataList{}
	all.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := k.namespaces.List(ctx, all); err != nil {
		return nil, nil, err
	}
	selector := labels.Nothing()
	if spec.NamespaceSelector != nil {
		var err error
		if selector, err = metav1.LabelSelectorAsSelector(spec.NamespaceSelector); err != nil {
			return nil, nil, &blockedError{
				reason:  falconv1alpha1.ReasonKubernetesInvalid,
				message: fmt.Sprintf("spec.secret.namespaceSelector is not a valid selector: %v", err),
			}
		}
	}
	existing := map[string]bool{}
	var names []string
	for _, ns := range all.Items {
		if !ns.DeletionTimestamp.IsZero() {
			continue
		}
		existing[ns.Name] = true
		if selector.Matches(labels.Set(ns.Labels)) || slices.Contains(spec.Namespaces, ns.Name) {
			names = append(names, ns.Name)
		}
	}
	var refused []falconv1alpha1.NamespaceRefusal
	for _, ns := range spec.Namespaces {
		if !existing[ns] {
			refused = append(refused, falconv1alpha1.NamespaceRefusal{Namespace: ns, Reason: falconv1alpha1.ReasonNamespaceNotFound,
				Message: "the namespace does not exist or is being deleted: the Secret is published once it is created"})
		}
	}
	slices.Sort(names)
	targets := make([]types.NamespacedName, len(names))
	for i, ns := range names {
		targets[i] = types.NamespacedName{Namespace: ns, Name: secretName(obj)}
	}
	return targets, refused, nil
}

func (clusterTokens) recordPublication(obj tokenResource, published []string, refused []falconv1alpha1.NamespaceRefusal) {
	st := &obj.(*falconv1alpha1.ClusterFalconInstallationToken).Status
	st.PublishedNamespaces, st.RefusedNamespaces = published, refused
}

func (clusterTokens) publishedNamespaces(obj tokenResource) []string {
	return obj.(*falconv1alpha1.ClusterFalconInstallationToken).Status.PublishedNamespaces
}
