package e2e_test

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/test/validation"
)

// Scenario 7a: every invalid object of the validation table (shared with the API suite) is
// refused by the API server, and nothing of it is stored.
func badInputRefused(ctx SpecContext) {
	ns := newNamespace(ctx, "e2e-invalid")
	samples := filepath.Join(repoRoot, "config", "samples")
	for _, c := range validation.InvalidObjects {
		obj, err := validation.LoadSample(samples, c.Sample)
		Expect(err).NotTo(HaveOccurred())
		if obj.GetNamespace() != "" {
			obj.SetNamespace(ns)
		}
		c.Mutate(obj)
		err = k8sClient.Create(ctx, obj)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: want an Invalid error, got %v", c.Name, err)
		Expect(err.Error()).To(ContainSubstring(c.WantMessage), c.Name)
	}
	Expect(listTokens(ctx, ns)).To(BeEmpty())
	settings := &falconv1alpha1.FalconTokenSettingsList{}
	Expect(k8sClient.List(ctx, settings)).To(Succeed())
	Expect(settings.Items).To(BeEmpty())
	record("7 bad input", "invalid samples refused by the API server", len(validation.InvalidObjects))
}

// badInput is what scenario 7b created and 7c watches: objects that pass validation but that
// only the operator or Falcon can refuse, each with an API client of its own.
var badInput struct {
	ns        string
	createdAt time.Time
	cases     []badInputCase
}

type badInputCase struct {
	name     string
	reason   string
	client   falcontest.APIClient
	maxCalls int // over the two minutes after creation
}

// hotLoopWindow is how long scenario 7 counts the calls of a refused object.
const hotLoopWindow = 2 * time.Minute

func badInputConditions(ctx SpecContext) {
	ns := newNamespace(ctx, "e2e-bad-input")
	ensureLeader()
	// A refused create is tried again when the resource or its credentials change, and
	// otherwise once a sync period: the first attempt, one for the credentials Secret's own
	// event, then one a sync period. A retry first looks up the token by the marker of the create
	// it recorded (a query), then creates. Plus the one token request.
	retried := 1 + 1 + 2*(1+int(hotLoopWindow/syncPeriod))
	badInput.ns = ns

	unknownCloud := newAPIClient(ctx, ns, "creds-unknown-cloud")
	halfClient := sim.AddClient(falcontest.APIClient{})
	Expect(k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds-missing-key"},
		StringData: map[string]string{"client_id": halfClient.ClientID},
	})).To(Succeed())
	readOnly := newAPIClient(ctx, ns, "creds-read-only", falcontest.ScopeTokensRead, falcontest.ScopeSensorRead)
	capped := newAPIClient(ctx, ns, "creds-capped")
	sim.ConsoleSetSettings(capped.CID, falcontest.Settings{MaxActiveTokens: 1})
	sim.ConsoleCreateToken(capped.CID, "made in the console", nil)

	badInput.cases = []badInputCase{
		{"unknown-cloud", falconv1alpha1.ReasonCloudNotFound, unknownCloud, 0},
		{"missing-key", falconv1alpha1.ReasonCredentialsNotFound, halfClient, 0},
		{"missing-scope", falconv1alpha1.ReasonMissingScope, readOnly, retried},
		{"token-cap", falconv1alpha1.ReasonTokenLimitReached, capped, retried},
	}
	objects := []*falconv1alpha1.FalconInstallationToken{
		newToken(ns, "unknown-cloud", credentials("creds-unknown-cloud"), func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.FalconAPI.Cloud = "mars-1" // a valid name, but no such cloud or --cloud-endpoint
		}),
		newToken(ns, "missing-key", credentials("creds-missing-key")),
		newToken(ns, "missing-scope", credentials("creds-read-only")),
		newToken(ns, "token-cap", credentials("creds-capped")),
	}
	badInput.createdAt = time.Now()
	for _, obj := range objects {
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	}
	for i, c := range badInput.cases {
		fit := objects[i]
		Eventually(func() string { return reasonOf(fetch(ctx, fit)) }).Should(Equal(c.reason), c.name)
		Expect(readyOf(fit).Status).To(Equal(metav1.ConditionFalse))
		record("7 bad input", c.name+": condition", c.reason)
	}
	Expect(readyOf(fetch(ctx, objects[2])).Message).To(ContainSubstring("Installation Tokens: Write"), "the message names the scope to add")
	for _, obj := range objects {
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.Name}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s: no Secret without a token", obj.Name)
	}
}

// badInputNoHotLoop watches the calls of each refused object until two minutes after it was
// created: at most a few, none for what needs no call to know it cannot work.
func badInputNoHotLoop(ctx SpecContext) {
	Expect(badInput.cases).NotTo(BeEmpty(), "scenario 7b created the objects")
	end := badInput.createdAt.Add(hotLoopWindow)
	callsInWindow := func(c badInputCase) int {
		n := 0
		for _, call := range callsOf(c.client.ClientID, badInput.createdAt) {
			if call.At.Before(end) {
				n++
			}
		}
		return n
	}
	withinBounds := func(g Gomega) {
		for _, c := range badInput.cases {
			g.Expect(callsInWindow(c)).To(BeNumerically("<=", c.maxCalls), "%s: API calls since it was created", c.name)
		}
	}
	if wait := time.Until(end); wait > 0 {
		Consistently(withinBounds).WithTimeout(wait).WithPolling(time.Second).Should(Succeed())
	}
	withinBounds(Default)
	for _, c := range badInput.cases {
		fit := fetch(ctx, newToken(badInput.ns, c.name))
		Expect(reasonOf(fit)).To(Equal(c.reason), "%s stays in its condition", c.name)
		record("7 bad input", c.name+": API calls in two minutes", callsInWindow(c))
	}
	current.expectRunning()
}
