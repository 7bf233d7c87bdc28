package e2e_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// Scenario 5: the API client's secret is reset in the console (the simulator revokes the old
// secret and its access tokens); the credentials Secret gets the new one; the same manager
// process carries on with it.
func credentialRotation(ctx SpecContext) {
	const before, during = 10, 5
	s := newScenario(ctx, "credential-rotation")
	ns := s.ns
	api := s.newAPIClient(ctx, credentialsName)
	leader := s.startLeader()
	createTokens(ctx, ns, "rotating", 0, before)
	waitAllReady(ctx, ns, before, 2*time.Minute)

	rotatedAt := time.Now()
	newSecret := sim.RotateSecret(api.ClientID)
	createTokens(ctx, ns, "rotating", before, during)
	Eventually(func(g Gomega) {
		for i := before; i < before+during; i++ {
			fit := fetch(ctx, testutil.NewToken(ns, tokenName("rotating", i)))
			g.Expect(fit).To(testutil.HaveReadyReason(falconv1alpha1.ReasonCredentialsInvalid))
		}
	}).Should(Succeed(), "the old secret no longer works: the new resources say so")
	refused := countCalls(callsOf(api.ClientID, rotatedAt), func(c falcontest.Call) bool { return c.Op == "oauth2-token" && c.Status == 403 })
	Expect(refused).To(BeNumerically(">=", 1))
	Consistently(func() int {
		return countCalls(callsOf(api.ClientID, rotatedAt), func(c falcontest.Call) bool { return c.Op == "oauth2-token" })
	}).WithTimeout(3*time.Second).Should(BeNumerically("<=", refused+1), "refused credentials are not tried again until the Secret changes")

	creds := fetch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credentialsName}})
	creds.Data["client_secret"] = []byte(newSecret)
	Expect(k8sClient.Update(ctx, creds)).To(Succeed())
	updatedAt := time.Now()

	// The resources Ready before the rotation get work too: a label change is a token update.
	for i := range before {
		fit := fetch(ctx, testutil.NewToken(ns, tokenName("rotating", i)))
		fit.Spec.Label = "rotated/" + fit.Name
		Expect(k8sClient.Update(ctx, fit)).To(Succeed())
	}
	waitAllReady(ctx, ns, before+during, 2*time.Minute)
	readyIn := time.Since(updatedAt)
	Eventually(func() int {
		relabelled := 0
		for _, t := range sim.Tokens(api.CID) {
			if strings.HasPrefix(t.Label, "rotated/rotating-") {
				relabelled++
			}
		}
		return relabelled
	}).Should(Equal(before), "the label changes reached Falcon")

	after := callsOf(api.ClientID, updatedAt)
	Expect(countCalls(after, func(c falcontest.Call) bool { return c.Op == "oauth2-token" && c.Status == 201 })).To(BeNumerically(">=", 1),
		"a token was issued for the new secret")
	Expect(countCalls(after, func(c falcontest.Call) bool { return c.Op == "tokens-update" && c.Status == 200 })).To(BeNumerically(">=", before))
	leader.expectRunning() // no restart
	tokens := expectOneTokenPerResource(ctx, ns, credentialsName, api)

	scenario := "5 credential rotation"
	record(scenario, "resources", before+during)
	record(scenario, "token requests refused with the old secret", refused)
	record(scenario, "all Ready after the Secret update in", readyIn.Round(100*time.Millisecond))
	record(scenario, "tokens in the simulator", tokens)
	record(scenario, "manager restarts", 0)
}
