package controller_test

import (
	"context"
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

// newSettings builds a FalconTokenSettings on the simulator's cloud using the credentials
// Secret credentials of the cluster resource namespace; change adjusts its spec. It is deleted
// after the test.
func newSettings(ctx context.Context, credentials, name string, change ...func(*falconv1alpha1.FalconTokenSettings)) *falconv1alpha1.FalconTokenSettings {
	fts := &falconv1alpha1.FalconTokenSettings{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: falconv1alpha1.FalconTokenSettingsSpec{
			FalconAPI: falconv1alpha1.FalconAPI{Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: credentials}},
		},
	}
	for _, c := range change {
		c(fts)
	}
	Expect(k8sClient.Create(ctx, fts)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { deleteAndWait(ctx, fts) })
	return fts
}

func deleteAndWait(ctx context.Context, obj client.Object) {
	GinkgoHelper()
	Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, obj))).To(Succeed())
	waitGone(ctx, obj)
}

// nextSync waits until the operator read the settings again (every sync period, in real time),
// after moving the fake clock a second on so that the read is told apart by its time.
func nextSync(ctx context.Context, fts *falconv1alpha1.FalconTokenSettings) {
	GinkgoHelper()
	clock.Step(time.Second)
	since := clock.Now()
	Eventually(func() time.Time {
		if t := fetch(ctx, fts).Status.LastSyncTime; t != nil {
			return t.Time
		}
		return time.Time{}
	}).Should(BeTemporally(">=", since.Truncate(time.Second)))
}

// newOperatorAPIClient registers a fresh API client in the simulator with its credentials
// Secret, named name, in the cluster resource namespace, removed after the test.
func newOperatorAPIClient(ctx context.Context, name string, scopes ...string) falcontest.APIClient {
	GinkgoHelper()
	c := newAPIClient(ctx, operatorNamespace, name, scopes...)
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name}}))).To(Succeed())
	})
	return c
}

var _ = Describe("FalconTokenSettings", func() {
	var (
		ns  string
		api falcontest.APIClient
	)
	writes := func(c falcontest.APIClient) func() int {
		return func() int { return sim.ClientCalls(c.ClientID, "customer-settings-update") }
	}

	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx) // names the test's objects, and its credentials Secret
		api = newOperatorAPIClient(ctx, ns)
		sim.ConsoleSetSettings(api.CID, falcontest.Settings{TokensRequired: true, MaxActiveTokens: 1000})
	})

	It("enforces both fields, false included, and keeps the values it found", func(ctx SpecContext) {
		sim.ConsoleCreateToken(api.CID, "one", nil)
		sim.ConsoleCreateToken(api.CID, "two", nil)
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) {
			f.Spec.TokensRequired = new(bool)
			f.Spec.MaxActiveTokens = new(int32(50))
		})
		waitReady(ctx, fts)

		Expect(sim.Settings(api.CID)).To(Equal(falcontest.Settings{TokensRequired: false, MaxActiveTokens: 50}))
		Expect(fts.Status.TokensRequired).To(HaveValue(BeFalse()))
		Expect(fts.Status.MaxActiveTokens).To(HaveValue(BeEquivalentTo(50)))
		Expect(fts.Status.ActiveTokens).To(HaveValue(BeEquivalentTo(2)))
		Expect(fts.Status.LastSyncTime).NotTo(BeNil())
		Expect(fts.Status.AccountID).To(HavePrefix(api.CID))
		Expect(fts.Status.OriginalSettings).To(Equal(&falconv1alpha1.TokenSettingsValues{TokensRequired: new(true), MaxActiveTokens: new(int32(1000))}))
		Expect(fts.Finalizers).To(ContainElement(falconv1alpha1.Finalizer))
		Expect(readyOf(ctx, fts).Reason).To(Equal(falconv1alpha1.ReasonInSync))
		Expect(eventReasons(ctx, fts)).To(ContainElement(falconv1alpha1.EventUpdated))
		nextSync(ctx, fts)
		Expect(writes(api)()).To(Equal(1), "settings in sync are not written again")
	})

	It("never writes a field the spec leaves unset", func(ctx SpecContext) {
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(10)) })
		waitReady(ctx, fts)
		Expect(sim.Settings(api.CID)).To(Equal(falcontest.Settings{TokensRequired: true, MaxActiveTokens: 10}))
		Expect(fts.Status.OriginalSettings).To(Equal(&falconv1alpha1.TokenSettingsValues{MaxActiveTokens: new(int32(1000))}))

		sim.ConsoleSetSettings(api.CID, falcontest.Settings{TokensRequired: false, MaxActiveTokens: 10})
		nextSync(ctx, fts)
		Expect(fetch(ctx, fts).Status.TokensRequired).To(HaveValue(BeFalse()), "the console's value is observed")
		Expect(sim.Settings(api.CID).TokensRequired).To(BeFalse(), "and left alone")
		Expect(writes(api)()).To(Equal(1))
	})

	It("corrects drift made in the console and says so in events", func(ctx SpecContext) {
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) {
			f.Spec.TokensRequired = new(true)
			f.Spec.MaxActiveTokens = new(int32(25))
		})
		waitReady(ctx, fts)

		sim.ConsoleSetSettings(api.CID, falcontest.Settings{TokensRequired: false, MaxActiveTokens: 25})
		Eventually(func() falcontest.Settings { return sim.Settings(api.CID) }, 3*syncPeriod).Should(
			Equal(falcontest.Settings{TokensRequired: true, MaxActiveTokens: 25}))
		Eventually(func() []string { return eventReasons(ctx, fts) }).Should(
			ContainElements(falconv1alpha1.EventDriftDetected, falconv1alpha1.EventDriftCorrected))
		Expect(fetch(ctx, fts).Status.OriginalSettings).To(Equal(&falconv1alpha1.TokenSettingsValues{
			TokensRequired: new(true), MaxActiveTokens: new(int32(1000)),
		}), "the originals are those found before the first write, not the drifted ones")
	})

	It("only reports drift under Observe", func(ctx SpecContext) {
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) {
			f.Spec.ManagementPolicy = falconv1alpha1.ManagementObserve
			f.Spec.TokensRequired = new(true)
			f.Spec.MaxActiveTokens = new(int32(5))
		})
		Eventually(readyReason(ctx, fts)).Should(Equal(falconv1alpha1.ReasonDriftDetected))
		Expect(readyOf(ctx, fts).Message).To(ContainSubstring("maxActiveTokens is 1000, the spec says 5"))
		Expect(fts.Status.MaxActiveTokens).To(HaveValue(BeEquivalentTo(1000)))
		Expect(fts.Status.OriginalSettings).To(BeNil())
		Expect(eventReasons(ctx, fts)).To(ContainElement(falconv1alpha1.EventDriftDetected))
		nextSync(ctx, fts)
		Expect(writes(api)()).To(BeZero(), "Observe never writes")
		Expect(eventReasons(ctx, fts)).To(HaveEach(Equal(falconv1alpha1.EventDriftDetected)))
		Expect(eventReasons(ctx, fts)).To(HaveLen(1), "the same drift is reported once")

		sim.ConsoleSetSettings(api.CID, falcontest.Settings{TokensRequired: true, MaxActiveTokens: 5})
		waitReady(ctx, fts)
		Expect(writes(api)()).To(BeZero())
	})

	It("puts back the original settings on deletion when deletionPolicy is Restore", func(ctx SpecContext) {
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) {
			f.Spec.DeletionPolicy = falconv1alpha1.SettingsDeletionRestore
			f.Spec.TokensRequired = new(false)
			f.Spec.MaxActiveTokens = new(int32(3))
		})
		waitReady(ctx, fts)
		Expect(sim.Settings(api.CID)).To(Equal(falcontest.Settings{TokensRequired: false, MaxActiveTokens: 3}))

		deleteAndWait(ctx, fts)
		Expect(sim.Settings(api.CID)).To(Equal(falcontest.Settings{TokensRequired: true, MaxActiveTokens: 1000}))
		Expect(eventReasons(ctx, fts)).To(ContainElement(falconv1alpha1.EventSettingsRestored))
	})

	It("leaves the settings on deletion when deletionPolicy is Orphan", func(ctx SpecContext) {
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(3)) })
		waitReady(ctx, fts)
		before := len(callsOf(api.ClientID))
		deleteAndWait(ctx, fts)
		Expect(sim.Settings(api.CID).MaxActiveTokens).To(Equal(3))
		Expect(callsOf(api.ClientID)).To(HaveLen(before), "Orphan makes no API call")
	})

	It("refuses a second object for the same account, then lets it take over", func(ctx SpecContext) {
		older := newSettings(ctx, ns, ns+"-1-older", func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(40)) })
		waitReady(ctx, older)

		// Another API client of the same customer account, so that its calls can be told apart.
		second := sim.AddClient(falcontest.APIClient{CID: api.CID})
		Expect(k8sClient.Create(ctx, testutil.CredentialsSecret(operatorNamespace, ns+"-second", second.ClientID, second.ClientSecret))).To(Succeed())
		newer := newSettings(ctx, ns, ns+"-2-newer", func(f *falconv1alpha1.FalconTokenSettings) {
			f.Spec.FalconAPI.CredentialsSecretRef.Name = ns + "-second"
			f.Spec.MaxActiveTokens = new(int32(60))
		})
		Eventually(readyReason(ctx, newer)).Should(Equal(falconv1alpha1.ReasonConflict))
		Expect(readyOf(ctx, newer).Message).To(ContainSubstring(older.Name))
		Consistently(writes(second), syncPeriod).Should(BeZero(), "the newer object writes nothing")
		Expect(sim.Settings(api.CID).MaxActiveTokens).To(Equal(40))

		deleteAndWait(ctx, older)
		waitReady(ctx, newer)
		Expect(sim.Settings(api.CID).MaxActiveTokens).To(Equal(60))
	})

	It("waits for its credentials Secret without calling Falcon, then proceeds", func(ctx SpecContext) {
		later := sim.AddClient(falcontest.APIClient{})
		sim.ConsoleSetSettings(later.CID, falcontest.Settings{MaxActiveTokens: 1000})
		fts := newSettings(ctx, ns+"-later", ns, func(f *falconv1alpha1.FalconTokenSettings) {
			f.Spec.MaxActiveTokens = new(int32(8))
		})
		Eventually(readyReason(ctx, fts)).Should(Equal(falconv1alpha1.ReasonCredentialsNotFound))
		Expect(readyOf(ctx, fts).Message).To(ContainSubstring(operatorNamespace + "/" + ns + "-later"))

		Expect(k8sClient.Create(ctx, testutil.CredentialsSecret(operatorNamespace, ns+"-later", later.ClientID, later.ClientSecret))).To(Succeed())
		waitReady(ctx, fts)
		Expect(sim.Settings(later.CID).MaxActiveTokens).To(Equal(8))
	})

	It("names the missing settings scope", func(ctx SpecContext) {
		readOnly := newOperatorAPIClient(ctx, ns+"-read-only", "installation-tokens:read", "installation-tokens:write", "sensor-installers:read")
		fts := newSettings(ctx, ns+"-read-only", ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.TokensRequired = new(true) })
		sim.ConsoleSetSettings(readOnly.CID, falcontest.Settings{MaxActiveTokens: 1000})
		Eventually(readyReason(ctx, fts)).Should(Equal(falconv1alpha1.ReasonMissingScope))
		Expect(readyOf(ctx, fts).Message).To(ContainSubstring("Installation Tokens Settings: Write"))
		Consistently(writes(readOnly), syncPeriod/2).Should(BeNumerically("<=", 2), "not retried hot")
	})

	It("identifies the account without the Sensor Download scope", func(ctx SpecContext) {
		noCCID := newOperatorAPIClient(ctx, ns+"-no-ccid", "installation-tokens:read", "installation-tokens-settings:write")
		fts := newSettings(ctx, ns+"-no-ccid", ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(9)) })
		waitReady(ctx, fts)
		Expect(fts.Status.AccountID).To(MatchRegexp(`^client-[0-9a-f]{16}$`))
		Expect(fts.Status.AccountID).NotTo(ContainSubstring(noCCID.ClientID))
		Expect(sim.Settings(noCCID.CID).MaxActiveTokens).To(Equal(9))
	})

	It("sends nothing while the rate limit window is closed, then recovers", func(ctx SpecContext) {
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(30)) })
		waitReady(ctx, fts)

		until := clock.Now().Add(4 * time.Second)
		sim.ForceRateLimit(api.CID, until)
		fts = fetch(ctx, fts)
		fts.Spec.MaxActiveTokens = new(int32(31))
		Expect(k8sClient.Update(ctx, fts)).To(Succeed())
		Eventually(readyReason(ctx, fts)).Should(Equal(falconv1alpha1.ReasonRateLimited))
		clock.Step(5 * time.Second)
		waitReady(ctx, fts)
		Expect(sim.Settings(api.CID).MaxActiveTokens).To(Equal(31))
		Expect(requestsInsideWindow(api.ClientID, until)).To(BeEmpty(), "no request inside the Retryafter window after the first 429")
	})

	It("shares one OAuth token with the installation tokens of the same credentials", func(ctx SpecContext) {
		fit := newToken(operatorNamespace, ns+"-sensors", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.FalconAPI.CredentialsSecretRef.Name = ns })
		DeferCleanup(func(ctx SpecContext) { deleteAndWait(ctx, fit) })
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.TokensRequired = new(true) })
		waitReady(ctx, fit)
		waitReady(ctx, fts)
		Expect(sim.ClientCalls(api.ClientID, "oauth2-token")).To(Equal(1))
		Expect(sim.ClientCalls(api.ClientID, "ccid")).To(Equal(1), "the CCID is fetched once per credential")
	})

	It("says so when the cap is below the number of valid tokens, and revokes none", func(ctx SpecContext) {
		for range 3 {
			sim.ConsoleCreateToken(api.CID, "existing", nil)
		}
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(2)) })
		waitReady(ctx, fts)
		Expect(readyOf(ctx, fts).Message).To(ContainSubstring("holds 3 valid tokens, more than maxActiveTokens 2"))
		Expect(liveTokens(api.CID)).To(HaveLen(3))
		Expect(sim.ClientCalls(api.ClientID, "tokens-update")).To(BeZero())
	})
})

// callsOf lists the requests the simulator received from clientID.
func callsOf(clientID string) []falcontest.Call {
	var calls []falcontest.Call
	for _, c := range sim.CallLog() {
		if c.ClientID == clientID {
			calls = append(calls, c)
		}
	}
	return calls
}

// requestsInsideWindow lists the requests of clientID sent after its first 429 and before until.
func requestsInsideWindow(clientID string, until time.Time) []falcontest.Call {
	var limited []falcontest.Call
	var first429 *falcontest.Call
	for _, c := range callsOf(clientID) {
		if c.Status == 429 && first429 == nil {
			first429 = &c
			continue
		}
		if first429 != nil && c.At.Before(until.Truncate(time.Second)) {
			limited = append(limited, c)
		}
	}
	Expect(first429).NotTo(BeNil(), "a 429 was answered")
	return limited
}
