package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// controlPlane is a local kube-apiserver and etcd with the CRDs installed.
type controlPlane struct {
	config       *rest.Config // the admin user's
	kubeconfig   string       // path of the admin user's kubeconfig
	apiServerURL string
	etcdURL      string
}

// startControlPlane starts kube-apiserver and etcd from assetsDir, keeping their data and
// certificates under tmp, installs the CRDs from crdDir and writes an admin kubeconfig.
func startControlPlane(assetsDir, crdDir, tmp string, cleanup *teardown) (*controlPlane, error) {
	heading("starting kube-apiserver and etcd from %s", assetsDir)
	started := time.Now()
	etcdDir, certDir := filepath.Join(tmp, "etcd"), filepath.Join(tmp, "apiserver")
	for _, dir := range []string{etcdDir, certDir} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assetsDir,
		CRDDirectoryPaths:        []string{crdDir},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{DataDir: etcdDir},
			APIServer: &envtest.APIServer{CertDir: certDir},
		},
	}
	// Registered before Start: a start that fails half way may have left etcd running.
	cleanup.add("stop kube-apiserver and etcd", func(context.Context) error { return env.Stop() })
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("start the control plane: %w", err)
	}

	admin, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, &rest.Config{QPS: 50, Burst: 100})
	if err != nil {
		return nil, fmt.Errorf("add the admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return nil, err
	}
	plane := &controlPlane{
		config:       admin.Config(),
		kubeconfig:   filepath.Join(tmp, "kubeconfig"),
		apiServerURL: strings.TrimSuffix(admin.Config().Host, "/"),
		etcdURL:      env.ControlPlane.Etcd.URL.String(),
	}
	if err := os.WriteFile(plane.kubeconfig, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	detail("kube-apiserver %s, etcd %s (up in %s)", plane.apiServerURL, plane.etcdURL, time.Since(started).Round(100*time.Millisecond))
	detail("kubeconfig %s", plane.kubeconfig)
	return plane, nil
}

// newClient returns a client for the control plane that knows the built-in kinds; the samples
// are handled as unstructured objects.
func newClient(config *rest.Config) (client.Client, error) {
	return client.New(config, client.Options{Scheme: clientgoscheme.Scheme})
}
