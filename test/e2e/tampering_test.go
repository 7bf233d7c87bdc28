package e2e_test

import (
	"context"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 6 in two parts: Secrets tampered with while the manager runs (6a), and while it is
// down (6b), where the new process has not read the values from Falcon yet and must not take
// an edited Secret's value for the token's. Each part publishes its own Secrets first.

const tamperedResources = 10

func tamperedName(i int) string { return tokenName("published", i) }

// published is what a part of scenario 6 starts from: Secrets published and Ready.
type published struct {
	ns       string
	api      falcontest.APIClient
	original map[string]*corev1.Secret // by resource name, as first published
	creates  int                       // create calls once every resource was Ready
}

// publish creates the resources of scenario 6 with the scenario's leader and waits until
// their Secrets are published.
func publish(ctx context.Context, s *scenario) *published {
	GinkgoHelper()
	p := &published{ns: s.ns, api: s.newAPIClient(ctx, credentialsName)}
	createTokens(ctx, p.ns, "published", 0, tamperedResources)
	waitAllReady(ctx, p.ns, tamperedResources, 2*time.Minute)
	p.original = secretsOf(ctx, p.ns)
	p.creates = sim.ClientCalls(p.api.ClientID, "tokens-create")
	Expect(p.creates).To(Equal(tamperedResources))
	return p
}

func secretTampering(ctx SpecContext) {
	s := newScenario(ctx, "tampering")
	leader := s.startLeader()
	p := publish(ctx, s)

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
		Expect(k8sClient.Delete(ctx, p.original[name].DeepCopy())).To(Succeed())
	}
	for name, edit := range edits {
		secret := p.original[name].DeepCopy()
		edit(secret)
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
	}

	p.expectRestored(ctx, deleted, time.Minute)
	restoredIn := time.Since(started)
	Expect(sim.ClientCalls(p.api.ClientID, "tokens-create")).To(Equal(p.creates), "no token was created to restore a Secret")
	for _, name := range append(slices.Clone(deleted), tamperedName(3), tamperedName(4), tamperedName(5), tamperedName(6)) {
		Eventually(eventReasons(ctx, fetch(ctx, testutil.NewToken(p.ns, name)))).Should(
			ContainElement(falconv1alpha1.EventSecretRestored), "%s: an event says the Secret was restored", name)
	}
	tokens := expectOneTokenPerResource(ctx, p.ns, credentialsName, p.api)
	leader.expectRunning()

	scenario := "6 secret tampering"
	record(scenario, "Secrets deleted while running", len(deleted))
	record(scenario, "Secrets edited while running", len(edits))
	record(scenario, "restored in", restoredIn.Round(100*time.Millisecond))
	record(scenario, "tokens in the simulator", tokens)
}

func secretTamperingWhileDown(ctx SpecContext) {
	s := newScenario(ctx, "tampering-down")
	leader := s.startLeader()
	p := publish(ctx, s)
	reads := sim.ClientCalls(p.api.ClientID, "tokens-read")
	leader.kill()
	add("all", "kills (SIGKILL)", 1)

	deleted := []string{tamperedName(0), tamperedName(1), tamperedName(9)}
	edited := []string{tamperedName(2), tamperedName(3), tamperedName(4)}
	for _, name := range deleted {
		key := client.ObjectKeyFromObject(p.original[name])
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})).To(Succeed())
	}
	for _, name := range edited {
		secret := fetch(ctx, p.original[name].DeepCopy())
		secret.Data[tokenKey] = []byte("edited-while-down") // the token ID annotation still names the current token
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
	}

	restarted := s.startLeader()
	add("all", "restarts", 1)
	restartedAt := time.Now()
	p.expectRestored(ctx, deleted, time.Minute)
	restoredIn := time.Since(restartedAt)
	Expect(sim.ClientCalls(p.api.ClientID, "tokens-create")).To(Equal(p.creates), "no token was created to restore a Secret")
	Expect(sim.ClientCalls(p.api.ClientID, "tokens-read")).To(BeNumerically(">", reads), "the new process read the values from Falcon")
	for _, name := range append(slices.Clone(deleted), edited...) {
		Eventually(eventReasons(ctx, fetch(ctx, testutil.NewToken(p.ns, name)))).Should(
			ContainElement(falconv1alpha1.EventSecretRestored), "%s: an event says the Secret was restored", name)
	}
	expectOneTokenPerResource(ctx, p.ns, credentialsName, p.api)
	restarted.expectRunning()

	scenario := "6 secret tampering"
	record(scenario, "Secrets deleted while down", len(deleted))
	record(scenario, "Secrets edited while down", len(edited))
	record(scenario, "restored after the restart in", restoredIn.Round(100*time.Millisecond))
}

// expectRestored waits until every Secret holds what it was first published with, the deleted
// ones as new objects.
func (p *published) expectRestored(ctx context.Context, deleted []string, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		for name, want := range p.original {
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
