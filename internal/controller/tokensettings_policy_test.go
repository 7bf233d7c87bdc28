package controller

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

func TestSettingsChangesWritesOnlyManagedFieldsThatDiffer(t *testing.T) {
	settings := func(tokensRequired *bool, maxActive *int) falcon.CustomerSettings {
		return falcon.CustomerSettings{TokensRequired: tokensRequired, MaxActiveTokens: maxActive}
	}
	observed := settings(ptrTo(true), ptrTo(7))
	for _, tc := range []struct {
		name      string
		want      falconv1alpha1.TokenSettingsValues
		observed  falcon.CustomerSettings
		write     falcon.CustomerSettings
		diffCount int
	}{
		{"nothing managed", falconv1alpha1.TokenSettingsValues{}, observed, observed, 0},
		{"in sync", falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(true), MaxActiveTokens: ptrTo(int32(7))}, observed, observed, 0},
		{"false is a value", falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(false)}, observed, settings(ptrTo(false), ptrTo(7)), 1},
		{"only the cap", falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptrTo(int32(3))}, observed, settings(ptrTo(true), ptrTo(3)), 1},
		{"both", falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(true), MaxActiveTokens: ptrTo(int32(3))},
			settings(ptrTo(false), ptrTo(7)), settings(ptrTo(true), ptrTo(3)), 2},
		{"an unknown cap is not 0", falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptrTo(int32(3))},
			settings(ptrTo(true), nil), settings(ptrTo(true), ptrTo(3)), 1},
		{"an unknown cap stays unknown", falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(false)},
			settings(ptrTo(true), nil), settings(ptrTo(false), nil), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write, diffs := settingsChanges(tc.want, tc.observed)
			if !reflect.DeepEqual(write, tc.write) {
				t.Errorf("write = %+v, want %+v", write, tc.write)
			}
			if len(diffs) != tc.diffCount {
				t.Errorf("diffs = %q, want %d of them", diffs, tc.diffCount)
			}
		})
	}
}

func TestWithOriginalsKeepsTheFirstObservedValueOfEachManagedField(t *testing.T) {
	observed := falcon.CustomerSettings{TokensRequired: ptrTo(false), MaxActiveTokens: ptrTo(20)}

	first, changed := withOriginals(nil, falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(true)}, observed)
	if !changed || first == nil || first.TokensRequired == nil || *first.TokensRequired || first.MaxActiveTokens != nil {
		t.Fatalf("first look at tokensRequired: originals = %+v, changed %v", first, changed)
	}

	later := falcon.CustomerSettings{TokensRequired: ptrTo(true), MaxActiveTokens: ptrTo(5)}
	again, changed := withOriginals(first, falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(true)}, later)
	if changed || again != first {
		t.Fatal("a field already recorded must keep its first original value")
	}

	both, changed := withOriginals(first, falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(true), MaxActiveTokens: ptrTo(int32(3))}, later)
	if !changed || *both.TokensRequired || *both.MaxActiveTokens != 5 {
		t.Fatalf("a newly managed field is added: %+v", both)
	}
	if first.MaxActiveTokens != nil {
		t.Fatal("withOriginals must not modify its input")
	}
}

func TestRestoreUpdatePutsBackOnlyRecordedFieldsThatDiffer(t *testing.T) {
	originals := &falconv1alpha1.TokenSettingsValues{TokensRequired: ptrTo(false)}
	got, diffs := restoreUpdate(originals, falcon.CustomerSettings{TokensRequired: ptrTo(true), MaxActiveTokens: ptrTo(3)})
	if want := (falcon.CustomerSettings{TokensRequired: ptrTo(false), MaxActiveTokens: ptrTo(3)}); !reflect.DeepEqual(got, want) || len(diffs) != 1 {
		t.Errorf("restore = %+v (%q), want %+v", got, diffs, want)
	}
	if _, diffs := restoreUpdate(nil, falcon.CustomerSettings{}); len(diffs) != 0 {
		t.Error("nothing recorded, nothing restored")
	}
}

func TestSettingsOwnerIsTheOldestClaimant(t *testing.T) {
	creds := falconv1alpha1.CredentialsReference{Namespace: "falcon-system", Name: "api"}
	object := func(name string, age time.Duration, accountID string, ref falconv1alpha1.CredentialsReference) falconv1alpha1.FalconTokenSettings {
		return falconv1alpha1.FalconTokenSettings{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0.Add(-age))},
			Spec:       falconv1alpha1.FalconTokenSettingsSpec{FalconAPI: falconv1alpha1.ClusterFalconAPI{CredentialsSecretRef: ref}},
			Status:     falconv1alpha1.FalconTokenSettingsStatus{AccountID: accountID},
		}
	}
	other := falconv1alpha1.CredentialsReference{Namespace: "falcon-system", Name: "other"}
	for _, tc := range []struct {
		name  string
		self  falconv1alpha1.FalconTokenSettings
		all   []falconv1alpha1.FalconTokenSettings
		owner string
	}{
		{"alone", object("a", time.Hour, "", creds), nil, "a"},
		{"older of the same account wins", object("new", time.Minute, "", creds),
			[]falconv1alpha1.FalconTokenSettings{object("old", time.Hour, "CID-1", other)}, "old"},
		{"older of another account is no claimant", object("new", time.Minute, "", creds),
			[]falconv1alpha1.FalconTokenSettings{object("old", time.Hour, "CID-2", creds)}, "new"},
		{"older without an account yet claims by credentials", object("new", time.Minute, "", creds),
			[]falconv1alpha1.FalconTokenSettings{object("old", time.Hour, "", creds)}, "old"},
		{"older without an account and other credentials is no claimant", object("new", time.Minute, "", creds),
			[]falconv1alpha1.FalconTokenSettings{object("old", time.Hour, "", other)}, "new"},
		{"younger claimant loses", object("old", time.Hour, "CID-1", creds),
			[]falconv1alpha1.FalconTokenSettings{object("new", time.Minute, "CID-1", creds)}, "old"},
		{"same second: the name decides", object("b", time.Hour, "", creds),
			[]falconv1alpha1.FalconTokenSettings{object("a", time.Hour, "CID-1", creds)}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := append([]falconv1alpha1.FalconTokenSettings{tc.self}, tc.all...)
			if got := settingsOwner(&tc.self, all, "CID-1"); got.Name != tc.owner {
				t.Errorf("owner = %s, want %s", got.Name, tc.owner)
			}
		})
	}
}

func TestFallbackAccountIDHidesTheClientID(t *testing.T) {
	id := fallbackAccountID("0123456789abcdef0123456789abcdef", "")
	if id == fallbackAccountID("0123456789abcdef0123456789abcdef", "ABCDEF0123456789ABCDEF0123456789") {
		t.Error("a member CID is another account")
	}
	if id != fallbackAccountID("0123456789abcdef0123456789abcdef", "") {
		t.Error("the account ID must be stable")
	}
	if want := "client-"; len(id) != len(want)+16 || id[:len(want)] != want {
		t.Errorf("account ID %q is not client-<16 hex>", id)
	}
}

func TestCapMessageOnlyWhenOverTheCap(t *testing.T) {
	if capMessage(5, 5) != "" || capMessage(5, 1) != "" {
		t.Error("no warning at or under the cap")
	}
	if msg := capMessage(2, 4); msg == "" {
		t.Error("a warning over the cap")
	}
}
