package controller_test

import (
	"context"
	"fmt"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

var ccidPattern = regexp.MustCompile(`^[0-9A-F]{32}-[0-9A-F]{2}$`)

func expiresAfter(d time.Duration) func(*falconv1alpha1.FalconInstallationToken) {
	return func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.ExpiresAfter = &metav1.Duration{Duration: d} }
}

var _ = Describe("FalconInstallationToken", func() {
	var (
		ns  string
		api falcontest.APIClient
	)
	creates := func() int { return sim.ClientCalls(api.ClientID, "tokens-create") }

	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		api = newAPIClient(ctx, ns, credentialsName)
	})

	It("creates one token and publishes it with the CID in an owned Secret", func(ctx SpecContext) {
		fit := newToken(ns, "sensors")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)

		Expect(fit.Status.TokenID).To(MatchRegexp(`^[0-9a-f]{32}$`))
		Expect(fit.Status.TokenStatus).To(Equal("valid"))
		Expect(fit.Status.Revision).To(BeEquivalentTo(1))
		Expect(fit.Status.SecretName).To(Equal("sensors"))
		Expect(fit.Status.Cloud).NotTo(BeEmpty())
		Expect(fit.Status.Label).To(MatchRegexp(`^` + ns + `/sensors \[fto-[0-9a-f]{10}\]$`))
		Expect(fit.Finalizers).To(ContainElement(falconv1alpha1.Finalizer))

		live := liveTokens(api.CID)
		Expect(live).To(HaveLen(1))
		Expect(live[0].ID).To(Equal(fit.Status.TokenID))
		Expect(live[0].Label).To(Equal(fit.Status.Label))

		secret := secretOf(ctx, ns, "sensors")
		Expect(secret.Data).To(HaveLen(2))
		Expect(string(secret.Data["FALCONCTL_OPT_PROVISIONING_TOKEN"])).To(Equal(live[0].Value))
		Expect(string(secret.Data["FALCONCTL_OPT_CID"])).To(MatchRegexp(ccidPattern.String()))
		Expect(string(secret.Data["FALCONCTL_OPT_CID"])).To(HavePrefix(api.CID))
		Expect(secret.Labels).To(HaveKeyWithValue(falconv1alpha1.ManagedByLabel, falconv1alpha1.ManagedByValue))
		Expect(metav1.IsControlledBy(secret, fit)).To(BeTrue())
		Expect(eventReasons(ctx, fit)).To(ContainElement(falconv1alpha1.EventCreated))
		passSyncPeriod(api)
		passSyncPeriod(api)
		Expect(creates()).To(Equal(1), "a token in sync is never created again")
	})

	It("shapes the Secret as the spec says, leaving the CID out when its key is empty", func(ctx SpecContext) {
		fit := newToken(ns, "operator-style", func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.Secret = falconv1alpha1.SecretTemplate{
				Name:        "falcon-provisioning",
				Labels:      map[string]falconv1alpha1.LabelValue{"team": "platform"},
				Annotations: map[string]string{"reflector/allowed": "true"},
				Keys:        falconv1alpha1.SecretKeys{Token: "falcon-provisioning-token", CID: new(string)},
			}
		})
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		secret := secretOf(ctx, ns, "falcon-provisioning")
		Expect(secret.Data).To(HaveLen(1))
		Expect(secret.Data).To(HaveKey("falcon-provisioning-token"))
		Expect(secret.Labels).To(HaveKeyWithValue("team", "platform"))
		Expect(secret.Annotations).To(HaveKeyWithValue("reflector/allowed", "true"))
		Expect(sim.ClientCalls(api.ClientID, "ccid")).To(BeZero(), "no CCID call when the CID is left out")
	})

	It("applies label and expiry changes to the same token", func(ctx SpecContext) {
		fit := newToken(ns, "relabel", expiresAfter(720*time.Hour))
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		id := fit.Status.TokenID
		validSince := fit.Status.ValidSince.Time

		fit.Spec.Label = "platform/sensors"
		fit.Spec.ExpiresAfter = &metav1.Duration{Duration: 1000 * time.Hour}
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())

		Eventually(func(g Gomega) {
			tok, ok := sim.Token(api.CID, id)
			g.Expect(ok).To(BeTrue())
			g.Expect(tok.Label).To(HavePrefix("platform/sensors ["))
			g.Expect(tok.ExpiresAt).NotTo(BeNil())
			g.Expect(*tok.ExpiresAt).To(BeTemporally("~", validSince.Add(1000*time.Hour), time.Second))
		}).Should(Succeed())
		waitReady(ctx, fit)
		Expect(fit.Status.TokenID).To(Equal(id))
		Expect(creates()).To(Equal(1))
		Expect(eventReasons(ctx, fit)).To(ContainElement(falconv1alpha1.EventUpdated))
	})

	It("revokes the token when asked and restores it when asked again", func(ctx SpecContext) {
		fit := newToken(ns, "toggle")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		id := fit.Status.TokenID

		fit.Spec.Revoked = true
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())
		Eventually(func() string { tok, _ := sim.Token(api.CID, id); return tok.Status }).Should(Equal("revoked"))
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonTokenRevoked))
		Expect(readyOf(ctx, fit).Status).To(Equal(metav1.ConditionTrue), "revoked is what the spec asks for")
		Expect(fetch(ctx, fit).Status.TokenStatus).To(Equal("revoked"))

		fit = fetch(ctx, fit)
		fit.Spec.Revoked = false
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		tok, _ := sim.Token(api.CID, id)
		Expect(tok.Status).To(Equal("valid"))
		Expect(tok.RevokedAt).To(BeNil())
		Expect(fit.Status.TokenID).To(Equal(id))
		Expect(creates()).To(Equal(1))
		Expect(eventReasons(ctx, fit)).To(ContainElements(falconv1alpha1.EventRevoked, falconv1alpha1.EventRestored))
	})

	It("adopts an existing token by its ID instead of creating one", func(ctx SpecContext) {
		existing := sim.ConsoleCreateToken(api.CID, "made by hand", nil)
		fit := newToken(ns, "adopted", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.TokenID = existing.ID })
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		Expect(fit.Status.TokenID).To(Equal(existing.ID))
		Expect(string(secretOf(ctx, ns, "adopted").Data["FALCONCTL_OPT_PROVISIONING_TOKEN"])).To(Equal(existing.Value))
		Expect(creates()).To(BeZero())
		Expect(eventReasons(ctx, fit)).To(ContainElement(falconv1alpha1.EventAdopted))
	})

	It("reports a tokenID that does not exist", func(ctx SpecContext) {
		fit := newToken(ns, "ghost", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.TokenID = "0123456789abcdef0123456789abcdef" })
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonTokenNotFound))
		Expect(creates()).To(BeZero())
	})

	It("rotates before expiry and revokes the old token only after the grace period", func(ctx SpecContext) {
		fit := newToken(ns, "rotating", expiresAfter(30*time.Hour), func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.Renewal.RenewBefore = &metav1.Duration{Duration: 10 * time.Hour}
			f.Spec.Renewal.GracePeriod = &metav1.Duration{Duration: time.Hour}
		})
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		oldID := fit.Status.TokenID
		Expect(fit.Status.RenewalTime.Time).To(BeTemporally("~", fit.Status.ExpiresAt.Add(-10*time.Hour), time.Second))

		clock.Step(21 * time.Hour)
		Eventually(func() string { return fetch(ctx, fit).Status.TokenID }).ShouldNot(Equal(oldID))
		newID := fit.Status.TokenID
		newToken, _ := sim.Token(api.CID, newID)
		Eventually(func() string {
			return string(secretOf(ctx, ns, "rotating").Data["FALCONCTL_OPT_PROVISIONING_TOKEN"])
		}).Should(Equal(newToken.Value))
		Eventually(func() []falconv1alpha1.RetiringToken { return fetch(ctx, fit).Status.RetiringTokens }).Should(
			ConsistOf(HaveField("TokenID", oldID)))
		Expect(fit.Status.Revision).To(BeEquivalentTo(2))
		passSyncPeriod(api)
		passSyncPeriod(api)
		tok, _ := sim.Token(api.CID, oldID)
		Expect(tok.Status).To(Equal("valid"), "the old token stays valid during its grace period")

		clock.Step(61 * time.Minute)
		Eventually(func() string { tok, _ := sim.Token(api.CID, oldID); return tok.Status }).Should(Equal("revoked"))
		Eventually(func() []falconv1alpha1.RetiringToken { return fetch(ctx, fit).Status.RetiringTokens }).Should(BeEmpty())
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", newID)))
		Expect(eventReasons(ctx, fit)).To(ContainElements(falconv1alpha1.EventRotated, falconv1alpha1.EventRevoked))
	})

	It("extends the same token when the strategy is Extend", func(ctx SpecContext) {
		fit := newToken(ns, "extending", expiresAfter(30*time.Hour), func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.Renewal.Strategy = falconv1alpha1.RenewalExtend
		})
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		id, firstExpiry := fit.Status.TokenID, fit.Status.ExpiresAt.Time
		value := string(secretOf(ctx, ns, "extending").Data["FALCONCTL_OPT_PROVISIONING_TOKEN"])

		clock.Step(21 * time.Hour)
		Eventually(func(g Gomega) {
			tok, _ := sim.Token(api.CID, id)
			g.Expect(tok.ExpiresAt).NotTo(BeNil())
			g.Expect(*tok.ExpiresAt).To(BeTemporally(">", firstExpiry.Add(20*time.Hour)))
		}).Should(Succeed())
		Expect(fetch(ctx, fit).Status.TokenID).To(Equal(id))
		Expect(string(secretOf(ctx, ns, "extending").Data["FALCONCTL_OPT_PROVISIONING_TOKEN"])).To(Equal(value))
		Expect(creates()).To(Equal(1))
		Eventually(func() []string { return eventReasons(ctx, fit) }).Should(ContainElement(falconv1alpha1.EventExtended))
	})

	It("rotates once for each new value of the rotate annotation, at most once an hour", func(ctx SpecContext) {
		fit := newToken(ns, "on-demand")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		first := fit.Status.TokenID
		clock.Step(time.Hour)

		rotate := func(value string) {
			GinkgoHelper()
			fit = fetch(ctx, fit)
			if fit.Annotations == nil {
				fit.Annotations = map[string]string{}
			}
			fit.Annotations[falconv1alpha1.RotateAnnotation] = value
			Expect(k8sClient.Update(ctx, fit)).To(Succeed())
		}
		rotate("2026-11-24")
		Eventually(func() string { return fetch(ctx, fit).Status.TokenID }).ShouldNot(Equal(first))
		Eventually(func() string { return fetch(ctx, fit).Status.LastRotateRequest }).Should(Equal("2026-11-24"))
		passSyncPeriod(api)
		Expect(creates()).To(Equal(2), "the same value does not rotate again")

		rotate("again")
		Eventually(func() string { return readyOf(ctx, fit).Message }).Should(ContainSubstring("the renewal waits until"))
		Expect(creates()).To(Equal(2), "held back: the last rotation was less than an hour ago")
		clock.Step(time.Hour)
		passSyncPeriod(api)
		Eventually(creates).Should(Equal(3))
	})

	DescribeTable("cleans up the Falcon token on deletion as deletionPolicy says",
		func(ctx SpecContext, policy falconv1alpha1.TokenDeletionPolicy, check func(tok falcontest.Token, exists bool)) {
			fit := newToken(ns, "doomed", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.DeletionPolicy = policy })
			Expect(k8sClient.Create(ctx, fit)).To(Succeed())
			waitReady(ctx, fit)
			id := fit.Status.TokenID
			Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
			waitGone(ctx, fit)
			tok, exists := sim.Token(api.CID, id)
			check(tok, exists)
		},
		Entry("Revoke revokes it", falconv1alpha1.TokenDeletionRevoke, func(tok falcontest.Token, exists bool) {
			Expect(exists).To(BeTrue())
			Expect(tok.Status).To(Equal("revoked"))
		}),
		Entry("Delete deletes it", falconv1alpha1.TokenDeletionDelete, func(_ falcontest.Token, exists bool) {
			Expect(exists).To(BeFalse())
		}),
		Entry("Orphan leaves it valid", falconv1alpha1.TokenDeletionOrphan, func(tok falcontest.Token, exists bool) {
			Expect(exists).To(BeTrue())
			Expect(tok.Status).To(Equal("valid"))
		}),
	)

	It("cleans up with the last credentials that worked after their Secret is deleted", func(ctx SpecContext) {
		fit := newToken(ns, "stranded")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName}})).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonCredentialsNotFound))
		Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
		waitGone(ctx, fit)
		tok, _ := sim.Token(api.CID, fit.Status.TokenID)
		Expect(tok.Status).To(Equal("revoked"))
	})

	It("lets a resource whose credentials Falcon refuses be deleted by switching to Orphan", func(ctx SpecContext) {
		fit := newToken(ns, "refused-at-the-end")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		creds := fetch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName}})
		creds.Data["client_secret"] = []byte("reset-in-the-console")
		Expect(k8sClient.Update(ctx, creds)).To(Succeed())
		Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
		// The deletion's cleanup says how to get out.
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, fit)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(falconv1alpha1.ReasonCredentialsInvalid))
			g.Expect(ready.Message).To(ContainSubstring("deletionPolicy: Orphan"))
		}).Should(Succeed())

		fit = fetch(ctx, fit)
		fit.Spec.DeletionPolicy = falconv1alpha1.TokenDeletionOrphan
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())
		waitGone(ctx, fit)
		Expect(metav1.GetControllerOf(secretOf(ctx, ns, "refused-at-the-end"))).To(BeNil(), "Orphan keeps the Secret, owned by nobody")
		Expect(eventReasons(ctx, fit)).To(ContainElement(falconv1alpha1.EventOrphaned))
	})

	It("replaces a token deleted in the console", func(ctx SpecContext) {
		fit := newToken(ns, "deleted-in-console")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		oldID := fit.Status.TokenID

		sim.ConsoleDelete(api.CID, oldID)
		// Found by the drift check within one sync period, then replaced.
		passSyncPeriod(api)
		Eventually(func() string { return fetch(ctx, fit).Status.TokenID }).ShouldNot(Equal(oldID))
		live := liveTokens(api.CID)
		Expect(live).To(HaveLen(1))
		Eventually(func() string {
			return string(secretOf(ctx, ns, "deleted-in-console").Data["FALCONCTL_OPT_PROVISIONING_TOKEN"])
		}).Should(Equal(live[0].Value))
		Expect(fit.Status.Revision).To(BeEquivalentTo(2))
		Expect(eventReasons(ctx, fit)).To(ContainElement(falconv1alpha1.EventReplaced))
	})

	It("replaces a token revoked in the console and never restores it", func(ctx SpecContext) {
		fit := newToken(ns, "leaked")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		oldID := fit.Status.TokenID

		sim.ConsoleRevoke(api.CID, oldID)
		passSyncPeriod(api)
		Eventually(func() string { return fetch(ctx, fit).Status.TokenID }).ShouldNot(Equal(oldID))
		waitReady(ctx, fit)
		passSyncPeriod(api)
		passSyncPeriod(api)
		tok, _ := sim.Token(api.CID, oldID)
		Expect(tok.Status).To(Equal("revoked"), "a token revoked in the console is never restored")
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", fit.Status.TokenID)))
	})

	It("creates tokens with one Falcon call each and checks them in batched reads, once per sync period", func(ctx SpecContext) {
		const n = 10
		reads := func() int { return sim.ClientCalls(api.ClientID, "tokens-read") }
		fits := make([]*falconv1alpha1.FalconInstallationToken, n)
		for i := range fits {
			fits[i] = newToken(ns, fmt.Sprintf("fleet-%d", i))
			Expect(k8sClient.Create(ctx, fits[i])).To(Succeed())
		}
		ids := map[string]string{}
		for _, fit := range fits {
			ids[fit.Name] = waitReady(ctx, fit).Status.TokenID
		}
		By("creating: one create call per token, no read of a token just made")
		Expect(creates()).To(Equal(n))
		Expect(sim.ClientCalls(api.ClientID, "oauth2-token")).To(Equal(1))
		Expect(sim.ClientCalls(api.ClientID, "ccid")).To(Equal(1))
		Expect(sim.ClientCalls(api.ClientID, "tokens-query")).To(BeZero(), "no create was looked up by its marker")
		Expect(reads()).To(BeZero(), "a token just created is not read back")

		By("keeping them: one read per sync period serves all ten, not one per resource")
		for range 3 {
			passSyncPeriod(api)
		}
		Expect(reads()).To(Equal(3))
		Expect(creates()).To(Equal(n))

		By("finding a token revoked in the console within one sync period, and only that one")
		victim := fits[3]
		sim.ConsoleRevoke(api.CID, ids[victim.Name])
		passSyncPeriod(api)
		Eventually(func() string { return fetch(ctx, victim).Status.TokenID }).ShouldNot(Equal(ids[victim.Name]))
		for _, fit := range fits {
			if fit != victim {
				Expect(fetch(ctx, fit).Status.TokenID).To(Equal(ids[fit.Name]))
			}
		}
		Expect(creates()).To(Equal(n + 1))
		Expect(sim.ClientCalls(api.ClientID, "oauth2-token")).To(Equal(1), "one access token for the whole fleet")
	})

	It("restores a deleted Secret with the same value and no new token", func(ctx SpecContext) {
		fit := newToken(ns, "restore-me")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		original := secretOf(ctx, ns, "restore-me")

		Expect(k8sClient.Delete(ctx, original)).To(Succeed())
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(original), s)).To(Succeed())
			g.Expect(s.UID).NotTo(Equal(original.UID))
			g.Expect(s.Data).To(Equal(original.Data))
		}).Should(Succeed())
		Expect(creates()).To(Equal(1))
		Eventually(func() []string { return eventReasons(ctx, fit) }).Should(ContainElement(falconv1alpha1.EventSecretRestored))
	})

	It("restores an edited Secret", func(ctx SpecContext) {
		fit := newToken(ns, "edit-me")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		original := secretOf(ctx, ns, "edit-me")

		edited := original.DeepCopy()
		edited.Data["FALCONCTL_OPT_PROVISIONING_TOKEN"] = []byte("tampered")
		edited.Data["EXTRA"] = []byte("x")
		Expect(k8sClient.Update(ctx, edited)).To(Succeed())
		Eventually(func() map[string][]byte { return secretOf(ctx, ns, "edit-me").Data }).Should(Equal(original.Data))

		unlabelled := secretOf(ctx, ns, "edit-me")
		delete(unlabelled.Labels, falconv1alpha1.ManagedByLabel)
		Expect(k8sClient.Update(ctx, unlabelled)).To(Succeed())
		Eventually(func() map[string]string { return secretOf(ctx, ns, "edit-me").Labels }).Should(
			HaveKeyWithValue(falconv1alpha1.ManagedByLabel, falconv1alpha1.ManagedByValue))
		Expect(creates()).To(Equal(1))
	})

	It("never overwrites a Secret it does not own", func(ctx SpecContext) {
		foreign := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "taken"},
			Data:       map[string][]byte{"owner": []byte("someone else")},
		}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		fit := newToken(ns, "taken")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonSecretConflict))
		Consistently(func() map[string][]byte { return secretOf(ctx, ns, "taken").Data }, time.Second).Should(Equal(foreign.Data))
		Expect(creates()).To(BeZero(), "no token is created that could not be published")
	})

	It("waits for incomplete credentials without calling Falcon, then proceeds", func(ctx SpecContext) {
		other := sim.AddClient(falcontest.APIClient{})
		incomplete := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "half"},
			StringData: map[string]string{"falcon-client-id": other.ClientID},
		}
		Expect(k8sClient.Create(ctx, incomplete)).To(Succeed())
		fit := newToken(ns, "patient", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.FalconAPI.CredentialsSecretRef.Name = "half" })
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonCredentialsNotFound))
		Expect(readyOf(ctx, fit).Message).To(ContainSubstring("client_secret"))
		Consistently(func() int { return sim.ClientCalls(other.ClientID, "oauth2-token") }, time.Second).Should(BeZero())

		incomplete = fetch(ctx, incomplete)
		incomplete.StringData = map[string]string{"falcon-client-secret": other.ClientSecret}
		Expect(k8sClient.Update(ctx, incomplete)).To(Succeed())
		waitReady(ctx, fit)
		Expect(liveTokens(other.CID)).To(HaveLen(1))
	})

	It("reports credentials Falcon refuses, without retrying them hot", func(ctx SpecContext) {
		Expect(k8sClient.Create(ctx, testutil.CredentialsSecret(ns, "wrong", api.ClientID, "not-the-secret"))).To(Succeed())
		fit := newToken(ns, "refused", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.FalconAPI.CredentialsSecretRef.Name = "wrong" })
		before := sim.ClientCalls(api.ClientID, "oauth2-token")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonCredentialsInvalid))
		Consistently(func() int { return sim.ClientCalls(api.ClientID, "oauth2-token") - before }, 2*time.Second).Should(BeNumerically("<=", 1))
	})

	It("names the missing scope", func(ctx SpecContext) {
		readOnly := newAPIClient(ctx, ns, "read-only", "installation-tokens:read", "sensor-installers:read")
		fit := newToken(ns, "unscoped", func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.FalconAPI.CredentialsSecretRef.Name = "read-only"
		})
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonMissingScope))
		Expect(readyOf(ctx, fit).Message).To(ContainSubstring("Installation Tokens: Write"))
		Expect(fetch(ctx, fit).Status.FailedAttempts).To(BeNumerically(">=", 1))
		// One attempt per event (the resource's and its credentials') and then one per sync period.
		Consistently(func() int { return sim.ClientCalls(readOnly.ClientID, "tokens-create") }, syncPeriod/2).Should(BeNumerically("<=", 2))
	})

	It("reports the account's token limit and does not retry hot", func(ctx SpecContext) {
		sim.ConsoleSetSettings(api.CID, falcontest.Settings{MaxActiveTokens: 1})
		sim.ConsoleCreateToken(api.CID, "the only one", nil)
		fit := newToken(ns, "over-the-cap")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonTokenLimitReached))
		start := creates()
		Consistently(func() int { return creates() - start }, 2*syncPeriod).Should(BeNumerically("<=", 3),
			"retried once a sync period, not in a loop")

		sim.ConsoleSetSettings(api.CID, falcontest.Settings{MaxActiveTokens: 2})
		waitReady(ctx, fit)
	})

	It("sends nothing while the rate limit window is closed, then recovers", func(ctx SpecContext) {
		fit := newToken(ns, "throttled")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)

		until := clock.Now().Add(4 * time.Second)
		sim.ForceRateLimit(api.CID, until)
		fit.Spec.Label = "throttled/relabelled"
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonRateLimited))
		// The message says until when: the Retryafter time, which Falcon gives in whole seconds.
		stamp := regexp.MustCompile(`before (\S+)$`).FindStringSubmatch(readyOf(ctx, fit).Message)
		Expect(stamp).To(HaveLen(2), "the message names the time")
		said, err := time.Parse(time.RFC3339, stamp[1])
		Expect(err).NotTo(HaveOccurred())
		Expect(said).To(BeTemporally("~", until, time.Second))
		clock.Step(5 * time.Second)
		waitReady(ctx, fit)

		Expect(requestsInsideWindow(api.ClientID, until)).To(BeEmpty(), "no request inside the Retryafter window after the first 429")
	})

	It("keeps exactly one token when the create reply is lost", func(ctx SpecContext) {
		sim.FailAfterWrite("tokens-create", 1)
		fit := newToken(ns, "lost-reply")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", fit.Status.TokenID)))
		Expect(creates()).To(Equal(1), "the token was found by its marker, not created again")
	})

	It("keeps exactly one token when the manager restarts between create and status write", func(ctx SpecContext) {
		held, release := sim.HoldNext("tokens-create")
		fit := newToken(ns, "restarted")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(held).Should(BeClosed())
		manager.stop()
		release()
		Expect(fetch(ctx, fit).Status.TokenID).To(BeEmpty())
		Expect(fit.Annotations).To(HaveKey(falconv1alpha1.CreateIntentAnnotation), "intent was recorded before the create call")
		Expect(fit.Finalizers).To(ContainElement(falconv1alpha1.Finalizer), "with the finalizer, in the same write")
		manager = startManager()

		waitReady(ctx, fit)
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", fit.Status.TokenID)))
		Expect(creates()).To(Equal(1))
	})

	It("uses rotated credentials for the next calls", func(ctx SpecContext) {
		fit := newToken(ns, "rotated-credentials")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)

		newSecret := sim.RotateSecret(api.ClientID)
		creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName}}
		creds = fetch(ctx, creds)
		creds.Data["client_secret"] = []byte(newSecret)
		Expect(k8sClient.Update(ctx, creds)).To(Succeed())

		fit = fetch(ctx, fit)
		fit.Spec.Label = "after/rotation"
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())
		Eventually(func() string { tok, _ := sim.Token(api.CID, fit.Status.TokenID); return tok.Label }).Should(HavePrefix("after/rotation ["))
		waitReady(ctx, fit)
	})

	It("keeps cleaning up with the last credentials that worked while its namespace is deleted", func(ctx SpecContext) {
		fit := newToken(ns, "in-a-dying-namespace")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		By("deleting the namespace, and its content as the namespace controller does, credentials first")
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
		waitGone(ctx, fit)
		tok, _ := sim.Token(api.CID, fit.Status.TokenID)
		Expect(tok.Status).To(Equal("revoked"))
	})

	It("releases a namespace being deleted when no credentials are left, naming the tokens left behind", func(ctx SpecContext) {
		fit := newToken(ns, "left-behind")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		manager.stop() // forgets the credentials that worked
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
		manager = startManager()
		waitGone(ctx, fit)
		// The namespace takes no new events while it is deleted: the Warning is on the namespace.
		dying := fetch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		Eventually(func() []string { return eventReasons(ctx, dying) }).Should(ContainElement(falconv1alpha1.EventTokensLeftBehind))
		events, _, err := testutil.EventsText(ctx, k8sClient)
		Expect(err).NotTo(HaveOccurred())
		Expect(events).To(ContainSubstring(fit.Status.TokenID), "the Warning names the token left behind")
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", fit.Status.TokenID)))
	})

	DescribeTable("leaves an adopted token alone on deletion unless deletionPolicy says otherwise",
		func(ctx SpecContext, policy falconv1alpha1.TokenDeletionPolicy, want string) {
			existing := sim.ConsoleCreateToken(api.CID, "made by hand", nil)
			fit := newToken(ns, "adopted", func(f *falconv1alpha1.FalconInstallationToken) {
				f.Spec.TokenID = existing.ID
				f.Spec.DeletionPolicy = policy
			})
			Expect(k8sClient.Create(ctx, fit)).To(Succeed())
			waitReady(ctx, fit)
			Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
			waitGone(ctx, fit)
			tok, _ := sim.Token(api.CID, existing.ID)
			Expect(tok.Status).To(Equal(want))
		},
		Entry("unset: left valid", falconv1alpha1.TokenDeletionPolicy(""), "valid"),
		Entry("Revoke, said explicitly: revoked", falconv1alpha1.TokenDeletionRevoke, "revoked"),
	)

	It("refuses to adopt a token another resource manages, with no Falcon write", func(ctx SpecContext) {
		owner := newToken(ns, "owner")
		Expect(k8sClient.Create(ctx, owner)).To(Succeed())
		waitReady(ctx, owner)
		thief := newToken(ns, "thief", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.TokenID = owner.Status.TokenID })
		Expect(k8sClient.Create(ctx, thief)).To(Succeed())
		Eventually(readyReason(ctx, thief)).Should(Equal(falconv1alpha1.ReasonTokenOwnedElsewhere))
		Expect(readyOf(ctx, thief).Message).To(ContainSubstring(ns + "/owner"))
		Expect(sim.ClientCalls(api.ClientID, "tokens-update")).To(BeZero())
		Expect(k8sClient.Delete(ctx, thief)).To(Succeed())
		waitGone(ctx, thief)
		tok, _ := sim.Token(api.CID, owner.Status.TokenID)
		Expect(tok.Status).To(Equal("valid"), "deleting the refused resource leaves the other's token alone")
	})

	It("mints no token for a Secret the API server refuses, and does not retry it in a loop", func(ctx SpecContext) {
		denySecretsLabelled(ctx, "test.falconops.io/deny")
		fit := newToken(ns, "refused-secret", func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.Secret.Labels = map[string]falconv1alpha1.LabelValue{"test.falconops.io/deny": "true"}
		})
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonKubernetesInvalid))
		Expect(readyOf(ctx, fit).Message).To(ContainSubstring("refused an object the operator wrote"))
		Consistently(creates, time.Second).Should(BeZero(), "nothing is minted that cannot be published")
		Expect(fetch(ctx, fit).Status.FailedAttempts).To(BeZero(), "a refusal a person must fix is not retried")
	})

	It("finds a second token carrying its marker and revokes it", func(ctx SpecContext) {
		fit := newToken(ns, "duplicated")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		waitReady(ctx, fit)
		// What a second replica reconciling at the same moment would have made.
		twin := sim.ConsoleCreateToken(api.CID, fit.Status.Label, nil)
		passSyncPeriod(api)
		Eventually(func() string { tok, _ := sim.Token(api.CID, twin.ID); return tok.Status }).Should(Equal("revoked"))
		Expect(liveTokens(api.CID)).To(ConsistOf(HaveField("ID", fetch(ctx, fit).Status.TokenID)))
		Eventually(func() []string { return eventReasons(ctx, fit) }).Should(ContainElement(falconv1alpha1.EventDuplicateRevoked))
	})
	It("keeps the credentials out of its conditions, events and log when Falcon echoes them", func(ctx SpecContext) {
		sim.EchoNext("tokens-create", 1)
		fit := newToken(ns, "echoed")
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(readyReason(ctx, fit)).Should(Equal(falconv1alpha1.ReasonAPIError))
		Expect(readyOf(ctx, fit).Message).To(ContainSubstring("[redacted]"), "the echoed bearer token is replaced")
		for _, secret := range sim.Secrets() {
			Expect(readyOf(ctx, fit).Message).NotTo(ContainSubstring(secret))
		}
		// The suite's last check looks for every secret in every log line, event and status.
		Expect(k8sClient.Delete(ctx, fit)).To(Succeed())
		waitGone(ctx, fit)
	})
})

// denySecretsLabelled makes the API server refuse, as invalid, every Secret carrying label key,
// with a ValidatingAdmissionPolicy, until the test ends.
func denySecretsLabelled(ctx context.Context, key string) {
	GinkgoHelper()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "deny-labelled-secrets-"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("!has(object.metadata.labels) || !(%q in object.metadata.labels)", key),
				Message:    "Secrets labelled " + key + " are not allowed here",
			}},
		},
	}
	Expect(k8sClient.Create(ctx, policy)).To(Succeed())
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "deny-labelled-secrets-"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: policy.Name, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	Expect(k8sClient.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(k8sClient.Delete(ctx, binding)).To(Succeed())
		Expect(k8sClient.Delete(ctx, policy)).To(Succeed())
	})
	// The policy takes effect once the API server has loaded it.
	probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, GenerateName: "probe-", Labels: map[string]string{key: "x"}}}
	Eventually(func() error { return k8sClient.Create(ctx, probe.DeepCopy(), client.DryRunAll) }).Should(HaveOccurred())
}
