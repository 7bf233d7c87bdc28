package install_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// yamlBlock matches a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

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
			applyDryRun(ctx, servedOnly(objs))
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
