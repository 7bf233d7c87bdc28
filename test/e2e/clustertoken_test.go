package e2e_test

import (
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 14: a ClusterFalconInstallationToken publishes one token into three namespaces, and
// the manager is killed with SIGKILL while it publishes: once right after the create reply
// left the simulator, then at a random moment of the next process's work. The last process
// ends the work with one live token, and the same Secret (same name, same data) in each
// namespace.
func clusterTokenKilledWhilePublishing(ctx SpecContext) {
	s := newScenario(ctx, "cluster-token")
	// The credentials live in the scenario's first namespace, the managers'
	// --cluster-resource-namespace.
	api := s.newAPIClient(ctx, credentialsName)
	targets := []string{s.newNamespace(ctx, "a"), s.newNamespace(ctx, "b"), s.newNamespace(ctx, "c")}
	rng := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 14))
	leader := s.startLeader()

	cfit := &falconv1alpha1.ClusterFalconInstallationToken{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns}, // cluster-scoped: a name no other run uses
		Spec: falconv1alpha1.ClusterFalconInstallationTokenSpec{
			FalconAPI: falconv1alpha1.FalconAPI{Cloud: testutil.SimCloud, CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: credentialsName}},
			Secret:    falconv1alpha1.ClusterSecretTemplate{Namespaces: targets},
		},
	}
	held, release := sim.HoldNext("tokens-create")
	DeferCleanup(release)
	Expect(k8sClient.Create(ctx, cfit)).To(Succeed())
	// Deleted at the end while a manager still runs, so that no later scenario's manager meets
	// it: cluster-scoped, it is outside any namespace a manager is told to watch.
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, cfit))).To(Succeed())
		Eventually(testutil.Gone(ctx, k8sClient, cfit)).Should(BeTrue(), "the cluster token is deleted")
	})

	By("killing the manager as the create reply reaches it")
	Eventually(held).Should(BeClosed(), "the manager creates the token")
	release()
	leader.kill()
	add("all", "kills (SIGKILL)", 1)

	By("killing the next manager at a random moment of its work")
	next := s.startLeader()
	delay := time.Duration(rng.IntN(1500)) * time.Millisecond
	time.Sleep(delay) // a random moment of its adoption or publication
	next.kill()
	add("all", "kills (SIGKILL)", 1)

	last := s.startLeader()
	add("all", "restarts", 2)
	Eventually(testutil.Object(ctx, k8sClient, cfit)).WithTimeout(2 * time.Minute).Should(testutil.BeReady())
	Expect(cfit.Status.PublishedNamespaces).To(ConsistOf(targets))
	Expect(cfit.Status.RefusedNamespaces).To(BeEmpty())

	live := testutil.LiveTokens(sim, api.CID)
	Expect(live).To(HaveLen(1), "one live token for the resource")
	Expect(live[0].ID).To(Equal(cfit.Status.TokenID))
	var first *corev1.Secret
	for _, ns := range targets {
		secret := fetch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: cfit.Name}})
		Expect(string(secret.Data[tokenKey])).To(Equal(live[0].Value), "%s: the Secret holds the token", ns)
		if first == nil {
			first = secret
			continue
		}
		Expect(secret.Data).To(Equal(first.Data), "%s: the same data as in %s", ns, first.Namespace)
	}
	last.expectRunning()

	scenario := "14 cluster token"
	record(scenario, "namespaces published to", len(targets))
	record(scenario, "SIGKILLs while publishing", 2)
	record(scenario, "second kill after", delay.Round(time.Millisecond))
	record(scenario, "create calls", sim.ClientCalls(api.ClientID, "tokens-create"))
}
