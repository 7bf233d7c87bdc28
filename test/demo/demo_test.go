// Package demo_test runs the demo (hack/demo, what `make demo` runs) end to end against the
// Falcon simulator and checks what a person sees: the tables, the masked Secret, the way to
// keep exploring, and that nothing it started outlives it.
package demo_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	defer os.RemoveAll(dir)
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
		"FalconInstallationToken table header": `(?m)^NAME\s+READY\s+STATUS\s+EXPIRES\s+SECRET\s+AGE$`,
		"FalconInstallationToken Ready row":    `(?m)^falcon-sensor\s+True\s+valid\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+falcon-sensor-token\s+`,
		"FalconTokenSettings table header":     `(?m)^NAME\s+POLICY\s+TOKENS REQUIRED\s+MAX ACTIVE\s+ACTIVE\s+READY\s+AGE$`,
		"FalconTokenSettings Ready row":        `(?m)^account\s+Enforce\s+true\s+50\s+\d+\s+True\s+`,
		"masked CID":                           `(?m)^\s+FALCONCTL_OPT_CID=\*{8} \(\d+ bytes\)$`,
		"masked provisioning token":            `(?m)^\s+FALCONCTL_OPT_PROVISIONING_TOKEN=\*{8} \(\d+ bytes\)$`,
		"Created event":                        `(?m)^falcon-system\s+\S+\s+Normal\s+Created\s+falconinstallationtoken/falcon-sensor\s`,
		"kubeconfig to keep exploring":         `(?m)^\s+export KUBECONFIG=/\S+$`,
		"kubectl to keep exploring":            `(?m)^\s+kubectl get fit,fts -A -o wide$`,
	} {
		if !regexp.MustCompile(pattern).MatchString(output) {
			t.Errorf("the output lacks the %s (%s)", what, pattern)
		}
	}
	// Every mention of the token key must be masked: no 8-hex token value follows it.
	if leak := regexp.MustCompile(`FALCONCTL_OPT_PROVISIONING_TOKEN=[^*]`).FindString(output); leak != "" {
		t.Errorf("the output shows a token value: %q", leak)
	}
	assertNothingLeftBehind(t, output)
}

func TestDemoStopsEverythingOnCtrlC(t *testing.T) {
	// A terminal's Ctrl-C signals the whole foreground process group, children included.
	interrupt := func(line string, demo *exec.Cmd) {
		if strings.Contains(line, "stays up until Ctrl-C") {
			_ = syscall.Kill(-demo.Process.Pid, syscall.SIGINT)
		}
	}
	output, err := runDemo(t, nil, interrupt)
	if err != nil {
		t.Fatalf("the demo failed, or did not exit cleanly on Ctrl-C: %v", err)
	}
	assertNothingLeftBehind(t, output)
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
				conn.Close()
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
