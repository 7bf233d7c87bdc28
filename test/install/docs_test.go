package install_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
)

// yamlBlock matches a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// kindsServedElsewhere are the kinds the docs show that belong to other projects' CRDs
// (Prometheus Operator, Argo CD, Flux), which the test API server does not have; they are only
// checked to parse.
var kindsServedElsewhere = map[string]bool{
	"monitoring.coreos.com/PrometheusRule":      true,
	"argoproj.io/Application":                   true,
	"kustomize.toolkit.fluxcd.io/Kustomization": true,
	"source.toolkit.fluxcd.io/HelmRepository":   true,
	"helm.toolkit.fluxcd.io/HelmRelease":        true,
}

var _ = Describe("The YAML in the docs", func() {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		panic(err)
	}
	files = append(files, filepath.Join("..", "..", "README.md"))

	for _, file := range files {
		It("is accepted by the API server: "+filepath.Base(file), func(ctx context.Context) {
			text, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			blocks := yamlBlock.FindAllSubmatch(text, -1)
			objs := make(manifests, 0, len(blocks))
			for _, block := range blocks {
				objs = append(objs, decodeManifests(block[1])...)
			}
			var served manifests
			for _, o := range objs {
				gvk := o.GroupVersionKind()
				if _, err := k8sClient.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); meta.IsNoMatchError(err) {
					Expect(kindsServedElsewhere).To(HaveKey(gvk.Group+"/"+gvk.Kind), "%s shows %s, which no CRD here serves", file, gvk)
					continue
				}
				served = append(served, o)
			}
			applyDryRun(ctx, served)
		})
	}
})

var _ = Describe("docs/install.md", func() {
	It("documents every flag the install methods pass to the manager", func() {
		text, err := os.ReadFile(filepath.Join(repoRoot, "docs", "install.md"))
		Expect(err).NotTo(HaveOccurred())
		renderings := []manifests{
			renderWith(kustomize, "build", "config/namespaced"),
			helmTemplate("--values", chartDir+"/ci/namespaced-values.yaml"),
			helmTemplate("--set", "allowInsecureEndpoints=true"),
		}
		for _, objs := range renderings {
			for _, arg := range managerPodOf(objs).container.Args {
				name, _, _ := strings.Cut(arg, "=")
				Expect(string(text)).To(ContainSubstring("`"+name), "docs/install.md documents %s", name)
			}
		}
	})
})
