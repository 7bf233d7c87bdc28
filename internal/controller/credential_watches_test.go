package controller

import (
	"context"
	"fmt"
	stdmaps "maps"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	metadatafake "k8s.io/client-go/metadata/fake"
)

func secretMetadata(namespace, name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID(namespace + "/" + name), ResourceVersion: "1"},
	}
}

// However many credentials Secrets one namespace holds, the operator opens at most
// maxSecretWatches watches there: past that, one namespace-wide watch serves them all, and it
// still tells about changes. Watches no resource needs any more are stopped.
func TestCredentialWatchesStayBoundedPerNamespace(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	refs := make([]types.NamespacedName, 6)
	objs := make([]runtime.Object, 0, len(refs))
	for i := range refs {
		refs[i] = types.NamespacedName{Namespace: "team", Name: fmt.Sprintf("creds-%d", i)}
		objs = append(objs, secretMetadata(refs[i].Namespace, refs[i].Name))
	}
	client := metadatafake.NewSimpleMetadataClient(scheme, objs...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	changed := map[types.NamespacedName]int{}
	used := map[types.NamespacedName]bool{}
	w := &credentialWatches{
		client:     client,
		namespaces: map[string]bool{},
		changed: func(_ context.Context, ref types.NamespacedName) {
			mu.Lock()
			defer mu.Unlock()
			changed[ref]++
		},
		inUse: func(context.Context) (map[types.NamespacedName]bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return stdmaps.Clone(used), nil
		},
		started: make(chan struct{}),
		ctx:     ctx,
		bySpace: map[string]*namespaceWatches{},
	}
	close(w.started)

	for i, ref := range refs {
		mu.Lock()
		used[ref] = true
		mu.Unlock()
		got, err := w.get(ctx, ref)
		if err != nil || got.Name != ref.Name {
			t.Fatalf("get %s = %v, %v", ref, got, err)
		}
		nw := w.bySpace["team"]
		if i < maxSecretWatches && (len(nw.perSecret) != i+1 || nw.wide != nil) {
			t.Fatalf("with %d Secrets in use: %d watches of one Secret, namespace-wide %v", i+1, len(nw.perSecret), nw.wide != nil)
		}
		if i >= maxSecretWatches && (len(nw.perSecret) != 0 || nw.wide == nil) {
			t.Fatalf("with %d Secrets in use: %d watches of one Secret, want one namespace-wide watch only", i+1, len(nw.perSecret))
		}
	}

	updated := secretMetadata("team", "creds-5")
	updated.ResourceVersion = "2"
	if _, err := client.Resource(secretsResource).Namespace("team").(metadatafake.MetadataClient).UpdateFake(updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return changed[refs[5]] == 1, nil
	})
	if err != nil {
		t.Fatalf("a change of a Secret served by the namespace-wide watch was not told: %v", changed)
	}

	mu.Lock()
	used = map[types.NamespacedName]bool{refs[0]: true}
	mu.Unlock()
	w.sweep(ctx)
	if nw := w.bySpace["team"]; nw == nil || nw.wide == nil {
		t.Fatal("the namespace-wide watch stops only when no Secret of the namespace is in use")
	}
	mu.Lock()
	used = map[types.NamespacedName]bool{}
	mu.Unlock()
	w.sweep(ctx)
	if len(w.bySpace) != 0 {
		t.Fatalf("watches left after every resource let go: %v", w.bySpace)
	}
}
