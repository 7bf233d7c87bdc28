package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/test/validation"
)

const samplesDir = "../../config/samples"

// sample reads a file of config/samples as an unstructured object, named uniquely.
func sample(file string) *unstructured.Unstructured {
	raw, err := os.ReadFile(filepath.Join(samplesDir, file))
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(raw, &obj.Object)).To(Succeed())
	obj.SetName("")
	obj.SetGenerateName(strings.ToLower(obj.GetKind()) + "-")
	return obj
}

const (
	tokenSample    = validation.TokenSample
	settingsSample = validation.SettingsSample
)

// invalidObjectEntries are the table of invalid objects shared with the end-to-end suite.
func invalidObjectEntries() []TableEntry {
	entries := make([]TableEntry, 0, len(validation.InvalidObjects))
	for _, c := range validation.InvalidObjects {
		entries = append(entries, Entry(c.Name, c.Sample, c.Mutate, c.WantMessage))
	}
	return entries
}

func set(obj *unstructured.Unstructured, value any, path ...string) {
	Expect(unstructured.SetNestedField(obj.Object, value, path...)).To(Succeed())
}

func create(ctx context.Context, obj client.Object) error {
	err := k8sClient.Create(ctx, obj)
	if err == nil {
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, obj))).To(Succeed()) })
	}
	return err
}

var _ = Describe("API validation", func() {
	BeforeEach(func(ctx SpecContext) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "falcon-system"}}
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, ns))).To(Succeed())
	})

	It("accepts every sample in config/samples", func(ctx SpecContext) {
		entries, err := os.ReadDir(samplesDir)
		Expect(err).NotTo(HaveOccurred())
		accepted := 0
		for _, e := range entries {
			if e.Name() == "kustomization.yaml" {
				continue
			}
			Expect(create(ctx, sample(e.Name()))).To(Succeed(), e.Name())
			accepted++
		}
		Expect(accepted).To(BeNumerically(">=", 2))
	})

	It("fills in the documented defaults", func(ctx SpecContext) {
		fit := &falconv1alpha1.FalconInstallationToken{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "defaults-", Namespace: "falcon-system"},
			Spec: falconv1alpha1.FalconInstallationTokenSpec{
				FalconAPI: falconv1alpha1.FalconAPI{CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: "creds"}},
			},
		}
		Expect(create(ctx, fit)).To(Succeed())
		Expect(fit.Spec.FalconAPI.Cloud).To(Equal(falconv1alpha1.CloudAutodiscover))
		Expect(fit.Spec.DeletionPolicy).To(BeEmpty(), "unset: Revoke for a created token, Orphan for an adopted one")
		Expect(fit.Spec.Renewal.Strategy).To(Equal(falconv1alpha1.RenewalRotate))
		Expect(fit.Spec.Renewal.GracePeriod.Duration.String()).To(Equal("1h0m0s"))
		Expect(fit.Spec.Secret.Keys.Token).To(Equal(falconv1alpha1.DefaultTokenKey))
		Expect(fit.Spec.Secret.Keys.CID).To(HaveValue(Equal(falconv1alpha1.DefaultCIDKey)))

		fts := &falconv1alpha1.FalconTokenSettings{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "defaults-"},
			Spec: falconv1alpha1.FalconTokenSettingsSpec{
				FalconAPI: falconv1alpha1.FalconAPI{CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: "creds"}},
			},
		}
		Expect(create(ctx, fts)).To(Succeed())
		Expect(fts.Spec.ManagementPolicy).To(Equal(falconv1alpha1.ManagementEnforce))
		Expect(fts.Spec.DeletionPolicy).To(Equal(falconv1alpha1.SettingsDeletionOrphan))
		Expect(fts.Spec.TokensRequired).To(BeNil(), "an unset field stays unset: it is not managed")
	})

	It("keeps an empty CID key, which leaves the CID out of the Secret", func(ctx SpecContext) {
		obj := sample(tokenSample)
		set(obj, "", "spec", "secret", "keys", "cid")
		Expect(create(ctx, obj)).To(Succeed())
		cid, found, err := unstructured.NestedString(obj.Object, "spec", "secret", "keys", "cid")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(cid).To(BeEmpty())
	})

	DescribeTable("refuses invalid objects at apply time",
		func(ctx SpecContext, file string, mutate func(*unstructured.Unstructured), wantMessage string) {
			obj := sample(file)
			mutate(obj)
			err := create(ctx, obj)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(wantMessage))
		},
		invalidObjectEntries(),
	)

	DescribeTable("refuses changing, removing or adding tokenID once the resource holds a token",
		func(ctx SpecContext, adopted bool, change func(*unstructured.Unstructured)) {
			obj := sample(tokenSample)
			if adopted {
				set(obj, "0123456789abcdef0123456789abcdef", "spec", "tokenID")
			}
			Expect(create(ctx, obj)).To(Succeed())
			set(obj, "0123456789abcdef0123456789abcdef", "status", "tokenID")
			Expect(k8sClient.Status().Update(ctx, obj)).To(Succeed())
			change(obj)
			err := k8sClient.Update(ctx, obj)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring("spec.tokenID cannot change once the resource holds a token"))
		},
		Entry("changed", true, func(o *unstructured.Unstructured) { set(o, "fedcba9876543210fedcba9876543210", "spec", "tokenID") }),
		Entry("removed", true, func(o *unstructured.Unstructured) { unstructured.RemoveNestedField(o.Object, "spec", "tokenID") }),
		Entry("added to a resource that created its token", false, func(o *unstructured.Unstructured) {
			set(o, "fedcba9876543210fedcba9876543210", "spec", "tokenID")
		}),
	)

	It("lets tokenID be set or corrected while the resource holds no token", func(ctx SpecContext) {
		obj := sample(tokenSample)
		Expect(create(ctx, obj)).To(Succeed())
		set(obj, "0123456789abcdef0123456789abcdef", "spec", "tokenID")
		Expect(k8sClient.Update(ctx, obj)).To(Succeed())
		set(obj, "fedcba9876543210fedcba9876543210", "spec", "tokenID")
		Expect(k8sClient.Update(ctx, obj)).To(Succeed(), "a typo can be fixed before a token is adopted")
	})

	It("starts every kind with observedGeneration 0, which kstatus reads as not yet reconciled", func(ctx SpecContext) {
		for _, file := range []string{tokenSample, validation.ClusterTokenSample, settingsSample} {
			obj := sample(file)
			Expect(create(ctx, obj)).To(Succeed())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
			observed, found, err := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue(), file)
			Expect(observed).To(BeZero())
		}
	})

	DescribeTable("describes every field, so kubectl explain teaches the API",
		func(ctx SpecContext, crdName string) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: crdName}, crd)).To(Succeed())
			schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
			spec, status := schema.Properties["spec"], schema.Properties["status"]
			undocumented := slices.Concat(missingDescriptions("spec", &spec), missingDescriptions("status", &status))
			Expect(undocumented).To(BeEmpty())
		},
		Entry("FalconInstallationToken", "falconinstallationtokens.falcon.falconops.io"),
		Entry("ClusterFalconInstallationToken", "clusterfalconinstallationtokens.falcon.falconops.io"),
		Entry("FalconTokenSettings", "falcontokensettings.falcon.falconops.io"),
	)
})

// missingDescriptions lists the paths below schema whose property has no description.
// Condition fields come from metav1.Condition and are described there.
func missingDescriptions(path string, schema *apiextensionsv1.JSONSchemaProps) []string {
	var missing []string
	if strings.TrimSpace(schema.Description) == "" {
		missing = append(missing, path)
	}
	for name, prop := range schema.Properties {
		missing = append(missing, missingDescriptions(path+"."+name, &prop)...)
	}
	if schema.Items != nil && schema.Items.Schema != nil {
		for name, prop := range schema.Items.Schema.Properties {
			missing = append(missing, missingDescriptions(path+"[]."+name, &prop)...)
		}
	}
	return missing
}
