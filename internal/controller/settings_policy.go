package controller

import (
	"fmt"

	"k8s.io/utils/ptr"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// The decisions of the FalconTokenSettings reconciler, as pure functions of what was read.

// settingsChanges is what to send to bring the observed settings to the managed fields of want:
// the settings just read with the managed fields set, so that both fields are sent (how the API
// treats a missing one is unknown); and a description of each difference, none when no write is
// needed. A field the API did not return is never sent unless the spec manages it.
func settingsChanges(want falconv1alpha1.TokenSettingsValues, observed falcon.CustomerSettings) (falcon.CustomerSettings, []string) {
	next := observed
	var diffs []string
	if want.TokensRequired != nil && (observed.TokensRequired == nil || *want.TokensRequired != *observed.TokensRequired) {
		next.TokensRequired = ptr.To(*want.TokensRequired)
		diffs = append(diffs, fmt.Sprintf("tokensRequired is %s, the spec says %t", describe(observed.TokensRequired), *want.TokensRequired))
	}
	if want.MaxActiveTokens != nil && (observed.MaxActiveTokens == nil || int(*want.MaxActiveTokens) != *observed.MaxActiveTokens) {
		next.MaxActiveTokens = ptr.To(int(*want.MaxActiveTokens))
		diffs = append(diffs, fmt.Sprintf("maxActiveTokens is %s, the spec says %d", describe(observed.MaxActiveTokens), *want.MaxActiveTokens))
	}
	return next, diffs
}

// describe shows an observed setting, or that the API did not return it.
func describe[T any](v *T) string {
	if v == nil {
		return "not set"
	}
	return fmt.Sprint(*v)
}

// withOriginals records, for each field want manages that has no original yet, the value
// observed now, so that deletionPolicy Restore can put back what was there before the
// operator's first write. A value the API did not return is not recorded, and so never restored.
func withOriginals(
	originals *falconv1alpha1.TokenSettingsValues, want falconv1alpha1.TokenSettingsValues, observed falcon.CustomerSettings,
) (*falconv1alpha1.TokenSettingsValues, bool) {
	next := &falconv1alpha1.TokenSettingsValues{}
	if originals != nil {
		next = originals.DeepCopy()
	}
	changed := false
	if want.TokensRequired != nil && next.TokensRequired == nil && observed.TokensRequired != nil {
		next.TokensRequired, changed = ptr.To(*observed.TokensRequired), true
	}
	if want.MaxActiveTokens != nil && next.MaxActiveTokens == nil && observed.MaxActiveTokens != nil {
		next.MaxActiveTokens, changed = ptr.To(int32(*observed.MaxActiveTokens)), true
	}
	if !changed {
		return originals, false
	}
	return next, true
}

// settingsOwner returns the FalconTokenSettings that manages accountID among all: the oldest
// that claims it, self included. Another object claims the account when its status names it,
// or, before it could identify its account, when it uses the same credentials on the same cloud.
// An object being deleted still owns its account until it is gone, so that its own cleanup and
// its successor's writes do not interleave.
func settingsOwner(self *falconv1alpha1.FalconTokenSettings, all []falconv1alpha1.FalconTokenSettings, accountID string) *falconv1alpha1.FalconTokenSettings {
	owner := self
	for i := range all {
		other := &all[i]
		if other.UID == self.UID || !claimsAccount(other, self, accountID) {
			continue
		}
		if olderThan(other, owner) {
			owner = other
		}
	}
	return owner
}

func claimsAccount(other, self *falconv1alpha1.FalconTokenSettings, accountID string) bool {
	if other.Status.AccountID != "" {
		return other.Status.AccountID == accountID
	}
	return other.Spec.FalconAPI.CredentialsSecretRef == self.Spec.FalconAPI.CredentialsSecretRef &&
		other.Spec.FalconAPI.Cloud == self.Spec.FalconAPI.Cloud
}

// olderThan orders objects by creation, then by name for objects created in the same second.
func olderThan(a, b *falconv1alpha1.FalconTokenSettings) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// capMessage warns when the account holds more valid tokens than the cap allows.
func capMessage(maxActive, active int32) string {
	if active <= maxActive {
		return ""
	}
	return fmt.Sprintf("; the account holds %d valid tokens, more than maxActiveTokens %d: "+
		"Falcon decides what happens to them, the operator revokes none", active, maxActive)
}
