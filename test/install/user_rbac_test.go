package install_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// apiGroup is the group of every kind the operator serves.
const apiGroup = "falcon.falconops.io"

// designKinds are the kinds DESIGN.md names, and whether each is namespaced.
var designKinds = map[string]bool{
	"FalconInstallationToken":        true,
	"ClusterFalconInstallationToken": false,
	"FalconTokenSettings":            false,
}

// plural is the resource name of a kind, as the CRDs spell it.
func plural(kind string) string {
	lower := strings.ToLower(kind)
	if strings.HasSuffix(lower, "s") {
		return lower
	}
	return lower + "s"
}

var editVerbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}

var _ = Describe("Roles for people", func() {
	It("PROJECT lists every kind with its scope, as kubebuilder expects", func() {
		data, err := os.ReadFile(filepath.Join(repoRoot, "PROJECT"))
		Expect(err).NotTo(HaveOccurred())
		var project struct {
			Resources []struct {
				Kind, Group, Version string
				API                  struct{ Namespaced bool }
			}
		}
		Expect(yaml.Unmarshal(data, &project)).To(Succeed())
		listed := map[string]bool{}
		for _, r := range project.Resources {
			Expect(r.Group).To(Equal("falcon"), r.Kind)
			Expect(r.Version).To(Equal("v1alpha1"), r.Kind)
			listed[r.Kind] = r.API.Namespaced
		}
		Expect(listed).To(Equal(designKinds))
	})

	for _, method := range []installMethod{installMethods[0], installMethods[2]} {
		It(method.name+" has an editor and a viewer ClusterRole for every kind", func() {
			roles := ofKind[rbacv1.ClusterRole](method.render(), "ClusterRole")
			for kind, namespaced := range designKinds {
				resource := permission{group: apiGroup, resource: plural(kind)}
				editor := userRole(roles, strings.ToLower(kind)+"-editor")
				for _, verb := range editVerbs {
					resource.verb = verb
					Expect(permissionsOf(editor.Rules).Has(resource)).To(BeTrue(), "%s grants %s", editor.Name, resource)
				}
				// A namespaced kind's editor joins "edit" in each namespace; a cluster-scoped
				// kind's editor uses the cluster's credentials and is bound deliberately.
				aggregatedIntoEdit := HaveKeyWithValue("rbac.authorization.k8s.io/aggregate-to-edit", "true")
				if namespaced {
					Expect(editor.Labels).To(aggregatedIntoEdit, "%s aggregated into edit", editor.Name)
				} else {
					Expect(editor.Labels).NotTo(aggregatedIntoEdit, "%s not aggregated into edit", editor.Name)
				}

				viewer := userRole(roles, strings.ToLower(kind)+"-viewer")
				granted := permissionsOf(viewer.Rules)
				for _, verb := range editVerbs {
					resource.verb = verb
					readOnly := verb == "get" || verb == "list" || verb == "watch"
					Expect(granted.Has(resource)).To(Equal(readOnly), "%s grants %s", viewer.Name, resource)
				}
				Expect(viewer.Labels).To(HaveKeyWithValue("rbac.authorization.k8s.io/aggregate-to-view", "true"))
			}
		})
	}
})

// userRole finds the one ClusterRole whose name holds role as a whole word, e.g.
// "falcontokensettings-editor" in "falcon-token-operator-falcontokensettings-editor-role".
func userRole(roles []*rbacv1.ClusterRole, role string) *rbacv1.ClusterRole {
	var found []*rbacv1.ClusterRole
	for _, r := range roles {
		if strings.Contains("-"+r.Name+"-", "-"+role+"-") {
			found = append(found, r)
		}
	}
	Expect(found).To(HaveLen(1), "one ClusterRole named like %q", role)
	return found[0]
}
