package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fieldOwner is the demo's server-side apply field manager.
const fieldOwner = "falcon-demo"

const (
	kindInstallationToken = "FalconInstallationToken"
	kindTokenSettings     = "FalconTokenSettings"
)

// applySamples creates the credentials Secrets the samples refer to, points the samples at the
// target and applies them.
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
	}

	for _, ref := range credentialsRefs(samples) {
		if err := applyCredentials(ctx, c, ref, t); err != nil {
			return err
		}
		detail("Secret %s with client_id and client_secret", ref)
	}
	for _, sample := range samples {
		if ns := sample.GetNamespace(); ns != "" {
			if err := applyNamespace(ctx, c, ns); err != nil {
				return err
			}
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(sample.DeepCopy()), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s: %w", describe(sample), err)
		}
		detail("%s", describe(sample))
	}
	return nil
}

// loadSamples reads every object in dir's YAML files except kustomization.yaml.
func loadSamples(dir string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var samples []*unstructured.Unstructured
	for _, file := range files {
		if filepath.Base(file) == "kustomization.yaml" {
			continue
		}
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

// credentialsRefs lists the credentials Secrets the samples refer to, each once.
func credentialsRefs(samples []*unstructured.Unstructured) []types.NamespacedName {
	var refs []types.NamespacedName
	for _, sample := range samples {
		name, _, _ := unstructured.NestedString(sample.Object, "spec", "falconAPI", "credentialsSecretRef", "name")
		namespace, _, _ := unstructured.NestedString(sample.Object, "spec", "falconAPI", "credentialsSecretRef", "namespace")
		if namespace == "" {
			namespace = sample.GetNamespace()
		}
		ref := types.NamespacedName{Namespace: namespace, Name: name}
		if name != "" && !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	return refs
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
