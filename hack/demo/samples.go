package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// fieldOwner is the demo's server-side apply field manager.
const fieldOwner = "falcon-demo"

const (
	kindInstallationToken        = "FalconInstallationToken"
	kindClusterInstallationToken = "ClusterFalconInstallationToken"
	kindTokenSettings            = "FalconTokenSettings"
)

// selectedNamespace is the namespace the demo creates with the labels of the cluster tokens'
// namespaceSelector, so that they publish into a namespace they select besides those they list.
const selectedNamespace = "edge-sensors"

// isToken reports whether kind holds an installation token (and is revoked when deleted).
func isToken(kind string) bool {
	return kind == kindInstallationToken || kind == kindClusterInstallationToken
}

// applySamples creates the credentials Secrets the samples refer to and the namespaces the
// cluster tokens publish into, points the samples at the target and applies them.
func applySamples(ctx context.Context, c client.Client, dir string, samples []*unstructured.Unstructured, t target) error {
	heading("applying %s", dir)
	switch {
	case t.cloud == simulatorCloud:
		detail("note: the demo sets spec.falconAPI.cloud to %q in the samples: the simulator, registered with the manager's --cloud-endpoint", simulatorCloud)
	case t.cloud != "":
		detail("note: the demo sets spec.falconAPI.cloud to %q in the samples (FALCON_CLOUD)", t.cloud)
	}
	for _, sample := range samples {
		setCloud(sample, t.cloud)
		if t.real && sample.GetKind() == kindTokenSettings {
			observeOnly(sample)
			detail("note: %s %s only reads your account's settings (managementPolicy Observe, no managed fields)", sample.GetKind(), sample.GetName())
		}
		if t.real && isToken(sample.GetKind()) {
			// Whatever the sample says: deleting it on exit must revoke its real token.
			_ = unstructured.SetNestedField(sample.Object, "Revoke", "spec", "deletionPolicy")
		}
	}

	for _, ref := range credentialsRefs(samples) {
		if err := applyCredentials(ctx, c, ref.secret, t); err != nil {
			return err
		}
		detail("Secret %s with client_id and client_secret, for %s", ref.secret, strings.Join(ref.readers, ", "))
	}
	for _, sample := range samples {
		if ns := sample.GetNamespace(); ns != "" {
			if err := applyNamespace(ctx, c, ns); err != nil {
				return err
			}
		}
	}
	// After the namespaces applied without labels: the same field manager applying one of them
	// again without labels would remove them.
	if err := applyClusterTokenNamespaces(ctx, c, samples); err != nil {
		return err
	}
	for _, sample := range samples {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(sample.DeepCopy()), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s: %w", describe(sample), err)
		}
		detail("%s", describe(sample))
	}
	return nil
}

// loadSamples reads the objects of the YAML files dir's kustomization.yaml lists, in its order
// (as `kubectl apply -k` would), or of every YAML file in dir when it has no kustomization.yaml.
func loadSamples(dir string) ([]*unstructured.Unstructured, error) {
	files, err := sampleFiles(dir)
	if err != nil {
		return nil, err
	}
	var samples []*unstructured.Unstructured
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var obj map[string]any
			if err := decoder.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if len(obj) > 0 {
				samples = append(samples, &unstructured.Unstructured{Object: obj})
			}
		}
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("no samples in %s", dir)
	}
	return samples, nil
}

// sampleFiles lists the YAML files kustomization.yaml's resources name, else every YAML file.
func sampleFiles(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return filepath.Glob(filepath.Join(dir, "*.yaml"))
	} else if err != nil {
		return nil, err
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &kustomization); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "kustomization.yaml"), err)
	}
	var files []string
	for _, resource := range kustomization.Resources {
		if ext := filepath.Ext(resource); ext != ".yaml" && ext != ".yml" {
			return nil, fmt.Errorf("%s lists %s: the demo applies YAML files only", filepath.Join(dir, "kustomization.yaml"), resource)
		}
		files = append(files, filepath.Join(dir, resource))
	}
	return files, nil
}

// setCloud sets spec.falconAPI.cloud, when the sample has a falconAPI and cloud is not empty.
func setCloud(sample *unstructured.Unstructured, cloud string) {
	if _, found, _ := unstructured.NestedMap(sample.Object, "spec", "falconAPI"); found && cloud != "" {
		_ = unstructured.SetNestedField(sample.Object, cloud, "spec", "falconAPI", "cloud")
	}
}

// observeOnly keeps a FalconTokenSettings from writing a real account's settings: the demo
// must not switch on "tokens required" for every sensor install in someone's account.
func observeOnly(settings *unstructured.Unstructured) {
	_ = unstructured.SetNestedField(settings.Object, "Observe", "spec", "managementPolicy")
	unstructured.RemoveNestedField(settings.Object, "spec", "tokensRequired")
	unstructured.RemoveNestedField(settings.Object, "spec", "maxActiveTokens")
}

// credentialsRef is a credentials Secret and the samples that read it.
type credentialsRef struct {
	secret  types.NamespacedName
	readers []string
}

// credentialsRefs lists the credentials Secrets the samples refer to, each once, where the
// manager reads them: a namespaced sample's in its own namespace, a cluster-scoped sample's in
// the manager's --cluster-resource-namespace.
func credentialsRefs(samples []*unstructured.Unstructured) []credentialsRef {
	var refs []credentialsRef
	for _, sample := range samples {
		name, _, _ := unstructured.NestedString(sample.Object, "spec", "falconAPI", "credentialsSecretRef", "name")
		if name == "" {
			continue
		}
		secret := types.NamespacedName{Namespace: sample.GetNamespace(), Name: name}
		if secret.Namespace == "" {
			secret.Namespace = clusterResourceNamespace
		}
		reader := strings.TrimPrefix(sample.GetNamespace()+"/"+sample.GetName(), "/")
		i := slices.IndexFunc(refs, func(r credentialsRef) bool { return r.secret == secret })
		if i < 0 {
			refs = append(refs, credentialsRef{secret: secret})
			i = len(refs) - 1
		}
		refs[i].readers = append(refs[i].readers, reader)
	}
	return refs
}

// applyClusterTokenNamespaces creates the namespaces the cluster tokens list, and
// selectedNamespace with the labels their namespaceSelectors match.
func applyClusterTokenNamespaces(ctx context.Context, c client.Client, samples []*unstructured.Unstructured) error {
	selectedLabels := labels.Set{}
	for _, sample := range samples {
		if sample.GetKind() != kindClusterInstallationToken {
			continue
		}
		listed, _, _ := unstructured.NestedStringSlice(sample.Object, "spec", "secret", "namespaces")
		for _, ns := range listed {
			if err := applyNamespace(ctx, c, ns); err != nil {
				return err
			}
		}
		if len(listed) > 0 {
			detail("Namespaces %s, listed by %s", strings.Join(listed, ", "), describe(sample))
		}
		matchLabels, _, _ := unstructured.NestedStringMap(sample.Object, "spec", "secret", "namespaceSelector", "matchLabels")
		maps.Copy(selectedLabels, matchLabels)
	}
	if len(selectedLabels) == 0 {
		return nil
	}
	namespace := corev1ac.Namespace(selectedNamespace).WithLabels(selectedLabels)
	if err := c.Apply(ctx, namespace, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Namespace %s: %w", selectedNamespace, err)
	}
	detail("Namespace %s labelled %s, for the namespaceSelector", selectedNamespace, selectedLabels)
	return nil
}

func applyCredentials(ctx context.Context, c client.Client, ref types.NamespacedName, t target) error {
	if err := applyNamespace(ctx, c, ref.Namespace); err != nil {
		return err
	}
	secret := corev1ac.Secret(ref.Name, ref.Namespace).WithData(map[string][]byte{
		"client_id":     []byte(t.clientID),
		"client_secret": []byte(t.clientSecret),
	})
	if err := c.Apply(ctx, secret, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		// The API server's error names the object, never the data.
		return fmt.Errorf("apply Secret %s: %w", ref, err)
	}
	return nil
}

func applyNamespace(ctx context.Context, c client.Client, name string) error {
	if err := c.Apply(ctx, corev1ac.Namespace(name), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Namespace %s: %w", name, err)
	}
	return nil
}

// describe names an object as "Kind namespace/name" or "Kind name".
func describe(obj *unstructured.Unstructured) string {
	return obj.GetKind() + " " + strings.TrimPrefix(obj.GetNamespace()+"/"+obj.GetName(), "/")
}
