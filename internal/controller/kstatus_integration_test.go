package controller_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// The status every kind reports is read by kstatus, as Flux's health checks, Helm's --wait and
// Argo CD's gitops-engine do: InProgress while the operator works, Current once Ready, Failed
// when it cannot go on without a person.
var _ = Describe("kstatus", func() {
	// computed reads obj as the API server serves it, as those tools do, and computes its status.
	computed := func(ctx context.Context, obj client.Object) func() status.Status {
		gvk, err := apiutil.GVKForObject(obj, k8sClient.Scheme())
		Expect(err).NotTo(HaveOccurred())
		return func() status.Status {
			served := &unstructured.Unstructured{}
			served.SetGroupVersionKind(gvk)
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), served)).To(Succeed())
			res, err := status.Compute(served)
			Expect(err).NotTo(HaveOccurred())
			return res.Status
		}
	}

	It("reads a FalconInstallationToken as InProgress while its token is created, Current when Ready and Failed when blocked", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		api := newAPIClient(ctx, ns, credentialsName)
		fit := newToken(ns, "watched")
		until := waitingOnFalcon(api)
		Expect(k8sClient.Create(ctx, fit)).To(Succeed())
		Eventually(computed(ctx, fit)).Should(Equal(status.InProgressStatus))
		Consistently(computed(ctx, fit), time.Second).Should(Equal(status.InProgressStatus))
		clock.SetTime(until.Add(time.Second))
		Eventually(computed(ctx, fit)).Should(Equal(status.CurrentStatus))

		blocked := newToken(ns, "no-credentials", func(f *falconv1alpha1.FalconInstallationToken) {
			f.Spec.FalconAPI.CredentialsSecretRef.Name = "absent"
		})
		Expect(k8sClient.Create(ctx, blocked)).To(Succeed())
		Eventually(computed(ctx, blocked)).Should(Equal(status.FailedStatus))
	})

	It("reads a ClusterFalconInstallationToken the same way", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		creds := ns // named after the test's namespace, in the cluster resource namespace
		api := newOperatorAPIClient(ctx, creds)
		until := waitingOnFalcon(api)
		cfit := &falconv1alpha1.ClusterFalconInstallationToken{
			ObjectMeta: metav1.ObjectMeta{Name: "watched-" + ns},
			Spec: falconv1alpha1.ClusterFalconInstallationTokenSpec{
				FalconAPI: falconv1alpha1.FalconAPI{Cloud: "sim", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: creds}},
				Secret:    falconv1alpha1.ClusterSecretTemplate{Namespaces: []string{ns}},
			},
		}
		Expect(k8sClient.Create(ctx, cfit)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { deleteAndWait(ctx, cfit) })
		Eventually(computed(ctx, cfit)).Should(Equal(status.InProgressStatus))
		Consistently(computed(ctx, cfit), time.Second).Should(Equal(status.InProgressStatus))
		clock.SetTime(until.Add(time.Second))
		Eventually(computed(ctx, cfit)).Should(Equal(status.CurrentStatus))

		blocked := cfit.DeepCopy()
		blocked.ObjectMeta = metav1.ObjectMeta{Name: "no-credentials-" + ns}
		blocked.Spec.FalconAPI.CredentialsSecretRef.Name = "absent"
		Expect(k8sClient.Create(ctx, blocked)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { deleteAndWait(ctx, blocked) })
		Eventually(computed(ctx, blocked)).Should(Equal(status.FailedStatus))
	})

	It("reads a FalconTokenSettings as InProgress until reconciled, Current when in sync and Failed on a conflict", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		api := newOperatorAPIClient(ctx, ns)
		until := waitingOnFalcon(api)
		fts := newSettings(ctx, ns, ns, func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(7)) })
		Eventually(computed(ctx, fts)).Should(Equal(status.InProgressStatus))
		Consistently(computed(ctx, fts), time.Second).Should(Equal(status.InProgressStatus))
		clock.SetTime(until.Add(time.Second))
		Eventually(computed(ctx, fts)).Should(Equal(status.CurrentStatus))

		second := newSettings(ctx, ns, ns+"-second", func(f *falconv1alpha1.FalconTokenSettings) { f.Spec.MaxActiveTokens = new(int32(8)) })
		Eventually(computed(ctx, second)).Should(Equal(status.FailedStatus), "a second object for account %s", api.CID)
	})
})

// waitingOnFalcon closes api's account with a rate-limit window on the fake clock, so that the
// operator's work on it waits until the test moves the clock past the window's end, which it
// returns. The window is short because the retry comes after it in real time.
func waitingOnFalcon(api falcontest.APIClient) time.Time {
	until := clock.Now().Add(2 * time.Second)
	sim.ForceRateLimit(api.CID, until)
	return until
}
