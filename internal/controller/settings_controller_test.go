package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// settingsUnderTest is a FalconTokenSettings reconciler over c and the fake account.
func settingsUnderTest(c client.Client, account *fakeFalcon) *TokenSettingsReconciler {
	k, _ := unitSkeleton(c, settingsKind, func(s string) string { return s })
	connect := func(context.Context, types.NamespacedName, string) (settingsAPI, error) { return account, nil }
	return &TokenSettingsReconciler{skeleton: k, clusterResourceNamespace: "falcon-system",
		credentials: newCredentialSource(nil, c, Options{}),
		connect:     connect, connectForCleanup: connect}
}

func enforcedSettings(maxActive int32) *falconv1alpha1.FalconTokenSettings {
	return &falconv1alpha1.FalconTokenSettings{
		ObjectMeta: metav1.ObjectMeta{Name: "account", UID: "uid-settings", Generation: 1, Finalizers: []string{falconv1alpha1.Finalizer}},
		Spec: falconv1alpha1.FalconTokenSettingsSpec{
			FalconAPI:           falconv1alpha1.FalconAPI{Cloud: "us-1", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: "creds"}},
			TokenSettingsValues: falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptr.To(maxActive)},
		},
	}
}

// A reconcile working from a stale copy, without the originals recorded by an earlier one,
// must not replace them with the value the operator itself enforced (defect: 5 became 10).
func TestSettingsStaleCopyKeepsTheOriginals(t *testing.T) {
	ctx := context.Background()
	stored := enforcedSettings(10)
	stored.Status.OriginalSettings = &falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptr.To(int32(5))}
	stored.Status.ObservedGeneration = 1
	c := fakeCluster(stored)
	stale := current(t, c, stored) // as read before the originals were written
	stale.Status = falconv1alpha1.FalconTokenSettingsStatus{}
	stale.ResourceVersion = "1"
	// The earlier reconcile recorded 5 and wrote 10: the stored copy is newer than the stale one.
	latest := current(t, c, stored)
	latest.Status.LastSyncTime = &metav1.Time{Time: t0}
	if err := c.Status().Update(ctx, latest); err != nil {
		t.Fatal(err)
	}

	account := newFakeFalcon()
	account.settings = falcon.CustomerSettings{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(10)}
	r := settingsUnderTest(&staleReader{Client: c, stale: map[types.NamespacedName]client.Object{client.ObjectKeyFromObject(stored): stale}}, account)
	if result := reconcileOnce(t, r, stored); result.RequeueAfter == 0 {
		t.Error("a reconcile that lost the write race must start over")
	}
	if got := current(t, c, stored).Status.OriginalSettings; got == nil || ptr.Deref(got.MaxActiveTokens, 0) != 5 {
		t.Fatalf("originalSettings = %+v, want maxActiveTokens 5 kept", got)
	}
}

// The settings write carries both fields, the unmanaged one as just read, so that the API
// cannot reset tokens_required (defect: only the changed field was sent).
func TestSettingsWriteSendsBothFields(t *testing.T) {
	fts := enforcedSettings(3)
	c := fakeCluster(fts)
	account := newFakeFalcon()
	account.settings = falcon.CustomerSettings{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(7)}
	reconcileOnce(t, settingsUnderTest(c, account), fts)
	if account.count("settings-update") != 1 {
		t.Fatalf("calls: %v", account.calls)
	}
	if got := account.settings; ptr.Deref(got.MaxActiveTokens, 0) != 3 || !ptr.Deref(got.TokensRequired, false) {
		t.Fatalf("settings written = tokens_required %v, max_active_tokens %v; want true and 3", got.TokensRequired, got.MaxActiveTokens)
	}
}

// A max_active_tokens the API does not return is neither 0 nor an original to restore
// (defect: it read as 0, and Restore would PATCH the invalid 0).
func TestSettingsMissingCapIsNotAnOriginal(t *testing.T) {
	ctx := context.Background()
	fts := enforcedSettings(3)
	fts.Spec.DeletionPolicy = falconv1alpha1.SettingsDeletionRestore
	c := fakeCluster(fts)
	account := newFakeFalcon()
	account.settings = falcon.CustomerSettings{TokensRequired: ptr.To(false)}
	r := settingsUnderTest(c, account)
	reconcileOnce(t, r, fts)
	got := current(t, c, fts)
	if o := got.Status.OriginalSettings; o != nil && o.MaxActiveTokens != nil {
		t.Fatalf("originalSettings.maxActiveTokens = %d, want none: the API never returned one", *o.MaxActiveTokens)
	}
	if err := c.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, fts)
	if n := account.count("settings-update"); n != 1 {
		t.Fatalf("settings writes = %d (%v), want only the enforcing one: nothing to restore", n, account.calls)
	}
}
