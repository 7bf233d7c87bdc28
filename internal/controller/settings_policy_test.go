package controller

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

func TestSettingsChangesSendsBothFieldsAsRead(t *testing.T) {
	read := falcon.CustomerSettings{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(7)}
	for _, tc := range []struct {
		name      string
		want      falconv1alpha1.TokenSettingsValues
		observed  falcon.CustomerSettings
		sent      falcon.CustomerSettings
		diffCount int
	}{
		{"nothing managed", falconv1alpha1.TokenSettingsValues{}, read, read, 0},
		{"in sync", falconv1alpha1.TokenSettingsValues{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(int32(7))}, read, read, 0},
		{"false is a value, the cap is sent as read", falconv1alpha1.TokenSettingsValues{TokensRequired: ptr.To(false)}, read,
			falcon.CustomerSettings{TokensRequired: ptr.To(false), MaxActiveTokens: ptr.To(7)}, 1},
		{"only the cap, tokens_required sent as read", falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptr.To(int32(3))}, read,
			falcon.CustomerSettings{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(3)}, 1},
		{"a cap the API did not return is not sent unless managed", falconv1alpha1.TokenSettingsValues{TokensRequired: ptr.To(false)},
			falcon.CustomerSettings{TokensRequired: ptr.To(true)}, falcon.CustomerSettings{TokensRequired: ptr.To(false)}, 1},
		{"a missing cap the spec manages differs", falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptr.To(int32(3))},
			falcon.CustomerSettings{TokensRequired: ptr.To(true)}, falcon.CustomerSettings{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(3)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent, diffs := settingsChanges(tc.want, tc.observed)
			if !reflect.DeepEqual(sent, tc.sent) {
				t.Errorf("sent = %s, want %s", describeSettings(sent), describeSettings(tc.sent))
			}
			if len(diffs) != tc.diffCount {
				t.Errorf("diffs = %q, want %d of them", diffs, tc.diffCount)
			}
		})
	}
}

func describeSettings(s falcon.CustomerSettings) string {
	return "{tokens_required " + describe(s.TokensRequired) + ", max_active_tokens " + describe(s.MaxActiveTokens) + "}"
}

func TestWithOriginalsKeepsTheFirstObservedValueOfEachManagedField(t *testing.T) {
	observed := falcon.CustomerSettings{TokensRequired: ptr.To(false), MaxActiveTokens: ptr.To(20)}

	first, changed := withOriginals(nil, falconv1alpha1.TokenSettingsValues{TokensRequired: ptr.To(true)}, observed)
	if !changed || first == nil || first.TokensRequired == nil || *first.TokensRequired || first.MaxActiveTokens != nil {
		t.Fatalf("first look at tokensRequired: originals = %+v, changed %v", first, changed)
	}

	later := falcon.CustomerSettings{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(5)}
	again, changed := withOriginals(first, falconv1alpha1.TokenSettingsValues{TokensRequired: ptr.To(true)}, later)
	if changed || again != first {
		t.Fatal("a field already recorded must keep its first original value")
	}

	both, changed := withOriginals(first, falconv1alpha1.TokenSettingsValues{TokensRequired: ptr.To(true), MaxActiveTokens: ptr.To(int32(3))}, later)
	if !changed || *both.TokensRequired || *both.MaxActiveTokens != 5 {
		t.Fatalf("a newly managed field is added: %+v", both)
	}
	if first.MaxActiveTokens != nil {
		t.Fatal("withOriginals must not modify its input")
	}

	none, changed := withOriginals(nil, falconv1alpha1.TokenSettingsValues{MaxActiveTokens: ptr.To(int32(3))}, falcon.CustomerSettings{TokensRequired: ptr.To(true)})
	if changed || none != nil {
		t.Fatalf("a value the API did not return is no original: %+v", none)
	}
}

func TestSettingsOwnerIsTheOldestClaimant(t *testing.T) {
	creds := falconv1alpha1.CredentialsReference{Name: "api"}
	object := func(name string, age time.Duration, accountID string, ref falconv1alpha1.CredentialsReference) falconv1alpha1.FalconTokenSettings {
		return falconv1alpha1.FalconTokenSettings{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0.Add(-age))},
			Spec:       falconv1alpha1.FalconTokenSettingsSpec{FalconAPI: falconv1alpha1.FalconAPI{CredentialsSecretRef: ref}},
			Status:     falconv1alpha1.FalconTokenSettingsStatus{AccountID: accountID},
		}
	}
	other := falconv1alpha1.CredentialsReference{Name: "other"}
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

func TestCapMessageOnlyWhenOverTheCap(t *testing.T) {
	if capMessage(5, 5) != "" || capMessage(5, 1) != "" {
		t.Error("no warning at or under the cap")
	}
	if msg := capMessage(2, 4); msg == "" {
		t.Error("a warning over the cap")
	}
}
