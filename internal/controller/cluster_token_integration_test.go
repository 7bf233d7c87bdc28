package controller_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

var _ = Describe("ClusterFalconInstallationToken", func() {
	var (
		api       falcontest.APIClient
		creds     string // the credentials Secret, in the cluster resource namespace
		group     string // the value of the test's namespace label
		groupKey  = "test.falconops.io/group"
		secretKey = "falcon-platform-token"
	)
	creates := func() int { return sim.ClientCalls(api.ClientID, "tokens-create") }

	BeforeEach(func(ctx SpecContext) {
		creds = "cfit-" + rand.String(6)
		group = rand.String(8)
		api = newOperatorAPIClient(ctx, creds)
	})

	// namespace creates a namespace, with the test's group label when labelled.
	namespace := func(ctx context.Context, labelled bool) string {
		GinkgoHelper()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cfit-"}}
		if labelled {
			ns.Labels = map[string]string{groupKey: group}
		}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed()) })
		return ns.Name
	}
	newClusterToken := func(ctx context.Context, change func(*falconv1alpha1.ClusterFalconInstallationToken)) *falconv1alpha1.ClusterFalconInstallationToken {
		GinkgoHelper()
		cfit := &falconv1alpha1.ClusterFalconInstallationToken{
			ObjectMeta: metav1.ObjectMeta{Name: "platform-" + group},
			Spec: falconv1alpha1.ClusterFalconInstallationTokenSpec{
				FalconAPI: falconv1alpha1.FalconAPI{Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: creds}},
				Secret: falconv1alpha1.ClusterSecretTemplate{
					SecretTemplate:    falconv1alpha1.SecretTemplate{Name: secretKey},
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{groupKey: group}},
				},
			},
		}
		change(cfit)
		Expect(k8sClient.Create(ctx, cfit)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { deleteAndWait(ctx, cfit) })
		return cfit
	}
	// copies are the data of the published Secrets, by namespace.
	copies := func(ctx context.Context, namespaces ...string) func() map[string]map[string][]byte {
		return func() map[string]map[string][]byte {
			out := map[string]map[string][]byte{}
			for _, ns := range namespaces {
				s := &corev1.Secret{}
				if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: secretKey}, s); err == nil {
					out[ns] = s.Data
				}
			}
			return out
		}
	}
	// sameEverywhere: a copy in each of the namespaces, all with the same data.
	sameEverywhere := func(namespaces ...string) OmegaMatcher {
		return And(HaveLen(len(namespaces)), WithTransform(func(m map[string]map[string][]byte) int {
			values := map[string]bool{}
			for _, data := range m {
				values[string(data[falconv1alpha1.DefaultTokenKey])+"/"+string(data[falconv1alpha1.DefaultCIDKey])] = true
			}
			return len(values)
		}, Equal(1)))
	}

	It("publishes one token to the namespaces listed and those the selector picks, later ones included", func(ctx SpecContext) {
		listed, selected := namespace(ctx, false), namespace(ctx, true)
		cfit := newClusterToken(ctx, func(c *falconv1alpha1.ClusterFalconInstallationToken) { c.Spec.Secret.Namespaces = []string{listed} })
		waitReady(ctx, cfit)
		Expect(cfit.Status.PublishedNamespaces).To(ConsistOf(listed, selected))
		Eventually(copies(ctx, listed, selected)).Should(sameEverywhere(listed, selected))
		Expect(liveTokens(api.CID)).To(HaveLen(1))
		Expect(string(copies(ctx, listed)()[listed][falconv1alpha1.DefaultTokenKey])).To(Equal(liveTokens(api.CID)[0].Value))
		Expect(cfit.Status.Label).To(HavePrefix(cfit.Name+" ["), "the default label is the resource's name")

		By("a namespace created later with the label")
		later := namespace(ctx, true)
		Eventually(copies(ctx, listed, selected, later)).Should(sameEverywhere(listed, selected, later))

		By("a namespace labelled later")
		relabelled := namespace(ctx, false)
		ns := fetch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: relabelled}})
		ns.Labels = map[string]string{groupKey: group}
		Expect(k8sClient.Update(ctx, ns)).To(Succeed())
		Eventually(copies(ctx, listed, selected, later, relabelled)).Should(sameEverywhere(listed, selected, later, relabelled))

		By("a namespace unlabelled: its copy is removed")
		ns = fetch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: selected}})
		delete(ns.Labels, groupKey)
		Expect(k8sClient.Update(ctx, ns)).To(Succeed())
		Eventually(copies(ctx, selected)).Should(BeEmpty())
		Eventually(func() []string { return fetch(ctx, cfit).Status.PublishedNamespaces }).Should(ConsistOf(listed, later, relabelled))
		Expect(eventReasons(ctx, cfit)).To(ContainElement(falconv1alpha1.EventSecretRemoved))
		Expect(creates()).To(Equal(1), "one Falcon token, however many namespaces")
	})

	It("leaves a foreign Secret alone and says which namespace it blocks", func(ctx SpecContext) {
		taken, free := namespace(ctx, true), namespace(ctx, true)
		foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: taken, Name: secretKey}, Data: map[string][]byte{"owner": []byte("someone else")}}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		cfit := newClusterToken(ctx, func(*falconv1alpha1.ClusterFalconInstallationToken) {})
		Eventually(readyReason(ctx, cfit)).Should(Equal(falconv1alpha1.ReasonSecretConflict))
		cfit = fetch(ctx, cfit)
		Expect(cfit.Status.PublishedNamespaces).To(ConsistOf(free))
		Expect(cfit.Status.RefusedNamespaces).To(ConsistOf(And(
			HaveField("Namespace", taken), HaveField("Reason", falconv1alpha1.ReasonSecretConflict))))
		Expect(readyOf(ctx, cfit).Message).To(ContainSubstring(taken))
		Expect(secretOf(ctx, taken, secretKey).Data).To(Equal(foreign.Data))
		Expect(copies(ctx, free)()).To(HaveKey(free))
		Expect(creates()).To(Equal(1))
	})

	It("restores a deleted copy with the same value and mints nothing", func(ctx SpecContext) {
		a, b := namespace(ctx, true), namespace(ctx, true)
		cfit := newClusterToken(ctx, func(*falconv1alpha1.ClusterFalconInstallationToken) {})
		waitReady(ctx, cfit)
		Eventually(copies(ctx, a, b)).Should(sameEverywhere(a, b))
		before := copies(ctx, a, b)()
		Expect(k8sClient.Delete(ctx, secretOf(ctx, b, secretKey))).To(Succeed())
		Eventually(copies(ctx, a, b)).Should(Equal(before))
		Expect(creates()).To(Equal(1))
		Eventually(func() []string { return eventReasons(ctx, cfit) }).Should(ContainElement(falconv1alpha1.EventSecretRestored))
	})

	It("rotates: every copy gets the new token, and the old one is revoked after the grace period", func(ctx SpecContext) {
		a, b, c := namespace(ctx, true), namespace(ctx, true), namespace(ctx, true)
		cfit := newClusterToken(ctx, func(*falconv1alpha1.ClusterFalconInstallationToken) {})
		waitReady(ctx, cfit)
		oldID := cfit.Status.TokenID
		clock.Step(time.Hour)
		cfit = fetch(ctx, cfit)
		cfit.Annotations = map[string]string{falconv1alpha1.RotateAnnotation: "now"}
		Expect(k8sClient.Update(ctx, cfit)).To(Succeed())
		Eventually(func() string { return fetch(ctx, cfit).Status.TokenID }).ShouldNot(Equal(oldID))
		newToken, _ := sim.Token(api.CID, fetch(ctx, cfit).Status.TokenID)
		Eventually(func() []string {
			published := copies(ctx, a, b, c)()
			values := make([]string, 0, len(published))
			for _, data := range published {
				values = append(values, string(data[falconv1alpha1.DefaultTokenKey]))
			}
			return values
		}).Should(Equal([]string{newToken.Value, newToken.Value, newToken.Value}))

		clock.Step(61 * time.Minute)
		passSyncPeriod(api)
		Eventually(func() string { tok, _ := sim.Token(api.CID, oldID); return tok.Status }).Should(Equal("revoked"))
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", newToken.ID)))
	})

	DescribeTable("on deletion, follows deletionPolicy once for every copy",
		func(ctx SpecContext, policy falconv1alpha1.TokenDeletionPolicy, tokenLeft string, owned bool) {
			a, b := namespace(ctx, true), namespace(ctx, true)
			cfit := newClusterToken(ctx, func(c *falconv1alpha1.ClusterFalconInstallationToken) { c.Spec.DeletionPolicy = policy })
			waitReady(ctx, cfit)
			id := cfit.Status.TokenID
			Expect(k8sClient.Delete(ctx, cfit)).To(Succeed())
			waitGone(ctx, cfit)
			tok, exists := sim.Token(api.CID, id)
			if tokenLeft == "" {
				Expect(exists).To(BeFalse())
			} else {
				Expect(tok.Status).To(Equal(tokenLeft))
			}
			Expect(sim.ClientCalls(api.ClientID, "tokens-update")+sim.ClientCalls(api.ClientID, "tokens-delete")).To(BeNumerically("<=", 1),
				"one cleanup call for all the copies")
			for _, ns := range []string{a, b} {
				// envtest runs no garbage collector: the owner reference says what it would do.
				Expect(metav1.GetControllerOf(secretOf(ctx, ns, secretKey)) != nil).To(Equal(owned), fmt.Sprintf("copy in %s", ns))
			}
		},
		Entry("Revoke revokes the token; the copies go with their owner", falconv1alpha1.TokenDeletionRevoke, "revoked", true),
		Entry("Delete deletes the token", falconv1alpha1.TokenDeletionDelete, "", true),
		Entry("Orphan leaves the token valid and keeps the copies, owned by nobody", falconv1alpha1.TokenDeletionOrphan, "valid", false),
	)

	It("creates nothing while no selected namespace exists, and publishes once one does", func(ctx SpecContext) {
		cfit := newClusterToken(ctx, func(c *falconv1alpha1.ClusterFalconInstallationToken) {
			c.Spec.Secret.Namespaces = []string{"not-yet-" + group}
			c.Spec.Secret.NamespaceSelector = nil
		})
		Eventually(readyReason(ctx, cfit)).Should(Equal(falconv1alpha1.ReasonNamespaceNotFound))
		Expect(creates()).To(BeZero())
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "not-yet-" + group}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed()) })
		waitReady(ctx, cfit)
		Expect(copies(ctx, ns.Name)()).To(HaveKey(ns.Name))
	})
})
