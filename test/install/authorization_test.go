package install_test

import (
	"context"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// outsideNamespace is a namespace no install method watches or names.
const outsideNamespace = "not-watched-by-falcon"

// serviceAccountUser is how the API server sees a pod running as a service account.
type serviceAccountUser struct {
	name   string
	groups []string
}

func serviceAccountUserOf(m managerPod) serviceAccountUser {
	ns := m.deployment.Namespace
	return serviceAccountUser{
		name:   serviceAccountUsername(ns, m.deployment.Spec.Template.Spec.ServiceAccountName),
		groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
}

func serviceAccountUsername(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// allowed asks the API server's authorizer, as `kubectl auth can-i --as` would, whether the user
// may do p in namespace ns ("" = in every namespace, or on a cluster-scoped resource).
func allowed(ctx context.Context, user serviceAccountUser, ns string, p permission) bool {
	resource, subresource, _ := strings.Cut(p.resource, "/")
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user.name,
		Groups: user.groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: p.verb, Group: p.group, Resource: resource, Subresource: subresource,
		},
	}}
	Expect(k8sClient.Create(ctx, review)).To(Succeed())
	return review.Status.Allowed
}

// witness is one permission a binding grants, and where: once the authorizer allows it, it has
// seen the binding and its role.
type witness struct {
	namespace string
	p         permission
}

// createRBAC creates the rendering's roles and bindings for real (a dry run is not authorized
// against), waits until the authorizer answers for every binding of the manager, and deletes
// them again after the spec, waiting until the authorizer has forgotten them so the next install
// method starts clean.
func createRBAC(ctx context.Context, objs manifests, user serviceAccountUser) {
	var created manifests
	for _, o := range objs {
		switch o.GetKind() {
		case "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			created = append(created, o)
		}
	}
	createNamespaces(ctx, created)
	witnesses := witnessesOf(objs, user)
	DeferCleanup(func(ctx context.Context) {
		for _, o := range created {
			Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, o.DeepCopy()))).To(Succeed())
		}
		for _, w := range witnesses {
			Eventually(ctx, func(ctx context.Context) bool { return allowed(ctx, user, w.namespace, w.p) }).
				Should(BeFalse(), "the authorizer forgets %s in %q", w.p, w.namespace)
		}
	})
	for _, o := range created {
		Expect(k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.ForceOwnership, client.FieldOwner("install-test"))).To(Succeed(), "create %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	for _, w := range witnesses {
		Eventually(ctx, func(ctx context.Context) bool { return allowed(ctx, user, w.namespace, w.p) }).
			Should(BeTrue(), "the authorizer sees the binding that grants %s in %q", w.p, w.namespace)
	}
}

// witnessesOf picks, for every binding of the user, the first resource permission of its role.
func witnessesOf(objs manifests, user serviceAccountUser) []witness {
	rulesOf := map[string][]rbacv1.PolicyRule{}
	for _, r := range ofKind[rbacv1.ClusterRole](objs, "ClusterRole") {
		rulesOf["ClusterRole/"+r.Name] = r.Rules
	}
	for _, r := range ofKind[rbacv1.Role](objs, "Role") {
		rulesOf["Role/"+r.Namespace+"/"+r.Name] = r.Rules
	}
	bindsUser := func(subjects []rbacv1.Subject) bool {
		return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && serviceAccountUsername(s.Namespace, s.Name) == user.name
		})
	}
	first := func(rules []rbacv1.PolicyRule) (permission, bool) {
		for _, r := range rules {
			if len(r.APIGroups) > 0 && len(r.Resources) > 0 && len(r.Verbs) > 0 {
				return permission{r.APIGroups[0], r.Resources[0], r.Verbs[0]}, true
			}
		}
		return permission{}, false
	}
	var out []witness
	for _, b := range ofKind[rbacv1.ClusterRoleBinding](objs, "ClusterRoleBinding") {
		if p, ok := first(rulesOf["ClusterRole/"+b.RoleRef.Name]); ok && bindsUser(b.Subjects) {
			out = append(out, witness{"", p})
		}
	}
	for _, b := range ofKind[rbacv1.RoleBinding](objs, "RoleBinding") {
		key := "ClusterRole/" + b.RoleRef.Name
		if b.RoleRef.Kind == "Role" {
			key = "Role/" + b.Namespace + "/" + b.RoleRef.Name
		}
		if p, ok := first(rulesOf[key]); ok && bindsUser(b.Subjects) {
			out = append(out, witness{b.Namespace, p})
		}
	}
	return out
}

// expectAuthorizedByAPIServer installs the rendering's RBAC and asks the API server what the
// manager's service account may do: everything the controllers need where it works, read access
// to the credentials in the cluster resource namespace, and, when it watches only some
// namespaces, nothing on Secrets or FalconInstallationTokens anywhere else.
func expectAuthorizedByAPIServer(ctx context.Context, m managerPod, objs manifests) {
	user := serviceAccountUserOf(m)
	createRBAC(ctx, objs, user)
	can := func(ns string, p permission) bool { return allowed(ctx, user, ns, p) }
	watched := m.watchedNamespaces()
	credentialsNamespace := m.clusterResourceNamespace()

	var missing, unexpected []string
	for p := range generatedManagerRules() {
		switch {
		case isClusterScoped(p):
			if !can("", p) {
				missing = append(missing, p.String())
			}
		case watched == nil:
			if !can(outsideNamespace, p) {
				missing = append(missing, p.String()+" in "+outsideNamespace)
			}
		default:
			for _, ns := range watched {
				if !can(ns, p) {
					missing = append(missing, p.String()+" in "+ns)
				}
			}
			if can(outsideNamespace, p) {
				unexpected = append(unexpected, p.String()+" in "+outsideNamespace)
			}
			if can("", p) {
				unexpected = append(unexpected, p.String()+" in every namespace")
			}
		}
	}
	for _, p := range credentialsRead {
		if !can(credentialsNamespace, p) {
			missing = append(missing, p.String()+" in "+credentialsNamespace+" (credentials)")
		}
	}
	if watched != nil && !slices.Contains(watched, credentialsNamespace) {
		// The credentials namespace is only read from.
		for _, verb := range []string{"create", "update", "patch", "delete"} {
			if p := (permission{"", "secrets", verb}); can(credentialsNamespace, p) {
				unexpected = append(unexpected, p.String()+" in "+credentialsNamespace+" (credentials are read-only)")
			}
		}
	}
	Expect(missing).To(BeEmpty(), "the API server refuses %s these", user.name)
	Expect(unexpected).To(BeEmpty(), "the API server allows %s these, though it watches only %v", user.name, watched)
	if watched != nil {
		// What a user would try first: `kubectl auth can-i get secrets -n <elsewhere> --as <manager>`.
		Expect(can(outsideNamespace, permission{"", "secrets", "get"})).To(BeFalse(), "the manager reads Secrets outside %v", watched)
	}
}
