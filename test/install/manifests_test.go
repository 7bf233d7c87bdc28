package install_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// manifests are the objects one install method renders.
type manifests []*unstructured.Unstructured

// toolCommand runs a pinned tool from the repository root.
func toolCommand(tool string, args ...string) *exec.Cmd {
	cmd := exec.Command(tool, args...)
	cmd.Dir = repoRoot
	return cmd
}

func helmCommand(args ...string) *exec.Cmd { return toolCommand(helm, args...) }

// renderWith runs a pinned tool and decodes the YAML it prints.
func renderWith(tool string, args ...string) manifests {
	cmd := toolCommand(tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "%s %s: %s", tool, strings.Join(args, " "), stderr.String())
	return decodeManifests(out)
}

// decodeManifests splits a multi-document YAML stream into objects, skipping empty documents.
func decodeManifests(data []byte) manifests {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs manifests
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		Expect(err).NotTo(HaveOccurred())
		obj := map[string]any{}
		Expect(yaml.Unmarshal(doc, &obj)).To(Succeed(), "decode:\n%s", doc)
		if len(obj) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
	}
}

// ofKind returns the objects of one kind, converted to their typed form.
func ofKind[T any](objs manifests, kind string) []*T {
	var out []*T
	for _, o := range objs {
		if o.GetKind() != kind {
			continue
		}
		typed := new(T)
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, typed)).To(Succeed(), "convert %s %s", kind, o.GetName())
		out = append(out, typed)
	}
	return out
}

// applyDryRun creates the namespaces the objects live in for real (a dry run cannot put an
// object into a namespace that does not exist), then server-side applies every object with
// dryRun=All, so the API server validates each one as `kubectl apply --server-side` would.
func applyDryRun(ctx context.Context, objs manifests) {
	createNamespaces(ctx, objs)
	for _, o := range objs {
		// A copy: Apply writes the server's answer into the object, and the rendering stays as it was.
		err := k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.DryRunAll, client.ForceOwnership, client.FieldOwner("install-test"))
		Expect(err).NotTo(HaveOccurred(), "apply %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
	}
}

// kindsServedElsewhere are the kinds of other projects' CRDs (Prometheus Operator, cert-manager,
// Argo CD, Flux) that the docs and the optional install pieces use, which the test API server
// does not have; objects of these kinds are only checked to parse.
var kindsServedElsewhere = map[string]bool{
	"monitoring.coreos.com/PrometheusRule":      true,
	"monitoring.coreos.com/ServiceMonitor":      true,
	"cert-manager.io/Certificate":               true,
	"cert-manager.io/Issuer":                    true,
	"argoproj.io/Application":                   true,
	"kustomize.toolkit.fluxcd.io/Kustomization": true,
	"source.toolkit.fluxcd.io/HelmRepository":   true,
	"helm.toolkit.fluxcd.io/HelmRelease":        true,
}

// servedOnly leaves out the objects whose kind the test API server does not serve; each of those
// must be one of kindsServedElsewhere.
func servedOnly(objs manifests) manifests {
	var served manifests
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if _, err := k8sClient.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); meta.IsNoMatchError(err) {
			Expect(kindsServedElsewhere).To(HaveKey(gvk.Group+"/"+gvk.Kind), "%s %s: no CRD here serves %s", gvk.Kind, o.GetName(), gvk)
			continue
		}
		served = append(served, o)
	}
	return served
}

// createNamespaces creates, for real, the namespaces the objects live in or declare that do not
// exist yet.
func createNamespaces(ctx context.Context, objs manifests) {
	for _, ns := range namespacesOf(objs) {
		err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred(), "create namespace %s", ns)
		}
	}
}

// namespacesOf lists the namespaces the objects live in or declare.
func namespacesOf(objs manifests) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ns string) {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	for _, o := range objs {
		add(o.GetNamespace())
		if o.GetKind() == "Namespace" {
			add(o.GetName())
		}
	}
	return out
}
