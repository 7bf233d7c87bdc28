package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// managerReadyTimeout bounds the wait for the manager's /readyz.
const managerReadyTimeout = 30 * time.Second

// demoClusterName prefixes the labels of the tokens the demo creates, so they are easy to find
// in the Falcon console.
const demoClusterName = "falcon-demo"

// clusterResourceNamespace is the manager's --cluster-resource-namespace, where the cluster-scoped
// kinds read their credentials Secret: the namespace of the samples' FalconInstallationToken, so
// that one credentials Secret serves all three kinds. Outside a pod the manager needs the flag.
const clusterResourceNamespace = "falcon-system"

// startManager starts the manager binary against the control plane and waits for its /readyz.
func startManager(ctx context.Context, binary, kubeconfig, tmp string, t target, cleanup *teardown) (*child, error) {
	heading("starting the manager")
	probeAddr, err := freeLocalAddress()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--metrics-bind-address=0",
		"--health-probe-bind-address=" + probeAddr,
		"--sync-period=30s",
		"--cluster-name=" + demoClusterName,
		"--cluster-resource-namespace=" + clusterResourceNamespace,
		"--zap-encoder=console",
	}
	if t.cloudEndpoint != "" {
		args = append(args, "--cloud-endpoint="+t.cloudEndpoint, "--allow-insecure-endpoints") // the simulator serves http
	}
	logPath := filepath.Join(tmp, "manager.log")
	manager, err := startChild("manager", logPath, childEnv("KUBECONFIG="+kubeconfig), cleanup, binary, args...)
	if err != nil {
		return nil, err
	}
	readyz := "http://" + probeAddr + "/readyz"
	if err := waitHTTPOK(ctx, readyz, manager); err != nil {
		return nil, err
	}
	detail("pid %d, ready at %s, log %s", manager.pid(), readyz, logPath)
	detail("cluster-scoped kinds read their credentials in %s (--cluster-resource-namespace)", clusterResourceNamespace)
	return manager, nil
}

// waitHTTPOK polls url until it answers 200, the process exits, or managerReadyTimeout passes.
func waitHTTPOK(ctx context.Context, url string, process *child) error {
	ctx, cancel := context.WithTimeout(ctx, managerReadyTimeout)
	defer cancel()
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for {
		if ok, _ := httpOK(ctx, url); ok {
			return nil
		}
		select {
		case <-process.exited:
			return process.exitError()
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("%s did not answer %s within %s; the end of its log:\n%s", process.name, url, managerReadyTimeout, logTail(process.logPath))
			}
			return ctx.Err()
		case <-poll.C:
		}
	}
}

func httpOK(ctx context.Context, url string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	_ = resp.Body.Close() // only the status matters
	return resp.StatusCode == http.StatusOK, nil
}

// freeLocalAddress returns a loopback address with a port nothing listens on right now.
func freeLocalAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
