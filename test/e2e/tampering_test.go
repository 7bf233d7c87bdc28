package e2e_test

import (
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// Scenario 6 in two parts: Secrets tampered with while the manager runs (6a), and while it is
// down (6b), where the new process has not read the values from Falcon yet and must not take
// an edited Secret's value for the token's.
var tampering struct {
	ns       string
	api      falcontest.APIClient
	original map[string]*corev1.Secret // by resource name, as first published
	creates  int                       // create calls once every resource was Ready
}

const tamperedResources = 10

func tamperedName(i int) string { return fmt.Sprintf("published-%03d", i) }

func secretTampering(ctx SpecContext) {
	ns := newNamespace(ctx, "e2e-tampering")
	api := newAPIClient(ctx, ns, credentialsName)
	ensureLeader()
	createTokens(ctx, ns, "published", 0, tamperedResources)
	waitAllReady(ctx, ns, tamperedResources, 2*time.Minute)
	tampering.ns, tampering.api = ns, api
	tampering.original = secretsOf(ctx, ns)
	tampering.creates = sim.ClientCalls(api.ClientID, "tokens-create")
	Expect(tampering.creates).To(Equal(tamperedResources))

	deleted := []string{tamperedName(0), tamperedName(1), tamperedName(2)}
	edits := map[string]func(*corev1.Secret){
		tamperedName(3): func(s *corev1.Secret) { s.Data[tokenKey] = []byte("tampered") },
		tamperedName(4): func(s *corev1.Secret) { s.Data["EXTRA"] = []byte("x") },
		tamperedName(5): func(s *corev1.Secret) { delete(s.Data, cidKey) },
		tamperedName(6): func(s *corev1.Secret) { delete(s.Labels, falconv1alpha1.ManagedByLabel) },
		tamperedName(7): func(s *corev1.Secret) { s.Labels[falconv1alpha1.ManagedByLabel] = "someone-else" },
		tamperedName(8): func(s *corev1.Secret) {
			s.Annotations[falconv1alpha1.TokenIDAnnotation] = "0123456789abcdef0123456789abcdef"
		},
	}
	started := time.Now()
	for _, name := range deleted {
		Expect(k8sClient.Delete(ctx, tampering.original[name].DeepCopy())).To(Succeed())
	}
	for name, edit := range edits {
		s := tampering.original[name].DeepCopy()
		edit(s)
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
	}

	expectSecretsRestored(ctx, deleted, time.Minute)
	restoredIn := time.Since(started)
	Expect(sim.ClientCalls(api.ClientID, "tokens-create")).To(Equal(tampering.creates), "no token was created to restore a Secret")
	for _, name := range append(slices.Clone(deleted), tamperedName(3), tamperedName(4), tamperedName(5), tamperedName(6)) {
		fit := newToken(ns, name)
		Eventually(func() []string { return eventReasons(ctx, fetch(ctx, fit)) }).Should(
			ContainElement(falconv1alpha1.EventSecretRestored), "%s: an event says the Secret was restored", name)
	}
	tokens := expectOneTokenPerResource(ctx, ns, credentialsName, api)
	current.expectRunning()

	scenario := "6 secret tampering"
	record(scenario, "Secrets deleted while running", len(deleted))
	record(scenario, "Secrets edited while running", len(edits))
	record(scenario, "restored in", restoredIn.Round(100*time.Millisecond))
	record(scenario, "tokens in the simulator", tokens)
}

func secretTamperingWhileDown(ctx SpecContext) {
	Expect(tampering.original).NotTo(BeEmpty(), "scenario 6a published the Secrets")
	ns, api := tampering.ns, tampering.api
	reads := sim.ClientCalls(api.ClientID, "tokens-read")
	ensureLeader().kill()
	add("all", "kills (SIGKILL)", 1)

	deleted := []string{tamperedName(0), tamperedName(1), tamperedName(9)}
	edited := []string{tamperedName(2), tamperedName(3), tamperedName(4)}
	for _, name := range deleted {
		key := client.ObjectKeyFromObject(tampering.original[name])
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})).To(Succeed())
	}
	for _, name := range edited {
		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tampering.original[name]), s)).To(Succeed())
		s.Data[tokenKey] = []byte("edited-while-down") // the token ID annotation still names the current token
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
	}

	current = startManager()
	add("all", "restarts", 1)
	current.waitLeader()
	restartedAt := time.Now()
	expectSecretsRestored(ctx, deleted, time.Minute)
	restoredIn := time.Since(restartedAt)
	Expect(sim.ClientCalls(api.ClientID, "tokens-create")).To(Equal(tampering.creates), "no token was created to restore a Secret")
	Expect(sim.ClientCalls(api.ClientID, "tokens-read")).To(BeNumerically(">", reads), "the new process read the values from Falcon")
	for _, name := range append(slices.Clone(deleted), edited...) {
		fit := newToken(ns, name)
		Eventually(func() []string { return eventReasons(ctx, fetch(ctx, fit)) }).Should(
			ContainElement(falconv1alpha1.EventSecretRestored), "%s: an event says the Secret was restored", name)
	}
	expectOneTokenPerResource(ctx, ns, credentialsName, api)
	current.expectRunning()

	scenario := "6 secret tampering"
	record(scenario, "Secrets deleted while down", len(deleted))
	record(scenario, "Secrets edited while down", len(edited))
	record(scenario, "restored after the restart in", restoredIn.Round(100*time.Millisecond))
}

// expectSecretsRestored waits until every Secret of scenario 6 holds what it was first published
// with, the deleted ones as new objects.
func expectSecretsRestored(ctx SpecContext, deleted []string, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		for name, want := range tampering.original {
			got := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(want), got)).To(Succeed())
			g.Expect(got.Data).To(Equal(want.Data), "%s: the same values", name)
			g.Expect(got.Labels).To(HaveKeyWithValue(falconv1alpha1.ManagedByLabel, falconv1alpha1.ManagedByValue), name)
			g.Expect(got.Annotations).To(HaveKeyWithValue(falconv1alpha1.TokenIDAnnotation, want.Annotations[falconv1alpha1.TokenIDAnnotation]), name)
			if slices.Contains(deleted, name) {
				g.Expect(got.UID).NotTo(Equal(want.UID), "%s: created again", name)
			}
		}
	}).WithTimeout(timeout).WithPolling(500*time.Millisecond).Should(Succeed(), "the Secrets are restored")
}
