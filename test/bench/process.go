package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// buildManager builds the manager binary the way `make build` does.
func buildManager(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	build.Dir = root
	if output, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build the manager: %v\n%s", err, output)
	}
	return out, nil
}

// kubeconfig writes an admin kubeconfig for the manager binary, once.
func (b *bench) kubeconfig() (string, error) {
	path := filepath.Join(b.cfg.WorkDir, "kubeconfig")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	user, err := b.env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, 0o600)
}

// rssOf runs the manager binary against the cluster as it is, lets it reconcile everything,
// and reports its resident set (median of samples over five seconds) and its peak.
func (b *bench) rssOf(ctx context.Context, binary, label string) (rssKiB, peakKiB int64, err error) {
	kubeconfig, err := b.kubeconfig()
	if err != nil {
		return 0, 0, err
	}
	probe, err := freeAddress()
	if err != nil {
		return 0, 0, err
	}
	logPath := filepath.Join(b.cfg.WorkDir, "manager-"+label+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(binary,
		"--metrics-bind-address=0",
		"--health-probe-bind-address="+probe,
		"--sync-period="+b.cfg.SyncPeriod.String(),
		"--max-concurrent-reconciles="+strconv.Itoa(b.cfg.Workers),
		"--kube-api-qps="+strconv.FormatFloat(float64(b.cfg.KubeAPIQPS), 'f', -1, 32),
		"--kube-api-burst="+strconv.Itoa(b.cfg.KubeAPIBurst),
		"--cloud-endpoint=sim="+b.server.URL,
		"--allow-insecure-endpoints",
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	if err := waitReadyz(ctx, "http://"+probe+"/readyz", exited); err != nil {
		return 0, 0, fmt.Errorf("manager binary (log %s): %w", logPath, err)
	}
	if err := sleep(ctx, settleTime(b.cfg)); err != nil {
		return 0, 0, err
	}
	var samples []int64
	for range 20 {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return 0, 0, fmt.Errorf("manager binary exited (log %s): %w", logPath, err)
		}
		samples = append(samples, procField(string(status), "VmRSS"))
		peakKiB = procField(string(status), "VmHWM")
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
	slices.Sort(samples)
	return samples[len(samples)/2], peakKiB, nil
}

func waitReadyz(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer within a minute", url)
}

func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
