// Package demo_test runs the demo (hack/demo, what `make demo` runs) end to end against the
// Falcon simulator and checks what a person sees: the tables of the three kinds, the masked
// Secrets, the cluster token's Secret in its three namespaces, the way to keep exploring (and,
// with its kubeconfig, what kubectl shows), and that nothing it started outlives it.
package demo_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// demoTimeout bounds one demo run; the demo itself gives up on Ready after two minutes.
const demoTimeout = 6 * time.Minute

// binaries are the demo, the manager and the simulator, built once by TestMain.
var binaries struct{ dir, root, assets string }

func TestMain(m *testing.M) {
	code, err := buildAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo_test:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildAndRun(m *testing.M) (int, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "demo-test-bin-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	for name, pkg := range map[string]string{"demo": "./hack/demo", "manager": ".", "falcon-simulator": "./hack/falcon-simulator"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		// What `make test` sets; run directly, the test finds (or builds) the binaries itself.
		setup := exec.Command(filepath.Join(root, "hack", "setup-envtest.sh"))
		setup.Stderr = os.Stderr
		out, err := setup.Output()
		if err != nil {
			return 0, fmt.Errorf("hack/setup-envtest.sh: %w", err)
		}
		assets = strings.TrimSpace(string(out))
	}
	binaries.dir, binaries.root, binaries.assets = dir, root, assets
	return m.Run(), nil
}

func TestDemoPrintsTheSamplesAndExits(t *testing.T) {
	output, err := runDemo(t, []string{"DEMO_EXIT=1"}, nil)
	if err != nil {
		t.Fatalf("the demo failed: %v", err)
	}

	for what, pattern := range map[string]string{
		"FalconInstallationToken table header":        `(?m)^NAME\s+READY\s+STATUS\s+EXPIRES\s+SECRET\s+AGE$`,
		"FalconInstallationToken Ready row":           `(?m)^falcon-sensor\s+True\s+valid\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+falcon-sensor-token\s+`,
		"ClusterFalconInstallationToken table header": `(?m)^NAME\s+READY\s+STATUS\s+EXPIRES\s+SECRET\s+NAMESPACES\s+AGE$`,
		"FalconTokenSettings table header":            `(?m)^NAME\s+POLICY\s+TOKENS REQUIRED\s+MAX ACTIVE\s+ACTIVE\s+READY\s+AGE$`,
		"FalconTokenSettings Ready row":               `(?m)^account\s+Enforce\s+true\s+50\s+\d+\s+True\s+`,
		"masked CID":                                  `(?m)^\s+FALCONCTL_OPT_CID=\*{8} \(\d+ bytes\)$`,
		"masked provisioning token":                   `(?m)^\s+FALCONCTL_OPT_PROVISIONING_TOKEN=\*{8} \(\d+ bytes\)$`,
		"cluster token's copies compared":             `(?m)^\s+the 3 copies hold the same data$`,
		"Created event":                               `(?m)^falcon-system\s+\S+\s+Normal\s+Created\s+falconinstallationtoken/falcon-sensor\s`,
		"cluster token's Created event":               `(?m)^default\s+\S+\s+Normal\s+Created\s+clusterfalconinstallationtoken/falcon-platform\s`,
		"kubeconfig to keep exploring":                `(?m)^\s+export KUBECONFIG=/\S+$`,
		"kubectl to keep exploring":                   `(?m)^\s+kubectl get fit,cfit,fts -A -o wide$`,
	} {
		if !regexp.MustCompile(pattern).MatchString(output) {
			t.Errorf("the output lacks the %s (%s)", what, pattern)
		}
	}

	// The cluster token's row names the namespaces it is published in, however the column
	// spells the list.
	row := regexp.MustCompile(`(?m)^falcon-platform\s+True\s+valid\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+falcon-platform-token\s+(.*)$`).FindStringSubmatch(output)
	if row == nil {
		t.Errorf("the output lacks the ClusterFalconInstallationToken Ready row")
	}
	for _, ns := range clusterTokenNamespaces {
		if row != nil && !strings.Contains(row[1], ns) {
			t.Errorf("the ClusterFalconInstallationToken row does not name %s: %q", ns, row[0])
		}
		// One line per copy of the cluster token's Secret, keys only.
		copyLine := `(?m)^\s+` + regexp.QuoteMeta(ns) + `\s+FALCONCTL_OPT_CID=\*{8} \(\d+ bytes\)\s+FALCONCTL_OPT_PROVISIONING_TOKEN=\*{8} \(\d+ bytes\)$`
		if !regexp.MustCompile(copyLine).MatchString(output) {
			t.Errorf("the output lacks the masked keys of the cluster token's Secret in %s (%s)", ns, copyLine)
		}
	}

	// Every mention of the token key must be masked: no 8-hex token value follows it.
	if leak := regexp.MustCompile(`FALCONCTL_OPT_PROVISIONING_TOKEN=[^*]`).FindString(output); leak != "" {
		t.Errorf("the output shows a token value: %q", leak)
	}
	assertNothingLeftBehind(t, output)
}

// TestDemoServesKubectlUntilCtrlC checks, with the kubeconfig the demo prints, what a person
// exploring with kubectl finds while the demo stays up, then that Ctrl-C stops everything.
func TestDemoServesKubectlUntilCtrlC(t *testing.T) {
	var kubeconfig string
	var secretValues [][]byte
	// A terminal's Ctrl-C signals the whole foreground process group, children included.
	interrupt := func(line string, demo *exec.Cmd) {
		if m := regexp.MustCompile(`^\s+kubeconfig (/\S+)$`).FindStringSubmatch(line); m != nil {
			kubeconfig = m[1]
		}
		if strings.Contains(line, "stays up until Ctrl-C") {
			secretValues = checkWithKubectl(t, kubeconfig)
			_ = syscall.Kill(-demo.Process.Pid, syscall.SIGINT)
		}
	}
	output, err := runDemo(t, nil, interrupt)
	if err != nil {
		t.Fatalf("the demo failed, or did not exit cleanly on Ctrl-C: %v", err)
	}
	if secretValues == nil {
		t.Errorf("the demo never said it stays up until Ctrl-C")
	}
	for _, value := range secretValues {
		if strings.Contains(output, string(value)) {
			t.Errorf("the output shows a value of the cluster token's Secret (%d bytes)", len(value))
		}
	}
	assertNothingLeftBehind(t, output)
}

// clusterTokenNamespaces are where the demo's ClusterFalconInstallationToken publishes its
// Secret: the two namespaces the sample lists and the one the demo labels for its selector.
var clusterTokenNamespaces = []string{"edge-sensors", "falcon-kac", "falcon-system"}

// checkWithKubectl reads, as kubectl would with the demo's kubeconfig, the sample
// ClusterFalconInstallationToken and its Secrets: Ready, published in the three namespaces, the
// same data in each. It returns the Secret's values, which the demo's output must not show. It
// only reports errors: the demo must be interrupted whatever happens.
func checkWithKubectl(t *testing.T, kubeconfig string) [][]byte {
	t.Helper()
	if kubeconfig == "" {
		t.Errorf("the demo is up but never named its kubeconfig")
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Errorf("load the demo's kubeconfig: %v", err)
		return nil
	}
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Errorf("a client for the demo's control plane: %v", err)
		return nil
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		t.Errorf("a client for the demo's control plane: %v", err)
		return nil
	}

	cfit := schema.GroupVersionResource{Group: "falcon.falconops.io", Version: "v1alpha1", Resource: "clusterfalconinstallationtokens"}
	token, err := dyn.Resource(cfit).Get(ctx, "falcon-platform", metav1.GetOptions{})
	if err != nil {
		t.Errorf("kubectl get cfit falcon-platform: %v", err)
		return nil
	}
	if ready := testutil.ReadyCondition(token); ready == nil || ready.Status != metav1.ConditionTrue {
		t.Errorf("ClusterFalconInstallationToken falcon-platform is not Ready: %+v", ready)
	}
	published, _, _ := unstructured.NestedStringSlice(token.Object, "status", "publishedNamespaces")
	if !slices.Equal(published, clusterTokenNamespaces) {
		t.Errorf("ClusterFalconInstallationToken falcon-platform is published in %v, want %v", published, clusterTokenNamespaces)
	}
	secretName, _, _ := unstructured.NestedString(token.Object, "status", "secretName")
	if secretName != "falcon-platform-token" {
		t.Errorf("ClusterFalconInstallationToken falcon-platform reports the Secret %q, want falcon-platform-token", secretName)
	}

	var first *corev1.Secret
	for _, ns := range clusterTokenNamespaces {
		secret, err := kube.CoreV1().Secrets(ns).Get(ctx, "falcon-platform-token", metav1.GetOptions{})
		if err != nil {
			t.Errorf("kubectl get secret -n %s falcon-platform-token: %v", ns, err)
			continue
		}
		for _, key := range []string{"FALCONCTL_OPT_CID", "FALCONCTL_OPT_PROVISIONING_TOKEN"} {
			if len(secret.Data[key]) == 0 {
				t.Errorf("the Secret falcon-platform-token in %s has no %s", ns, key)
			}
		}
		if first == nil {
			first = secret
			continue
		}
		// Compared without printing: the values are secret.
		if secret.Type != first.Type || !maps.EqualFunc(secret.Data, first.Data, bytes.Equal) {
			t.Errorf("the Secret falcon-platform-token in %s differs from the one in %s", ns, first.Namespace)
		}
	}
	if first == nil {
		return nil
	}
	return slices.Collect(maps.Values(first.Data))
}

// runDemo runs the demo from the repository root in its own process group, with the real
// Falcon credentials of the environment removed, calling onLine for each line it prints. The
// whole output is logged when the test fails.
func runDemo(t *testing.T, env []string, onLine func(line string, demo *exec.Cmd)) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	demo := exec.CommandContext(ctx, filepath.Join(binaries.dir, "demo"),
		"--manager", filepath.Join(binaries.dir, "manager"),
		"--simulator", filepath.Join(binaries.dir, "falcon-simulator"))
	demo.Dir = binaries.root
	demo.Env = append(withoutFalconCredentials(os.Environ()), append(env, "KUBEBUILDER_ASSETS="+binaries.assets)...)
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On timeout, interrupt rather than kill, so the demo still stops what it started.
	demo.Cancel = func() error { return demo.Process.Signal(os.Interrupt) }
	demo.WaitDelay = time.Minute
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = demo.Stdout
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}

	var output strings.Builder
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", output.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		output.WriteString(lines.Text() + "\n")
		if onLine != nil {
			onLine(lines.Text(), demo)
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = demo.Wait()
	if ctx.Err() != nil {
		err = fmt.Errorf("no exit within %s: %w", demoTimeout, err)
	}
	return output.String(), err
}

// withoutFalconCredentials keeps a developer's real Falcon API client out of the test: with it
// the demo would create tokens in a real account.
func withoutFalconCredentials(env []string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "FALCON_CLIENT_ID", "FALCON_CLIENT_SECRET", "FALCON_CLOUD", "DEMO_EXIT":
		default:
			kept = append(kept, kv)
		}
	}
	return kept
}

// assertNothingLeftBehind checks, from the addresses, process IDs and paths the demo printed,
// that its processes are gone, their ports closed and its temporary directory removed.
func assertNothingLeftBehind(t *testing.T, output string) {
	t.Helper()
	stopped := regexp.MustCompile(`(?m)^\s+stop (\S+) \(pid (\d+)\)$`).FindAllStringSubmatch(output, -1)
	if len(stopped) != 2 {
		t.Errorf("want the demo to stop 2 processes (manager, falcon-simulator), it stopped %d", len(stopped))
	}
	for _, process := range stopped {
		pid, err := strconv.Atoi(process[2])
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) is still there after the demo exited", process[1], pid)
		}
	}

	endpoints := regexp.MustCompile(`kube-apiserver (https://\S+), etcd (http://\S+) `).FindStringSubmatch(output)
	if endpoints == nil {
		t.Errorf("the output does not say where kube-apiserver and etcd listen")
	} else {
		for _, raw := range endpoints[1:] {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
				_ = conn.Close()
				t.Errorf("%s still accepts connections after the demo exited", raw)
			}
		}
	}

	kubeconfig := regexp.MustCompile(`(?m)^\s+kubeconfig (/\S+)$`).FindStringSubmatch(output)
	if kubeconfig == nil {
		t.Errorf("the output does not name the kubeconfig")
		return
	}
	if _, err := os.Stat(filepath.Dir(kubeconfig[1])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's temporary directory %s is still there (stat: %v)", filepath.Dir(kubeconfig[1]), err)
	}
}
