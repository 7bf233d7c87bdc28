package install_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
)

// permission is one verb on one resource (or subresource, "falconinstallationtokens/status").
type permission struct{ group, resource, verb string }

func (p permission) String() string {
	if p.group == "" {
		return p.verb + " " + p.resource
	}
	return p.verb + " " + p.resource + "." + p.group
}

// credentialsRead is reading the credentials Secret, directly or through a watch.
var credentialsRead = []permission{{"", "secrets", "get"}, {"", "secrets", "list"}, {"", "secrets", "watch"}}

// permissionsOf expands rules into single permissions; non-resource URLs are left out.
func permissionsOf(rules []rbacv1.PolicyRule) sets.Set[permission] {
	out := sets.New[permission]()
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out.Insert(permission{g, res, v})
				}
			}
		}
	}
	return out
}

// generatedManagerRules are the rules `make manifests` generates from the controllers' RBAC
// markers: what the manager needs.
func generatedManagerRules() sets.Set[permission] {
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	roles := ofKind[rbacv1.ClusterRole](decodeManifests(data), "ClusterRole")
	Expect(roles).To(HaveLen(1))
	return permissionsOf(roles[0].Rules)
}

// grants is what a rendering's RBAC gives one service account: cluster-wide, and per namespace.
type grants struct {
	cluster     sets.Set[permission]
	inNamespace map[string]sets.Set[permission]
}

func (g grants) allows(namespace string, p permission) bool {
	return g.cluster.Has(p) || g.inNamespace[namespace].Has(p)
}

// grantsTo evaluates the rendering's Roles, ClusterRoles and their bindings for one service
// account. Roles that come with the cluster are not counted: the install must be complete.
func grantsTo(objs manifests, saNamespace, saName string) grants {
	clusterRoles := map[string][]rbacv1.PolicyRule{}
	for _, r := range ofKind[rbacv1.ClusterRole](objs, "ClusterRole") {
		clusterRoles[r.Name] = r.Rules
	}
	roles := map[string][]rbacv1.PolicyRule{}
	for _, r := range ofKind[rbacv1.Role](objs, "Role") {
		roles[r.Namespace+"/"+r.Name] = r.Rules
	}
	isManager := func(subjects []rbacv1.Subject) bool {
		for _, s := range subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == saName && s.Namespace == saNamespace {
				return true
			}
		}
		return false
	}

	g := grants{cluster: sets.New[permission](), inNamespace: map[string]sets.Set[permission]{}}
	for _, b := range ofKind[rbacv1.ClusterRoleBinding](objs, "ClusterRoleBinding") {
		if isManager(b.Subjects) && b.RoleRef.Kind == "ClusterRole" {
			g.cluster = g.cluster.Union(permissionsOf(clusterRoles[b.RoleRef.Name]))
		}
	}
	for _, b := range ofKind[rbacv1.RoleBinding](objs, "RoleBinding") {
		if !isManager(b.Subjects) {
			continue
		}
		rules := clusterRoles[b.RoleRef.Name]
		if b.RoleRef.Kind == "Role" {
			rules = roles[b.Namespace+"/"+b.RoleRef.Name]
		}
		if g.inNamespace[b.Namespace] == nil {
			g.inNamespace[b.Namespace] = sets.New[permission]()
		}
		g.inNamespace[b.Namespace] = g.inNamespace[b.Namespace].Union(permissionsOf(rules))
	}
	return g
}

// isClusterScoped asks the API server whether a resource (or a subresource's parent) is
// cluster-scoped, as a RoleBinding cannot grant those.
func isClusterScoped(p permission) bool {
	resource, _, _ := strings.Cut(p.resource, "/")
	mapper := k8sClient.RESTMapper()
	gvk, err := mapper.KindFor(schema.GroupVersionResource{Group: p.group, Resource: resource})
	Expect(err).NotTo(HaveOccurred(), "resource of %s", p)
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	Expect(err).NotTo(HaveOccurred(), "mapping of %s", p)
	return mapping.Scope.Name() == meta.RESTScopeNameRoot
}

// expectManagerPermissions checks the manager's service account gets every permission the
// controllers need wherever it works: cluster-wide when it watches every namespace, else in
// each watched namespace (cluster-scoped kinds cluster-wide). A namespace-restricted install
// must not grant namespaced resources (Secrets above all) cluster-wide.
func expectManagerPermissions(m managerPod, objs manifests) {
	spec := m.deployment.Spec.Template.Spec
	g := grantsTo(objs, m.deployment.Namespace, spec.ServiceAccountName)
	watched := m.watchedNamespaces()

	generated := generatedManagerRules()
	var missing, tooWide []string
	for p := range generated {
		switch {
		case isClusterScoped(p) || watched == nil:
			if !g.cluster.Has(p) {
				missing = append(missing, p.String()+" cluster-wide")
			}
		default:
			if g.cluster.Has(p) {
				tooWide = append(tooWide, p.String())
			}
			for _, ns := range watched {
				if !g.allows(ns, p) {
					missing = append(missing, p.String()+" in "+ns)
				}
			}
			// Events about a cluster-scoped object (a FalconTokenSettings) go to "default".
			if p.resource == "events" && !g.allows(metav1.NamespaceDefault, p) {
				missing = append(missing, p.String()+" in default (events about cluster-scoped kinds)")
			}
		}
	}
	// The cluster-scoped kinds read their credentials Secret in the cluster resource namespace,
	// whether or not it is watched.
	credentialsNamespace := m.clusterResourceNamespace()
	for _, p := range credentialsRead {
		if !g.allows(credentialsNamespace, p) {
			missing = append(missing, p.String()+" in "+credentialsNamespace+" (credentials of cluster-scoped kinds)")
		}
	}
	// Secrets hold the tokens: no verb on them beyond what the controllers' markers ask for.
	for _, granted := range append([]sets.Set[permission]{g.cluster}, slices.Collect(maps.Values(g.inNamespace))...) {
		for p := range granted {
			if p.group == "" && p.resource == "secrets" && !generated.Has(p) {
				tooWide = append(tooWide, p.String()+" (not in the generated manager-role)")
			}
		}
	}
	if _, leaderElection := m.flag("leader-elect"); leaderElection {
		for _, verb := range []string{"get", "create", "update"} {
			if p := (permission{"coordination.k8s.io", "leases", verb}); !g.allows(m.deployment.Namespace, p) {
				missing = append(missing, p.String()+" in "+m.deployment.Namespace+" (leader election)")
			}
		}
	}
	if addr, _ := m.flag("metrics-bind-address"); addr != "" && addr != "0" {
		for _, p := range []permission{{"authentication.k8s.io", "tokenreviews", "create"}, {"authorization.k8s.io", "subjectaccessreviews", "create"}} {
			if !g.cluster.Has(p) {
				missing = append(missing, p.String()+" cluster-wide (metrics authentication)")
			}
		}
	}
	slices.Sort(missing)
	slices.Sort(tooWide)
	tooWide = slices.Compact(tooWide)
	Expect(missing).To(BeEmpty(), "service account %s/%s lacks permissions", m.deployment.Namespace, spec.ServiceAccountName)
	Expect(tooWide).To(BeEmpty(), "service account %s/%s (watching %v, nil = all) is granted more than the controllers need", m.deployment.Namespace, spec.ServiceAccountName, watched)
}
