// Package validation holds the invalid objects the API server must refuse at apply time: each
// case is a file of config/samples with one thing made wrong, and a part of the refusal's
// message. The API validation suite (api/v1alpha1) and the end-to-end suite (test/e2e) both send
// every case, so a new case is checked in both places.
package validation

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// The samples the cases start from, in config/samples.
const (
	TokenSample        = "falcon_v1alpha1_falconinstallationtoken.yaml"
	ClusterTokenSample = "falcon_v1alpha1_clusterfalconinstallationtoken.yaml"
	SettingsSample     = "falcon_v1alpha1_falcontokensettings.yaml"
)

// Case is one invalid object.
type Case struct {
	// Name says what is wrong.
	Name string
	// Sample is the file of config/samples the object starts from.
	Sample string
	// Mutate makes the sample invalid.
	Mutate func(*unstructured.Unstructured)
	// WantMessage is part of the API server's refusal.
	WantMessage string
}

// renewedOnceAnHour ends the messages of the CEL rules that keep a token's renewals at least an
// hour apart.
const renewedOnceAnHour = "a token is renewed at most once an hour"

// InvalidObjects are the objects that OpenAPI or CEL validation in the CRDs refuses.
var InvalidObjects = []Case{
	{"an expiresAfter that is not a duration", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "thirty days", "spec", "expiresAfter") },
		"spec.expiresAfter in body should match"},
	{"a negative expiresAfter", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "-720h", "spec", "expiresAfter") },
		"spec.expiresAfter in body should match"},
	{"an expiresAfter under 1h", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, "50m", "spec", "expiresAfter")
			unstructured.RemoveNestedField(o.Object, "spec", "renewal")
		},
		"expiresAfter must be from 1h to 8760h"},
	{"an expiresAfter over a year", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "8761h", "spec", "expiresAfter") },
		"expiresAfter must be from 1h to 8760h"},
	{"renewal settings that would rotate more often than once an hour", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, "2h", "spec", "expiresAfter")
			set(o, "90m", "spec", "renewal", "renewBefore")
			set(o, "10m", "spec", "renewal", "gracePeriod")
		},
		renewedOnceAnHour},
	{"a renewBefore close to expiresAfter", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "719h59m", "spec", "renewal", "renewBefore") },
		renewedOnceAnHour},
	{"a default renewBefore on an expiresAfter under 90m", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, "80m", "spec", "expiresAfter")
			unstructured.RemoveNestedField(o.Object, "spec", "renewal", "renewBefore")
			set(o, "1m", "spec", "renewal", "gracePeriod")
		},
		"expiresAfter must be at least 90m"},
	{"a gracePeriod over 24h", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "25h", "spec", "renewal", "gracePeriod") },
		"gracePeriod must be at most 24h"},
	{"a gracePeriod as long as the time between renewals", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, "30h", "spec", "expiresAfter")
			set(o, "10h", "spec", "renewal", "renewBefore")
			set(o, "20h", "spec", "renewal", "gracePeriod")
		},
		"renewal.gracePeriod must be shorter than the time between renewals"},
	{"a zero renewBefore", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "0s", "spec", "renewal", "renewBefore") },
		"renewBefore must be positive"},
	{"a renewBefore as long as expiresAfter", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "720h", "spec", "renewal", "renewBefore") },
		"expiresAfter minus renewal.renewBefore must be at least 1h"},
	{"a renewBefore on a token that never expires", TokenSample,
		func(o *unstructured.Unstructured) { unstructured.RemoveNestedField(o.Object, "spec", "expiresAfter") },
		"renewal.renewBefore needs expiresAfter"},
	{"a gracePeriod that is not a duration", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "soon", "spec", "renewal", "gracePeriod") },
		"spec.renewal.gracePeriod in body should match"},
	{"an unknown renewal strategy", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "Recreate", "spec", "renewal", "strategy") },
		`Unsupported value: "Recreate"`},
	{"an unknown token deletion policy", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "Keep", "spec", "deletionPolicy") },
		`Unsupported value: "Keep"`},
	{"a tokenID that is not 32 hex characters", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "not-a-token-id", "spec", "tokenID") },
		"spec.tokenID in body should match"},
	{"an upper-case tokenID", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "0123456789ABCDEF0123456789ABCDEF", "spec", "tokenID") },
		"spec.tokenID in body should match"},
	{"an upper-case cloud name", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "US-1", "spec", "falconAPI", "cloud") },
		"spec.falconAPI.cloud in body should match"},
	{"a URL instead of a cloud name", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "https://collector.example/", "spec", "falconAPI", "cloud") },
		"spec.falconAPI.cloud in body should match"},
	{"no credentials reference", TokenSample,
		func(o *unstructured.Unstructured) {
			unstructured.RemoveNestedField(o.Object, "spec", "falconAPI", "credentialsSecretRef")
		},
		"spec.falconAPI.credentialsSecretRef: Required value"},
	{"a token key that is not a valid Secret key", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "token value!", "spec", "secret", "keys", "token") },
		"spec.secret.keys.token in body should match"},
	{"a CID key that is not a valid Secret key", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "cid/key", "spec", "secret", "keys", "cid") },
		"spec.secret.keys.cid in body should match"},
	{"the same key for the token and the CID", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, "FALCON", "spec", "secret", "keys", "token")
			set(o, "FALCON", "spec", "secret", "keys", "cid")
		},
		"secret.keys.token and secret.keys.cid must differ"},
	{"a Secret name that is not a DNS subdomain", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "Falcon_Token", "spec", "secret", "name") },
		"spec.secret.name in body should match"},
	{"a Secret label key that is not a label key", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, map[string]any{"team name": "x"}, "spec", "secret", "labels")
		},
		"secret.labels keys must be valid label keys"},
	{"a Secret label value that is not a label value", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, map[string]any{"team": "platform engineering"}, "spec", "secret", "labels")
		},
		"spec.secret.labels.team in body should match"},
	{"a Secret label value over 63 characters", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, map[string]any{"team": strings.Repeat("a", 64)}, "spec", "secret", "labels")
		},
		"spec.secret.labels.team: Too long"},
	{"a Secret annotation key that is not a qualified name", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, map[string]any{"/leading-slash": "x"}, "spec", "secret", "annotations")
		},
		"secret.annotations keys must be valid annotation keys"},
	{"Secret annotations over 256 KiB", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, map[string]any{"a": strings.Repeat("x", 140<<10), "b": strings.Repeat("y", 140<<10)}, "spec", "secret", "annotations")
		},
		"secret.annotations must be at most 256 KiB in all"},
	{"a token key of '..'", TokenSample,
		func(o *unstructured.Unstructured) { set(o, "..", "spec", "secret", "keys", "token") },
		"secret.keys.token must not be '.' or '..'"},
	{"a CID key of '.'", TokenSample,
		func(o *unstructured.Unstructured) { set(o, ".", "spec", "secret", "keys", "cid") },
		"secret.keys.cid must not be '.' or '..'"},
	{"a Secret label under the operator's prefix", TokenSample,
		func(o *unstructured.Unstructured) {
			set(o, map[string]any{"falcon.falconops.io/token": "x"}, "spec", "secret", "labels")
		},
		"secret.labels must not use the operator's prefix"},
	{"a maxActiveTokens below 1", SettingsSample,
		func(o *unstructured.Unstructured) { set(o, int64(0), "spec", "maxActiveTokens") },
		"spec.maxActiveTokens in body should be greater than or equal to 1"},
	{"a tokensRequired that is not a boolean", SettingsSample,
		func(o *unstructured.Unstructured) { set(o, "yes", "spec", "tokensRequired") },
		"spec.tokensRequired in body must be of type boolean"},
	{"a settings credentials reference without a name", SettingsSample,
		func(o *unstructured.Unstructured) {
			unstructured.RemoveNestedField(o.Object, "spec", "falconAPI", "credentialsSecretRef", "name")
		},
		"spec.falconAPI.credentialsSecretRef.name: Required value"},
	{"a cluster token without namespaces or a selector", ClusterTokenSample,
		func(o *unstructured.Unstructured) {
			unstructured.RemoveNestedField(o.Object, "spec", "secret", "namespaces")
			unstructured.RemoveNestedField(o.Object, "spec", "secret", "namespaceSelector")
		},
		"secret needs namespaces, a namespaceSelector, or both"},
	{"a cluster token namespace that is not a namespace name", ClusterTokenSample,
		func(o *unstructured.Unstructured) { set(o, []any{"Falcon_System"}, "spec", "secret", "namespaces") },
		"spec.secret.namespaces[0] in body should match"},
	{"a cluster token renewing more often than once an hour", ClusterTokenSample,
		func(o *unstructured.Unstructured) {
			set(o, "2h", "spec", "expiresAfter")
			set(o, "90m", "spec", "renewal", "renewBefore")
		},
		renewedOnceAnHour},
	{"an unknown management policy", SettingsSample,
		func(o *unstructured.Unstructured) { set(o, "Manage", "spec", "managementPolicy") },
		`Unsupported value: "Manage"`},
	{"an unknown settings deletion policy", SettingsSample,
		func(o *unstructured.Unstructured) { set(o, "Delete", "spec", "deletionPolicy") },
		`Unsupported value: "Delete"`},
}

// LoadSample reads file of the samples directory dir as an unstructured object, with its name
// replaced by a generateName so that every load can be created.
func LoadSample(dir, file string) (*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	obj.SetName("")
	obj.SetGenerateName(strings.ToLower(obj.GetKind()) + "-")
	return obj, nil
}

// set sets a field of a sample; the samples are maps all the way down, so it cannot fail.
func set(obj *unstructured.Unstructured, value any, path ...string) {
	if err := unstructured.SetNestedField(obj.Object, value, path...); err != nil {
		panic(fmt.Sprintf("set %s: %v", strings.Join(path, "."), err))
	}
}
