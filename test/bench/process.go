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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// rssSamples of the resident set are taken rssEvery apart once the manager has verified
// every resource; their median is its RSS.
const (
	rssSamples = 20
	rssEvery   = 250 * time.Millisecond
)

// runBinary runs the manager binary against the cluster as it is, waits until it has verified
// the resources keys (waitVerified, on its /metrics), and samples its resident set: the sample
// has all but the Go heap, which is the in-process manager's. With profile,
// its CPU is profiled from its start until the samples are taken (its start-up with every
// resource in place, then a few seconds of steady state), and its heap at the end; the
// profiles go to cfg.ProfileDir.
func (b *bench) runBinary(ctx context.Context, binary, label string, keys []types.NamespacedName, profile bool) (
	sample MemorySample, profiles *Profiles, err error) {
	kubeconfig, err := b.kubeconfig()
	if err != nil {
		return sample, nil, err
	}
	probe, err := freeAddress()
	if err != nil {
		return sample, nil, err
	}
	metricsAddr, err := freeAddress()
	if err != nil {
		return sample, nil, err
	}
	pprofAddr := "0"
	if profile {
		if pprofAddr, err = freeAddress(); err != nil {
			return sample, nil, err
		}
		if err := os.MkdirAll(b.cfg.ProfileDir, 0o755); err != nil {
			return sample, nil, err
		}
	}
	logPath := filepath.Join(b.cfg.WorkDir, "manager-"+label+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return sample, nil, err
	}
	defer func() { _ = logFile.Close() }()
	b.reads.reset()
	cmd := exec.Command(binary,
		"--metrics-bind-address="+metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address="+probe,
		"--pprof-bind-address="+pprofAddr,
		"--sync-period="+b.cfg.SyncPeriod.String(),
		"--max-concurrent-reconciles="+strconv.Itoa(b.cfg.Workers),
		"--kube-api-qps="+strconv.FormatFloat(float64(b.cfg.KubeAPIQPS), 'f', -1, 32),
		"--kube-api-burst="+strconv.Itoa(b.cfg.KubeAPIBurst),
		"--cloud-endpoint=sim="+b.server.URL,
		"--allow-insecure-endpoints",
		"--cluster-resource-namespace="+operatorNamespace,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return sample, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		kill := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
		defer kill.Stop()
		// The exit status after SIGTERM (or SIGKILL) says nothing the run needs.
		status := <-exited
		_ = status
	}()
	failed := func(err error) (MemorySample, *Profiles, error) {
		return sample, nil, fmt.Errorf("manager binary (log %s): %w", logPath, err)
	}
	if err := waitReadyz(ctx, "http://"+probe+"/readyz", exited); err != nil {
		return failed(err)
	}
	var profiler *cpuProfiler
	if profile {
		profiler = startCPUProfile(ctx, "http://"+pprofAddr, b.cfg.ProfileDir)
	}
	if err := b.waitReconciling(ctx); err != nil {
		return failed(err)
	}
	verified, err := b.waitVerified(ctx, scrapeMetrics("http://"+metricsAddr+"/metrics"), keys, controllerState{})
	if err != nil {
		return failed(err)
	}
	sample.Verified = metav1.Duration{Duration: verified.Sub(started).Round(10 * time.Millisecond)}
	var samples []int64
	for range rssSamples {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return failed(fmt.Errorf("exited: %w", err))
		}
		samples = append(samples, procField(string(status), "VmRSS"))
		sample.PeakRSSKiB = procField(string(status), "VmHWM")
		if err := sleep(ctx, rssEvery); err != nil {
			return sample, nil, err
		}
	}
	slices.Sort(samples)
	sample.RSSKiB = samples[len(samples)/2]
	if profiler != nil {
		if profiles, err = profiler.stop(ctx); err != nil {
			return failed(err)
		}
	}
	return sample, profiles, nil
}

func waitReadyz(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
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
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
