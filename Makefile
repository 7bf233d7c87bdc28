# Image to build and deploy.
IMG ?= falcon-token-operator:dev

# Tool versions, pinned. Everything installs from the Go module proxy into bin/.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
HELM_VERSION ?= v3.22.0
GOLANGCI_LINT_VERSION ?= v2.15.0

# Short fuzz run per target inside `make test`; `make fuzz FUZZTIME=5m` for a longer hunt.
FUZZTIME ?= 10s

# `make bench`: tokens to create, latency of every simulated Falcon call, where the results go,
# and any other flag of test/bench (`go run ./test/bench -help`). BENCH_SCALE=1 runs the scale
# run instead (test/bench -scale: 5,000 resources in 500 namespaces, ~8 minutes; results in
# bin/bench-scale.json, profiles in bin/bench-scale-profile/); BENCH_ARGS still applies.
BENCH_N ?= 500
BENCH_LATENCY ?= 50ms
BENCH_JSON ?= bin/bench.json
BENCH_SCALE ?=
BENCH_ARGS ?=

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
CONTAINER_TOOL ?= docker

# The Helm chart; its crds/ and files/manager-role.yaml are copies of what `make manifests` generates.
CHART_DIR ?= charts/falcon-token-operator

# Unit and integration packages, and the short benchmark (test/bench: 50 tokens, call counts
# only); the e2e suite has a target of its own, and `make bench` runs the full benchmark.
TEST_PACKAGES = $(shell go list ./... | grep -v -e /test/e2e)

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the Go types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases
	@$(MAKE) --no-print-directory helm-crds helm-rbac

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: docs
docs: manifests ## Regenerate docs/api.md from the CRDs.
	go run ./hack/apidocs config/crd/bases docs/api.md

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint with .golangci.yml: the linters and formatters of a kubebuilder project.
	$(GOLANGCI_LINT) run ./...

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply the fixes it knows (formatting, imports, some linters).
	$(GOLANGCI_LINT) run --fix ./...

.PHONY: verify
verify: manifests generate docs ## Fail when generated files are not committed up to date.
	@if [ -n "$$(git status --porcelain -- api config docs charts)" ]; then \
	  git status --short -- api config docs charts; \
	  echo "generated files are stale: run 'make manifests generate docs' and commit"; exit 1; fi

.PHONY: helm-crds
helm-crds: ## Copy the generated CRDs into the Helm chart's crds/.
	rm -f $(CHART_DIR)/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART_DIR)/crds/

.PHONY: helm-rbac
helm-rbac: ## Copy the generated manager ClusterRole into the Helm chart, which templates its rules.
	cp config/rbac/role.yaml $(CHART_DIR)/files/manager-role.yaml

.PHONY: helm-lint
helm-lint: helm ## Lint the Helm chart with its default values and with each values file in its ci/.
	$(HELM) lint --strict $(CHART_DIR)
	@for values in $(CHART_DIR)/ci/*.yaml; do \
	  echo ">> helm lint $$values"; \
	  $(HELM) lint --strict $(CHART_DIR) --values $$values; \
	done

.PHONY: envtest
envtest: ## Build the envtest control plane (kube-apiserver, etcd) into bin/ if missing.
	@hack/setup-envtest.sh >/dev/null

.PHONY: test
test: manifests generate fmt vet lint envtest kustomize helm helm-lint ## Run unit and integration tests, then a short fuzz run.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" KUSTOMIZE="$(KUSTOMIZE)" HELM="$(HELM)" go test -race -count=1 $(TEST_PACKAGES)
	$(MAKE) fuzz

.PHONY: test-e2e
test-e2e: envtest ## Run the end-to-end suite, scenarios in random order: the manager binary against a real control plane and the Falcon simulator (~6 min).
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" go test ./test/e2e/... -count=1 -timeout 20m -v -ginkgo.v -ginkgo.randomize-all

.PHONY: bench
bench: envtest ## Measure the cost per token (BENCH_N tokens, BENCH_LATENCY per Falcon call; BENCH_SCALE=1: 5,000 in 500 namespaces): one table, JSON in BENCH_JSON.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" go run ./test/bench $(if $(BENCH_SCALE),-scale,-n $(BENCH_N) -latency $(BENCH_LATENCY) -json $(BENCH_JSON)) $(BENCH_ARGS)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME.
	@for pkg in $(TEST_PACKAGES); do \
	  dir=$$(go list -f '{{.Dir}}' $$pkg); \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo ">> fuzz $$pkg $$target ($(FUZZTIME))"; \
	    go test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -o bin/manager .

.PHONY: build-simulator
build-simulator: ## Build the Falcon API simulator server (hack/falcon-simulator) for the demo.
	go build -o bin/falcon-simulator ./hack/falcon-simulator

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster in ~/.kube/config.
	go run . $(ARGS)

.PHONY: demo
demo: build build-simulator envtest ## Run the operator locally against the Falcon simulator (FALCON_CLIENT_ID/SECRET: the real cloud; DEMO_EXIT=1: exit after printing).
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" go run ./hack/demo

.PHONY: docker-build
docker-build: ## Build the manager image.
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the manager image.
	$(CONTAINER_TOOL) push $(IMG)

.PHONY: build-installer
build-installer: manifests generate kustomize ## Write dist/install.yaml: CRDs and everything to run the manager.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default > dist/install.yaml

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION),controller-gen)

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into bin/.
$(KUSTOMIZE):
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION),kustomize)

.PHONY: helm
helm: $(HELM) ## Install helm into bin/.
$(HELM):
	$(call go-install-tool,$(HELM),helm.sh/helm/v3/cmd/helm,$(HELM_VERSION),helm)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into bin/.
$(GOLANGCI_LINT):
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION),golangci-lint)

# go-install-tool installs package $2 at version $3, whose binary is named $4, as the versioned binary $1.
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
echo ">> installing $(2)@$(3)"; \
mkdir -p $(LOCALBIN); \
GOBIN=$(LOCALBIN) go install $(2)@$(3); \
mv "$(LOCALBIN)/$(4)" "$(1)"; \
}
endef
