package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

const (
	credentialsName = "falcon-api"
	tokenKey        = falconv1alpha1.DefaultTokenKey
	cidKey          = falconv1alpha1.DefaultCIDKey
)

// newNamespace creates a namespace for one scenario. Nothing is deleted afterwards: the last
// scenarios look at everything the earlier ones left.
func newNamespace(ctx context.Context, name string) string {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

// newAPIClient registers a fresh API client, and so a fresh customer account, in the simulator
// and stores its credentials in Secret namespace/secretName.
func newAPIClient(ctx context.Context, namespace, secretName string, scopes ...string) falcontest.APIClient {
	GinkgoHelper()
	c := sim.AddClient(falcontest.APIClient{Scopes: scopes})
	Expect(k8sClient.Create(ctx, credentialsSecret(namespace, secretName, c.ClientID, c.ClientSecret))).To(Succeed())
	return c
}

func credentialsSecret(namespace, name, id, secret string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{"client_id": id, "client_secret": secret},
	}
}

type tokenOption func(*falconv1alpha1.FalconInstallationToken)

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

// newToken is a FalconInstallationToken on the simulator's cloud with the scenario's credentials.
func newToken(namespace, name string, opts ...tokenOption) *falconv1alpha1.FalconInstallationToken {
	fit := &falconv1alpha1.FalconInstallationToken{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: falconv1alpha1.FalconInstallationTokenSpec{
			FalconAPI: falconv1alpha1.FalconAPI{Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: credentialsName}},
		},
	}
	for _, o := range opts {
		o(fit)
	}
	return fit
}

// createTokens creates tokens prefix-<from> to prefix-<from+n-1>; every other one expires.
func createTokens(ctx context.Context, namespace, prefix string, from, n int, opts ...tokenOption) {
	GinkgoHelper()
	for i := from; i < from+n; i++ {
		all := opts
		if i%2 == 0 {
			all = append([]tokenOption{expiresAfter(720 * time.Hour)}, opts...)
		}
		Expect(k8sClient.Create(ctx, newToken(namespace, fmt.Sprintf("%s-%03d", prefix, i), all...))).To(Succeed())
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

func readyOf(fit *falconv1alpha1.FalconInstallationToken) *metav1.Condition {
	return meta.FindStatusCondition(fit.Status.Conditions, falconv1alpha1.ConditionReady)
}

// isReady is Ready=True for the current generation.
func isReady(fit *falconv1alpha1.FalconInstallationToken) bool {
	c := readyOf(fit)
	return c != nil && c.Status == metav1.ConditionTrue && fit.Status.ObservedGeneration == fit.Generation
}

func reasonOf(fit *falconv1alpha1.FalconInstallationToken) string {
	if c := readyOf(fit); c != nil {
		return c.Reason
	}
	return ""
}

// waitAllReady waits until want resources in namespace are all Ready, and returns them.
func waitAllReady(ctx context.Context, namespace string, want int, timeout time.Duration) []falconv1alpha1.FalconInstallationToken {
	GinkgoHelper()
	var items []falconv1alpha1.FalconInstallationToken
	Eventually(func(g Gomega) {
		items = listTokens(ctx, namespace)
		g.Expect(items).To(HaveLen(want))
		var notReady []string
		for i := range items {
			if !isReady(&items[i]) {
				notReady = append(notReady, items[i].Name+": "+reasonOf(&items[i]))
			}
		}
		g.Expect(notReady).To(BeEmpty(), "not Ready yet")
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed(), "every resource in %s is Ready", namespace)
	return items
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
		fit := byLabel[baseLabelOf(t.Label)]
		Expect(fit).NotTo(BeNil(), "token %q belongs to a resource", t.Label)
		raw, pending := fit.Annotations[falconv1alpha1.CreateIntentAnnotation]
		Expect(pending).To(BeTrue(), "%s: a token not yet in status belongs to a recorded create intent", fit.Name)
		intent := falconv1alpha1.CreateIntent{}
		Expect(json.Unmarshal([]byte(raw), &intent)).To(Succeed())
		Expect(intent.Revision).To(BeNumerically(">", fit.Status.Revision), "%s: the create intent is not finished", fit.Name)
		Expect(intent.Marker).To(Equal(markerOf(t.Label)), "%s: the create intent's marker is the token's", fit.Name)
	}
	return unrecorded
}

// baseLabelOf is a Falcon token label without the operator's marker.
func baseLabelOf(label string) string {
	if i := strings.LastIndex(label, " [fto-"); i >= 0 {
		return label[:i]
	}
	return label
}

// markerOf is the marker at the end of a Falcon token label.
func markerOf(label string) string {
	if i := strings.LastIndex(label, " [fto-"); i >= 0 && strings.HasSuffix(label, "]") {
		return label[i+2 : len(label)-1]
	}
	return ""
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
	byLabel := map[string][]falcontest.Token{}
	for _, t := range tokens {
		byLabel[baseLabelOf(t.Label)] = append(byLabel[baseLabelOf(t.Label)], t)
	}
	live := func(label string) []falcontest.Token {
		var out []falcontest.Token
		for _, t := range byLabel[label] {
			if t.Status == falcon.TokenStatusValid {
				out = append(out, t)
			}
		}
		return out
	}

	// Count first, so that the report has the number even when an assertion below fails.
	duplicates := 0
	owned := map[string]bool{}
	for _, fit := range fits {
		label := labelOf(&fit)
		owned[label] = true
		duplicates += max(len(byLabel[label])-1, 0)
	}
	var unowned []string
	for _, t := range tokens {
		if t.Status == falcon.TokenStatusValid && !owned[baseLabelOf(t.Label)] {
			unowned = append(unowned, t.Label)
		}
	}
	duplicates += len(unowned)
	add("all", "duplicates found", duplicates)

	for _, fit := range fits {
		mine := live(labelOf(&fit))
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

// eventReasons are the reasons of the events recorded about obj.
func eventReasons(ctx context.Context, obj client.Object) []string {
	GinkgoHelper()
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.UID == obj.GetUID() {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// allEventsText is every event in the cluster, in full.
func allEventsText(ctx context.Context) (string, int) {
	GinkgoHelper()
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list)).To(Succeed())
	raw, err := json.Marshal(list.Items)
	Expect(err).NotTo(HaveOccurred())
	return string(raw), len(list.Items)
}

// allStatusesText is the status of every resource of both kinds.
func allStatusesText(ctx context.Context) (string, int) {
	GinkgoHelper()
	tokens := &falconv1alpha1.FalconInstallationTokenList{}
	Expect(k8sClient.List(ctx, tokens)).To(Succeed())
	settings := &falconv1alpha1.FalconTokenSettingsList{}
	Expect(k8sClient.List(ctx, settings)).To(Succeed())
	var statuses []any
	for _, t := range tokens.Items {
		statuses = append(statuses, t.Status)
	}
	for _, s := range settings.Items {
		statuses = append(statuses, s.Status)
	}
	raw, err := json.Marshal(statuses)
	Expect(err).NotTo(HaveOccurred())
	return string(raw), len(statuses)
}

// callsOf are the requests the simulator received from clientID, from since on.
func callsOf(clientID string, since time.Time) []falcontest.Call {
	var out []falcontest.Call
	for _, c := range sim.CallLog() {
		if c.ClientID == clientID && !c.At.Before(since) {
			out = append(out, c)
		}
	}
	return out
}

func countCalls(calls []falcontest.Call, match func(falcontest.Call) bool) int {
	n := 0
	for _, c := range calls {
		if match(c) {
			n++
		}
	}
	return n
}
