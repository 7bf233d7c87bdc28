package e2e_test

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
	"github.com/falconops/falcon-token-operator/test/validation"
)

// Scenario 7a: every invalid object of the validation table (shared with the API suite) is
// refused by the API server, and nothing of it is stored.
func badInputRefused(ctx SpecContext) {
	s := newScenario(ctx, "invalid")
	samples := filepath.Join(repoRoot, "config", "samples")
	for _, c := range validation.InvalidObjects {
		obj, err := validation.LoadSample(samples, c.Sample)
		Expect(err).NotTo(HaveOccurred())
		if obj.GetNamespace() != "" {
			obj.SetNamespace(s.ns)
		}
		c.Mutate(obj)
		err = k8sClient.Create(ctx, obj.DeepCopy())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: want an Invalid error, got %v", c.Name, err)
		Expect(err.Error()).To(ContainSubstring(c.WantMessage), c.Name)
		Expect(storedLike(ctx, obj)).To(BeEmpty(), "%s: nothing is stored", c.Name)
	}
	record("7 bad input", "invalid samples refused by the API server", len(validation.InvalidObjects))
}

// storedLike names the stored objects of sample's kind, in its namespace, whose names it
// would have generated.
func storedLike(ctx context.Context, sample *unstructured.Unstructured) []string {
	GinkgoHelper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(sample.GroupVersionKind())
	Expect(k8sClient.List(ctx, list, client.InNamespace(sample.GetNamespace()))).To(Succeed())
	var names []string
	for _, item := range list.Items {
		if strings.HasPrefix(item.GetName(), sample.GetGenerateName()) {
			names = append(names, item.GetName())
		}
	}
	return names
}

type badInputCase struct {
	name     string
	reason   string
	client   falcontest.APIClient
	maxCalls int // over hotLoopWindow after creation
}

// Scenario 7b watches refused objects for hotLoopWindow, with a sync period short enough that
// the window holds three of the periodic rechecks.
const (
	hotLoopWindow     = time.Minute
	hotLoopSyncPeriod = 20 * time.Second
)

// Scenario 7b: objects that pass validation but that only the operator or Falcon can refuse,
// each with an API client of its own, end in their condition, and then stay there with at
// most a few API calls, none for what needs no call to know it cannot work.
func badInputConditions(ctx SpecContext) {
	s := newScenario(ctx, "bad-input")
	ns := s.ns
	leader := s.startLeader(syncEvery(hotLoopSyncPeriod))
	// A refused create is tried again when the resource or its credentials change, and
	// otherwise once a sync period: the first attempt, one for the credentials Secret's own
	// event, then one a sync period. A retry first looks up the token by the marker of the create
	// it recorded (a query), then creates. Plus the one token request.
	retried := 1 + 1 + 2*(1+int(hotLoopWindow/hotLoopSyncPeriod))

	unknownCloud := s.newAPIClient(ctx, "creds-unknown-cloud")
	halfClient := sim.AddClient(falcontest.APIClient{})
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds-missing-key"},
		StringData: map[string]string{"client_id": halfClient.ClientID},
	})).To(Succeed())
	readOnly := s.newAPIClient(ctx, "creds-read-only", falcontest.ScopeTokensRead, falcontest.ScopeSensorRead)
	capped := s.newAPIClient(ctx, "creds-capped")
	sim.ConsoleSetSettings(capped.CID, falcontest.Settings{MaxActiveTokens: 1})
	sim.ConsoleCreateToken(capped.CID, "made in the console", nil)

	cases := []badInputCase{
		{"unknown-cloud", falconv1alpha1.ReasonCloudNotFound, unknownCloud, 0},
		{"missing-key", falconv1alpha1.ReasonCredentialsNotFound, halfClient, 0},
		{"missing-scope", falconv1alpha1.ReasonMissingScope, readOnly, retried},
		{"token-cap", falconv1alpha1.ReasonTokenLimitReached, capped, retried},
	}
	objects := []*falconv1alpha1.FalconInstallationToken{
		testutil.NewToken(ns, "unknown-cloud", credentials("creds-unknown-cloud"), func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.FalconAPI.Cloud = "mars-1" // a valid name, but no such cloud or --cloud-endpoint
		}),
		testutil.NewToken(ns, "missing-key", credentials("creds-missing-key")),
		testutil.NewToken(ns, "missing-scope", credentials("creds-read-only")),
		testutil.NewToken(ns, "token-cap", credentials("creds-capped")),
	}
	createdAt := time.Now()
	for _, obj := range objects {
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	}
	for i, c := range cases {
		fit := objects[i]
		Eventually(testutil.Object(ctx, k8sClient, fit)).Should(testutil.HaveReadyReason(c.reason), c.name)
		Expect(testutil.ReadyCondition(fit).Status).To(Equal(metav1.ConditionFalse))
		record("7 bad input", c.name+": condition", c.reason)
	}
	Expect(testutil.ReadyCondition(fetch(ctx, objects[2])).Message).To(ContainSubstring("Installation Tokens: Write"), "the message names the scope to add")
	for _, obj := range objects {
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.Name}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s: no Secret without a token", obj.Name)
	}

	By("counting the API calls of each refused object until the window ends")
	end := createdAt.Add(hotLoopWindow)
	callsInWindow := func(c badInputCase) int {
		return countCalls(callsOf(c.client.ClientID, createdAt), func(call falcontest.Call) bool { return call.At.Before(end) })
	}
	withinBounds := func(g Gomega) {
		for _, c := range cases {
			g.Expect(callsInWindow(c)).To(BeNumerically("<=", c.maxCalls), "%s: API calls since it was created", c.name)
		}
	}
	if wait := time.Until(end); wait > 0 {
		Consistently(withinBounds).WithTimeout(wait).WithPolling(time.Second).Should(Succeed())
	}
	withinBounds(Default)
	for i, c := range cases {
		Expect(fetch(ctx, objects[i])).To(testutil.HaveReadyReason(c.reason), "%s stays in its condition", c.name)
		record("7 bad input", c.name+": API calls in "+hotLoopWindow.String(), callsInWindow(c))
	}
	leader.expectRunning()
}
