package e2e_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 12: deletionPolicy decides what stays behind, and the garbage collector does the
// rest as in a real cluster. Orphan: the operator takes its owner reference off the Secret,
// which stays with its value, and the token stays valid. Revoke: the token is revoked and the
// garbage collector removes the Secret its owner no longer holds.
func deletionPolicies(ctx SpecContext) {
	s := newScenario(ctx, "deletion-policy")
	api := s.newAPIClient(ctx, credentialsName)
	leader := s.startLeader()
	orphan := testutil.NewToken(s.ns, "orphan", deletionPolicy(falconv1alpha1.TokenDeletionOrphan))
	revoke := testutil.NewToken(s.ns, "revoke", deletionPolicy(falconv1alpha1.TokenDeletionRevoke))
	for _, fit := range []*falconv1alpha1.FalconInstallationToken{orphan, revoke} {
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(testutil.Object(ctx, k8sClient, fit)).Should(testutil.BeReady())
	}
	orphanSecret := fetch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: orphan.Status.SecretName}})
	revokeSecret := fetch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: revoke.Status.SecretName}})
	Expect(orphanSecret.OwnerReferences).To(ContainElement(HaveField("UID", orphan.UID)), "the Secret is owned while its resource exists")

	By("deleting both resources")
	started := time.Now()
	Expect(k8sClient.Delete(ctx, orphan)).To(Succeed())
	Expect(k8sClient.Delete(ctx, revoke)).To(Succeed())
	Eventually(testutil.Gone(ctx, k8sClient, orphan)).Should(BeTrue(), "the Orphan resource goes")
	Eventually(testutil.Gone(ctx, k8sClient, revoke)).Should(BeTrue(), "the Revoke resource goes")

	token, found := sim.Token(api.CID, revoke.Status.TokenID)
	Expect(found).To(BeTrue())
	Expect(token.Status).To(Equal(falcon.TokenStatusRevoked), "Revoke revoked the token")
	Eventually(testutil.Gone(ctx, k8sClient, revokeSecret)).Should(BeTrue(), "the garbage collector removes the Revoke resource's Secret")
	collected := time.Since(started)

	// The collector has handled the deletions by now; the orphaned Secret must outlast them.
	Consistently(func(g Gomega) {
		got := &corev1.Secret{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(orphanSecret), got)).To(Succeed(), "the Orphan resource's Secret stays")
		g.Expect(got.OwnerReferences).NotTo(ContainElement(HaveField("UID", orphan.UID)), "no owner reference to the deleted resource")
		g.Expect(got.Data).To(Equal(orphanSecret.Data), "the same values")
	}).WithTimeout(5 * time.Second).Should(Succeed())
	token, found = sim.Token(api.CID, orphan.Status.TokenID)
	Expect(found).To(BeTrue())
	Expect(token.Status).To(Equal(falcon.TokenStatusValid), "Orphan leaves the token valid")
	Expect(testutil.LiveTokens(sim, api.CID)).To(HaveLen(1), "only the orphaned token is live")
	leader.expectRunning()

	record("12 deletion policy", "Revoke: Secret collected after the deletion in", collected.Round(100*time.Millisecond))
}
