package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// What the scenarios do with FalconInstallationTokens and check of them.

const (
	credentialsName = testutil.CredentialsName
	tokenKey        = falconv1alpha1.DefaultTokenKey
	cidKey          = falconv1alpha1.DefaultCIDKey
)

type tokenOption = func(*falconv1alpha1.FalconInstallationToken)

func expiresAfter(d time.Duration) tokenOption {
	return func(f *falconv1alpha1.FalconInstallationToken) {
		f.Spec.ExpiresAfter = &metav1.Duration{Duration: d}
	}
}

func credentials(secretName string) tokenOption {
	return func(f *falconv1alpha1.FalconInstallationToken) {
		f.Spec.FalconAPI.CredentialsSecretRef.Name = secretName
	}
}

func deletionPolicy(p falconv1alpha1.TokenDeletionPolicy) tokenOption {
	return func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.DeletionPolicy = p }
}

// tokenName is the name of the i-th resource createTokens makes with prefix.
func tokenName(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }

// createTokens creates tokens prefix-<from> to prefix-<from+n-1>; every other one expires.
func createTokens(ctx context.Context, namespace, prefix string, from, n int, opts ...tokenOption) {
	GinkgoHelper()
	for i := from; i < from+n; i++ {
		all := opts
		if i%2 == 0 {
			all = append([]tokenOption{expiresAfter(720 * time.Hour)}, opts...)
		}
		Expect(k8sClient.Create(ctx, testutil.NewToken(namespace, tokenName(prefix, i), all...))).To(Succeed())
	}
}

func listTokens(ctx context.Context, namespace string) []falconv1alpha1.FalconInstallationToken {
	GinkgoHelper()
	list := &falconv1alpha1.FalconInstallationTokenList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(namespace))).To(Succeed())
	return list.Items
}

func fetch[T client.Object](ctx context.Context, obj T) T {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}

// eventReasons returns a function for Eventually: the reasons of the events about obj.
func eventReasons(ctx context.Context, obj client.Object) func() ([]string, error) {
	return func() ([]string, error) { return testutil.EventReasons(ctx, k8sClient, obj) }
}

// waitAllReady waits until want resources in namespace are all Ready.
func waitAllReady(ctx context.Context, namespace string, want int, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		items := listTokens(ctx, namespace)
		g.Expect(items).To(HaveLen(want))
		var notReady []string
		for i := range items {
			if !testutil.IsReady(&items[i]) {
				notReady = append(notReady, items[i].Name+": "+testutil.ReadyReason(&items[i]))
			}
		}
		g.Expect(notReady).To(BeEmpty(), "not Ready yet")
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed(), "every resource in %s is Ready", namespace)
}

// labelOf is the label a resource's token carries before the operator's marker.
func labelOf(fit *falconv1alpha1.FalconInstallationToken) string {
	if fit.Spec.Label != "" {
		return fit.Spec.Label
	}
	return fit.Namespace + "/" + fit.Name
}

// expectUnrecordedTokensPending checks, while no manager runs, that every token of the account
// that no resource's status names yet belongs to a create intent recorded in the cluster: the
// resource whose label it carries has an unfinished create intent with the token's marker, so the next
// manager adopts it instead of creating a second one. It returns the number of such tokens.
func expectUnrecordedTokensPending(ctx context.Context, namespace string, api falcontest.APIClient) int {
	GinkgoHelper()
	fits := listTokens(ctx, namespace)
	recorded := map[string]bool{}
	byLabel := map[string]*falconv1alpha1.FalconInstallationToken{}
	for i := range fits {
		recorded[fits[i].Status.TokenID] = true
		byLabel[labelOf(&fits[i])] = &fits[i]
	}
	unrecorded := 0
	for _, t := range sim.Tokens(api.CID) {
		if recorded[t.ID] {
			continue
		}
		unrecorded++
		fit := byLabel[testutil.BaseLabel(t.Label)]
		Expect(fit).NotTo(BeNil(), "token %q belongs to a resource", t.Label)
		raw, pending := fit.Annotations[falconv1alpha1.CreateIntentAnnotation]
		Expect(pending).To(BeTrue(), "%s: a token not yet in status belongs to a recorded create intent", fit.Name)
		intent := falconv1alpha1.CreateIntent{}
		Expect(json.Unmarshal([]byte(raw), &intent)).To(Succeed())
		Expect(intent.Revision).To(BeNumerically(">", fit.Status.Revision), "%s: the create intent is not finished", fit.Name)
		Expect(intent.Marker).To(Equal(testutil.Marker(t.Label)), "%s: the create intent's marker is the token's", fit.Name)
	}
	return unrecorded
}

// expectOneTokenPerResource checks the invariant every scenario ends with: each resource of
// namespace that uses credentialsSecret holds exactly one live Falcon token, published in its
// Secret, and the account holds no other token at all, live or revoked: no create ever happened
// twice. It returns the number of tokens the account holds.
func expectOneTokenPerResource(ctx context.Context, namespace, credentialsSecret string, api falcontest.APIClient) int {
	GinkgoHelper()
	var fits []falconv1alpha1.FalconInstallationToken
	for _, fit := range listTokens(ctx, namespace) {
		if fit.Spec.FalconAPI.CredentialsSecretRef.Name == credentialsSecret {
			fits = append(fits, fit)
		}
	}
	Expect(fits).NotTo(BeEmpty())
	tokens := sim.Tokens(api.CID)
	perLabel := map[string]int{}
	for _, t := range tokens {
		perLabel[testutil.BaseLabel(t.Label)]++
	}
	live := testutil.LiveTokens(sim, api.CID)
	liveByLabel := map[string][]falcontest.Token{}
	for _, t := range live {
		label := testutil.BaseLabel(t.Label)
		liveByLabel[label] = append(liveByLabel[label], t)
	}

	// Count first, so that the report has the number even when an assertion below fails.
	duplicates := 0
	owned := map[string]bool{}
	for _, fit := range fits {
		label := labelOf(&fit)
		owned[label] = true
		duplicates += max(perLabel[label]-1, 0)
	}
	var unowned []string
	for _, t := range live {
		if !owned[testutil.BaseLabel(t.Label)] {
			unowned = append(unowned, t.Label)
		}
	}
	duplicates += len(unowned)
	add("all", "duplicates found", duplicates)

	for _, fit := range fits {
		mine := liveByLabel[labelOf(&fit)]
		Expect(mine).To(HaveLen(1), "%s/%s has exactly one live token", namespace, fit.Name)
		Expect(mine[0].ID).To(Equal(fit.Status.TokenID), "%s/%s's status names its live token", namespace, fit.Name)
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fit.Status.SecretName}, secret)).To(Succeed())
		Expect(string(secret.Data[tokenKey])).To(Equal(mine[0].Value), "%s/%s's Secret holds its token", namespace, fit.Name)
		Expect(string(secret.Data[cidKey])).To(HavePrefix(api.CID))
	}
	Expect(unowned).To(BeEmpty(), "no live token in the account that no resource owns")
	Expect(tokens).To(HaveLen(len(fits)), "the account holds one token per resource and no other: none was created twice")
	return len(tokens)
}

// secretsOf reads the Secrets the resources of namespace publish, by resource name.
func secretsOf(ctx context.Context, namespace string) map[string]*corev1.Secret {
	GinkgoHelper()
	out := map[string]*corev1.Secret{}
	for _, fit := range listTokens(ctx, namespace) {
		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fit.Status.SecretName}, s)).To(Succeed())
		out[fit.Name] = s
	}
	return out
}
