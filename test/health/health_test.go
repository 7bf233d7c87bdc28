// Package health tests the Argo CD health check shipped in docs/argocd: the Lua script runs in
// gopher-lua the way Argo CD runs a script from argocd-cm (obj is the live object's JSON as a
// Lua table, only the base, table and package libraries are open, one second to finish), against
// the status of every kind in each state the status contract defines.
package health

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const (
	group      = "falcon.falconops.io"
	scriptPath = "../../docs/argocd/health.lua"
	cmPath     = "../../docs/argocd/argocd-cm.yaml"
	cmHeader   = `# The health check of docs/argocd/health.lua for each falcon.falconops.io kind, as argocd-cm
# keys. Merge it into Argo CD's ConfigMap:
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file argocd-cm.yaml
# The three scripts are the same file; test/health checks that they stay so.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
`
)

// kinds are the kinds the health check is installed for, in argocd-cm order.
var kinds = []string{"FalconInstallationToken", "ClusterFalconInstallationToken", "FalconTokenSettings"}

var update = flag.Bool("update", false, "rewrite docs/argocd/argocd-cm.yaml from docs/argocd/health.lua")

// health is what Argo CD takes from the table the script returns.
type health struct {
	Status  string
	Message string
}

// argoStatuses are the statuses Argo CD accepts; anything else it shows as Unknown.
var argoStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

// runHealth runs the script as Argo CD's controller does (util/lua in argo-cd): a fresh state
// without the standard libraries but base, table and package, obj set from the object as the
// cluster cache holds it (unstructured, integers as int64), the returned table read back.
func runHealth(t *testing.T, script string, obj *unstructured.Unstructured) health {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for name, open := range map[string]lua.LGFunction{
		lua.LoadLibName: lua.OpenPackage, lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable,
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(open), NRet: 0, Protect: true}, lua.LString(name)); err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj.Object))
	if err := l.DoString(script); err != nil {
		t.Fatalf("script failed: %v", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("script returned %s, want a table", l.Get(-1).Type())
	}
	var h health
	ret.ForEach(func(k, v lua.LValue) {
		s, isString := v.(lua.LString)
		switch {
		case k.String() == "status" && isString:
			h.Status = string(s)
		case k.String() == "message" && isString:
			h.Message = string(s)
		default:
			t.Errorf("returned table has %s = %s (%s); want only the strings status and message", k, v, v.Type())
		}
	})
	if !argoStatuses[h.Status] {
		t.Fatalf("status %q is not one Argo CD knows", h.Status)
	}
	return h
}

// toLua converts an unstructured value the way Argo CD does: maps to tables keyed by string,
// slices to 1-based arrays, every number to a Lua number, nil to nil.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case json.Number:
		return lua.LString(v)
	}
	return lua.LNil
}

func readScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// load reads a testdata object and decodes it as the API server's JSON reaches Argo CD.
func load(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return obj
}

// cond builds a status condition as the operator writes it.
func cond(typ, status, reason, message string, generation int64) map[string]any {
	return map[string]any{
		"type": typ, "status": status, "reason": reason, "message": message,
		"observedGeneration": generation, "lastTransitionTime": "2026-05-20T14:02:12Z",
	}
}

// setStatus replaces conditions and status.observedGeneration (0: absent) on an object.
func setStatus(obj *unstructured.Unstructured, observed int64, conditions ...map[string]any) {
	status, _ := obj.Object["status"].(map[string]any)
	if status == nil {
		status = map[string]any{}
		obj.Object["status"] = status
	}
	list := make([]any, 0, len(conditions))
	for _, c := range conditions {
		list = append(list, c)
	}
	status["conditions"] = list
	if observed == 0 {
		delete(status, "observedGeneration")
	} else {
		status["observedGeneration"] = observed
	}
}

// The objects of testdata, unchanged: a full status of each kind is Healthy, with the message
// of its Ready condition, and a cluster token names the namespace it could not publish to.
func TestRealObjects(t *testing.T) {
	script := readScript(t)
	for _, tc := range []struct {
		file string
		want health
	}{
		{"falconinstallationtoken.yaml", health{"Healthy",
			"TokenReady: token 4f8e1c0a9b7d4e2f8a6c3b1d0e9f7a5c (revision 2) is valid and published in Secret falcon-sensor"}},
		{"clusterfalconinstallationtoken.yaml", health{"Healthy",
			"TokenReady: token 0b1c2d3e4f5a69788796a5b4c3d2e1f0 (revision 1) is valid and published in Secret falcon-platform-token; not published in team-b (SecretConflict)"}},
		{"falcontokensettings.yaml", health{"Healthy",
			"InSync: the account's installation-token settings match the spec; 12 of 50 active tokens in use"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if got := runHealth(t, script, load(t, tc.file)); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// Every row of the status mapping, on each kind's real object shape.
func TestMapping(t *testing.T) {
	script := readScript(t)
	type row struct {
		name   string
		kinds  []string // empty: every kind
		mutate func(obj *unstructured.Unstructured, gen int64, readyReason string)
		want   string
		// msg must appear in the message: the reason a person looks up, or what is awaited.
		msg string
	}
	tokenKinds := []string{"FalconInstallationToken", "ClusterFalconInstallationToken"}
	rows := []row{
		{name: "no status yet", want: "Progressing", msg: "Waiting for the operator",
			mutate: func(o *unstructured.Unstructured, _ int64, _ string) { delete(o.Object, "status") }},
		{name: "status without conditions", want: "Progressing", msg: "Waiting for the operator",
			mutate: func(o *unstructured.Unstructured, _ int64, _ string) { o.Object["status"] = map[string]any{} }},
		{name: "spec changed, not reconciled yet", want: "Progressing", msg: "reconcile generation",
			mutate: func(o *unstructured.Unstructured, gen int64, reason string) {
				o.SetGeneration(gen + 1)
				setStatus(o, gen, cond("Ready", "True", reason, "was ready", gen))
			}},
		{name: "stalled", want: "Degraded", msg: "CredentialsInvalid: Falcon refused the client ID and secret",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen,
					cond("Ready", "False", "CredentialsInvalid", "Falcon refused the client ID and secret", gen),
					cond("Stalled", "True", "CredentialsInvalid", "Falcon refused the client ID and secret", gen))
			}},
		// status.observedGeneration moves only on success: a resource that never got that far
		// must still show Degraded, or an Argo CD sync wave would wait on it until timeout.
		{name: "stalled on the first reconcile", want: "Degraded", msg: "CredentialsNotFound",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, 0,
					cond("Ready", "False", "CredentialsNotFound", "Secret falcon-api-credentials not found", gen),
					cond("Stalled", "True", "CredentialsNotFound", "Secret falcon-api-credentials not found", gen))
			}},
		{name: "stalled, message on Stalled only", want: "Degraded", msg: "MissingScope: add Installation Tokens: Write",
			mutate: func(o *unstructured.Unstructured, gen int64, reason string) {
				setStatus(o, gen,
					cond("Ready", "True", reason, "was ready", gen),
					cond("Stalled", "True", "MissingScope", "add Installation Tokens: Write", gen))
			}},
		// The person fixed the spec: the Stalled condition speaks for the old generation.
		{name: "stalled on an older generation", want: "Progressing", msg: "reconcile generation",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				o.SetGeneration(gen + 1)
				setStatus(o, gen,
					cond("Ready", "False", "SecretConflict", "Secret x exists", gen),
					cond("Stalled", "True", "SecretConflict", "Secret x exists", gen))
			}},
		{name: "reconciling while ready", want: "Progressing", msg: "rotating",
			mutate: func(o *unstructured.Unstructured, gen int64, reason string) {
				setStatus(o, gen,
					cond("Ready", "True", reason, "ready", gen),
					cond("Reconciling", "True", "Rotating", "rotating", gen))
			}},
		{name: "rate limited", want: "Progressing", msg: "RateLimited: until 2026-05-20T14:03:00Z",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen,
					cond("Ready", "False", "RateLimited", "until 2026-05-20T14:03:00Z", gen),
					cond("Reconciling", "True", "RateLimited", "waiting out the rate limit", gen),
					cond("Stalled", "False", "RateLimited", "", gen))
			}},
		{name: "transient failure on the first reconcile", want: "Progressing", msg: "APIUnavailable",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, 0,
					cond("Ready", "False", "APIUnavailable", "Falcon answered 503", gen),
					cond("Reconciling", "True", "APIUnavailable", "retrying", gen))
			}},
		// Deleting a Ready resource: the old "ready" message would mislead.
		{name: "being deleted, cleanup not started", want: "Progressing", msg: "Being deleted",
			mutate: func(o *unstructured.Unstructured, _ int64, _ string) {
				o.Object["metadata"].(map[string]any)["deletionTimestamp"] = "2026-05-20T15:00:00Z"
			}},
		{name: "ready", want: "Healthy", msg: ": done",
			mutate: func(o *unstructured.Unstructured, gen int64, reason string) {
				setStatus(o, gen, cond("Ready", "True", reason, "done", gen))
			}},
		{name: "ready, Reconciling and Stalled False", want: "Healthy", msg: ": done",
			mutate: func(o *unstructured.Unstructured, gen int64, reason string) {
				setStatus(o, gen,
					cond("Reconciling", "False", reason, "", gen),
					cond("Stalled", "False", reason, "", gen),
					cond("Ready", "True", reason, "done", gen))
			}},
		{name: "revoked on purpose", kinds: tokenKinds, want: "Suspended", msg: "TokenRevoked",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen, cond("Ready", "True", "TokenRevoked", "spec.revoked is true", gen))
			}},
		{name: "not ready, no other condition", want: "Progressing", msg: "Expired: ",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen, cond("Ready", "False", "Expired", "replacement pending", gen))
			}},
		{name: "ready unknown", want: "Progressing", msg: "",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen, cond("Ready", "Unknown", "Pending", "", gen))
			}},
		{name: "ready written for an older generation", want: "Progressing", msg: "Waiting for the Ready condition",
			mutate: func(o *unstructured.Unstructured, gen int64, reason string) {
				o.SetGeneration(gen + 1)
				setStatus(o, gen+1, cond("Ready", "True", reason, "done", gen))
			}},
		{name: "being deleted", want: "Progressing", msg: "Deleting: ",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				o.Object["metadata"].(map[string]any)["deletionTimestamp"] = "2026-05-20T15:00:00Z"
				setStatus(o, gen,
					cond("Ready", "False", "Deleting", "cleaning up as deletionPolicy says", gen),
					cond("Stalled", "True", "CredentialsNotFound", "no credentials", gen))
			}},
		{name: "settings drift under Observe", kinds: []string{"FalconTokenSettings"}, want: "Degraded", msg: "DriftDetected",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen,
					cond("Ready", "False", "DriftDetected", "Falcon's settings differ from the spec: tokensRequired", gen),
					cond("Stalled", "True", "DriftDetected", "Falcon's settings differ from the spec: tokensRequired", gen))
			}},
	}
	// Every reason the contract lists as needing a person ends Degraded once Stalled says so, and
	// every transient one stays Progressing while the operator works on it.
	needPerson := []string{"CredentialsNotFound", "CredentialsInvalid", "MissingScope", "SecretConflict",
		"Conflict", "TokenOwnedElsewhere", "KubernetesForbidden", "KubernetesInvalid"}
	transient := []string{"RateLimited", "APIUnavailable", "TokenLimitReached", "Expired"}
	rows = slices.Grow(rows, len(needPerson)+len(transient))
	for _, reason := range needPerson {
		rows = append(rows, row{name: "stalled: " + reason, want: "Degraded", msg: reason + ": fix it",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen, cond("Ready", "False", reason, "fix it", gen), cond("Stalled", "True", reason, "fix it", gen))
			}})
	}
	for _, reason := range transient {
		rows = append(rows, row{name: "reconciling: " + reason, want: "Progressing", msg: reason + ": retrying",
			mutate: func(o *unstructured.Unstructured, gen int64, _ string) {
				setStatus(o, gen, cond("Ready", "False", reason, "retrying", gen), cond("Reconciling", "True", reason, "", gen))
			}})
	}

	files := map[string]string{
		"FalconInstallationToken":        "falconinstallationtoken.yaml",
		"ClusterFalconInstallationToken": "clusterfalconinstallationtoken.yaml",
		"FalconTokenSettings":            "falcontokensettings.yaml",
	}
	readyReasons := map[string]string{
		"FalconInstallationToken": "TokenReady", "ClusterFalconInstallationToken": "TokenReady", "FalconTokenSettings": "InSync",
	}
	for _, kind := range kinds {
		for _, r := range rows {
			if len(r.kinds) > 0 && !slices.Contains(r.kinds, kind) {
				continue
			}
			t.Run(kind+"/"+r.name, func(t *testing.T) {
				obj := load(t, files[kind])
				// One condition per type: no refused namespaces unless the row sets them.
				if st, ok := obj.Object["status"].(map[string]any); ok {
					delete(st, "refusedNamespaces")
				}
				r.mutate(obj, obj.GetGeneration(), readyReasons[kind])
				got := runHealth(t, script, obj)
				if got.Status != r.want || !strings.Contains(got.Message, r.msg) {
					t.Errorf("got %s %q, want %s with a message containing %q", got.Status, got.Message, r.want, r.msg)
				}
				if got.Message == "" {
					t.Error("empty message: Argo CD would show nothing to act on")
				}
			})
		}
	}
}

// A revoked token is the wanted state, not a failure: Argo CD must not call it Degraded, and an
// operator's own revocation must win over a stale Stalled of an older generation.
func TestRevokedAfterFixingASpec(t *testing.T) {
	obj := load(t, "falconinstallationtoken.yaml")
	gen := obj.GetGeneration()
	setStatus(obj, gen,
		cond("Stalled", "True", "CredentialsInvalid", "old", gen-1),
		cond("Ready", "True", "TokenRevoked", "spec.revoked is true", gen))
	if got := runHealth(t, readScript(t), obj); got.Status != "Suspended" {
		t.Errorf("got %+v, want Suspended", got)
	}
}

// The argocd-cm patch installs this very script under the key Argo CD looks up for each kind
// (resource.customizations.health.<group>_<kind>), and every kind the CRDs serve has one.
func TestArgoCDConfigMap(t *testing.T) {
	script := readScript(t)
	var want strings.Builder
	want.WriteString(cmHeader)
	for _, kind := range kinds {
		want.WriteString("  resource.customizations.health." + group + "_" + kind + ": |\n")
		for _, line := range strings.SplitAfter(strings.TrimSuffix(script, "\n"), "\n") {
			if strings.TrimSpace(line) == "" {
				want.WriteString("\n")
				continue
			}
			want.WriteString("    " + line)
		}
		want.WriteString("\n")
	}
	if *update {
		if err := os.WriteFile(cmPath, []byte(want.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(cmPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want.String() {
		t.Fatalf("%s is not health.lua under each kind's key: run go test ./test/health -run TestArgoCDConfigMap -update", cmPath)
	}

	// Decoded as Kubernetes will: each key holds the script byte for byte.
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	for key, value := range cm.Data {
		if value != script {
			t.Errorf("%s differs from health.lua once decoded", key)
		}
	}

	crds, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs found: %v", err)
	}
	var served []string
	for _, f := range crds {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatal(err)
		}
		if crd.Spec.Group == group {
			served = append(served, crd.Spec.Names.Kind)
		}
	}
	for _, kind := range served {
		if _, ok := cm.Data["resource.customizations.health."+group+"_"+kind]; !ok {
			t.Errorf("kind %s has a CRD but no health check in %s", kind, cmPath)
		}
	}
}
