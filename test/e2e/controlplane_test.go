package e2e_test

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 0: the control plane does what the later scenarios rely on. A deleted namespace is
// emptied and removed (envtest alone leaves it Terminating for ever), and an object whose owner
// is deleted is collected, also when the owner is one of the operator's kinds (the garbage
// collector knew the CRDs when it started). No manager runs: a resource with no finalizer yet
// is deleted at once.
func controlPlaneCollects(ctx SpecContext) {
	s := newScenario(ctx, "control-plane")

	By("deleting a namespace with an object in it")
	doomed := s.newNamespace(ctx, "doomed")
	Expect(k8sClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: doomed, Name: "content"}})).To(Succeed())
	started := time.Now()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: doomed}}
	Expect(k8sClient.Delete(ctx, namespace)).To(Succeed())
	Eventually(testutil.Gone(ctx, k8sClient, namespace)).Should(BeTrue(), "the namespace controller removes a deleted namespace")
	record("0 control plane", "namespace removed after its deletion in", time.Since(started).Round(100*time.Millisecond))

	By("deleting the owners of objects")
	owners := []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "owner"}},
		testutil.NewToken(s.ns, "owner"),
	}
	dependents := make([]client.Object, 0, len(owners))
	for _, owner := range owners {
		Expect(k8sClient.Create(ctx, owner)).To(Succeed())
		dependents = append(dependents, ownedConfigMap(ctx, owner))
	}
	started = time.Now()
	for _, owner := range owners {
		Expect(k8sClient.Delete(ctx, owner)).To(Succeed())
	}
	for _, dependent := range dependents {
		Eventually(testutil.Gone(ctx, k8sClient, dependent)).Should(BeTrue(), "the garbage collector removes %s", dependent.GetName())
	}
	record("0 control plane", "owned objects collected after their owners' deletion in", time.Since(started).Round(100*time.Millisecond))
}

// ownedConfigMap creates a ConfigMap that owner controls, as the operator's Secrets are owned.
func ownedConfigMap(ctx context.Context, owner client.Object) *corev1.ConfigMap {
	GinkgoHelper()
	gvk, err := k8sClient.GroupVersionKindFor(owner)
	Expect(err).NotTo(HaveOccurred())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: owner.GetNamespace(),
		Name:      "owned-by-" + strings.ToLower(gvk.Kind) + "-" + owner.GetName(),
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: owner.GetName(), UID: owner.GetUID(),
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}},
	}}
	Expect(k8sClient.Create(ctx, cm)).To(Succeed())
	return cm
}
