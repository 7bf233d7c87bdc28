// Command manager runs falcon-token-operator: the controllers for FalconInstallationToken,
// ClusterFalconInstallationToken and FalconTokenSettings. This file holds the flags and the
// manager wiring, nothing else.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/controller"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

func main() {
	var (
		metricsAddr, probeAddr, pprofAddr, leaderElectionNamespace, watchNamespaces, clusterName string
		clusterResourceNamespace                                                                 string
		secureMetrics, enableLeaderElection, enableHTTP2, allowInsecureEndpoints                 bool
		syncPeriod, leaseDuration, renewDeadline, retryPeriod                                    time.Duration
		maxConcurrentReconciles                                                                  int
		cloudEndpoints                                                                           = cloudEndpointFlag{}
	)
	var (
		kubeAPIQPS   float64
		kubeAPIBurst int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address the metrics endpoint binds to, such as :8443 (HTTPS) or :8080 (HTTP); 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address Go's pprof endpoints (/debug/pprof/) bind to, such as 127.0.0.1:8082; 0 disables them.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false, "Elect a leader so that only one manager replica reconciles at a time.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election lease; defaults to the pod's namespace.")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a standby replica waits before taking over the lease of a leader that stopped renewing it.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps trying to renew its lease before it gives up leadership.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the lease.")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch for FalconInstallationTokens and their Secrets; empty watches all.")
	flag.DurationVar(&syncPeriod, "sync-period", 10*time.Minute, "How often tokens and settings are compared with Falcon to find changes made in the console.")
	flag.Var(cloudEndpoints, "cloud-endpoint",
		"NAME=URL: a Falcon API endpoint that resources may name in spec.falconAPI.cloud (a proxy, a private endpoint). Repeatable.")
	flag.StringVar(&clusterResourceNamespace, "cluster-resource-namespace", "",
		"Namespace the cluster-scoped kinds (ClusterFalconInstallationToken, FalconTokenSettings) read their credentials Secret from; "+
			"defaults to the operator's own namespace ($POD_NAMESPACE, or the service account's).")
	flag.BoolVar(&allowInsecureEndpoints, "allow-insecure-endpoints", false,
		"Accept http:// URLs in --cloud-endpoint, which send the API credentials unencrypted: for the Falcon simulator and local proxies only.")
	flag.StringVar(&clusterName, "cluster-name", "", "Prefix of default token labels, <cluster>/<namespace>/<name>, for many clusters sharing one CID.")
	flag.IntVar(&maxConcurrentReconciles, "max-concurrent-reconciles", 5, "Reconciles that run at once per kind.")
	flag.Float64Var(&kubeAPIQPS, "kube-api-qps", 20,
		"Requests per second the manager sends to the Kubernetes API server at most (client-side rate limit); raise it with many resources.")
	flag.IntVar(&kubeAPIBurst, "kube-api-burst", 30, "Requests the manager may send to the Kubernetes API server in a burst above --kube-api-qps.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 (off by default against HTTP/2 rapid-reset attacks).")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")
	if clusterResourceNamespace == "" {
		clusterResourceNamespace = ownNamespace()
	}
	if clusterResourceNamespace == "" {
		setupLog.Error(nil, "cannot tell the operator's namespace: set --cluster-resource-namespace")
		os.Exit(1)
	}
	if err := run(runConfig{
		metricsAddr: metricsAddr, probeAddr: probeAddr, pprofAddr: pprofAddr, secureMetrics: secureMetrics, enableHTTP2: enableHTTP2,
		leaderElect: enableLeaderElection, leaderElectionNamespace: leaderElectionNamespace,
		leaseDuration: leaseDuration, renewDeadline: renewDeadline, retryPeriod: retryPeriod,
		namespaces: splitList(watchNamespaces), endpoints: cloudEndpoints, allowInsecureEndpoints: allowInsecureEndpoints,
		kubeAPIQPS: float32(kubeAPIQPS), kubeAPIBurst: kubeAPIBurst,
		options: controller.Options{
			SyncPeriod:               syncPeriod,
			ClusterName:              clusterName,
			ClusterResourceNamespace: clusterResourceNamespace,
			MaxConcurrentReconciles:  maxConcurrentReconciles,
			Clock:                    clock.RealClock{},
		},
	}); err != nil {
		setupLog.Error(err, "manager stopped")
		os.Exit(1)
	}
}

type runConfig struct {
	metricsAddr, probeAddr, pprofAddr, leaderElectionNamespace string
	secureMetrics, enableHTTP2, leaderElect                    bool
	allowInsecureEndpoints                                     bool
	leaseDuration, renewDeadline, retryPeriod                  time.Duration
	namespaces                                                 []string
	endpoints                                                  cloudEndpointFlag
	kubeAPIQPS                                                 float32
	kubeAPIBurst                                               int
	options                                                    controller.Options
}

func run(cfg runConfig) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(falconv1alpha1.AddToScheme(scheme))

	endpoints, err := falcon.NewEndpoints(cfg.endpoints, cfg.allowInsecureEndpoints)
	if err != nil {
		return fmt.Errorf("--cloud-endpoint: %w", err)
	}
	cfg.options.Endpoints = endpoints
	cfg.options.Clients = falcon.NewCache(nil)

	var tlsOpts []func(*tls.Config)
	if !cfg.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: cfg.metricsAddr, SecureServing: cfg.secureMetrics, TLSOpts: tlsOpts}
	if cfg.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	restConfig := ctrl.GetConfigOrDie()
	restConfig.QPS, restConfig.Burst = cfg.kubeAPIQPS, cfg.kubeAPIBurst
	// Each open watch would hold a gzip reader (32 KiB) for a saving the cluster network does not
	// need; the credentials watches are many.
	restConfig.DisableCompression = true
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  cfg.probeAddr,
		PprofBindAddress:        cfg.pprofAddr,
		LeaderElection:          cfg.leaderElect,
		LeaderElectionID:        "falcon-token-operator.falconops.io",
		LeaderElectionNamespace: cfg.leaderElectionNamespace,
		LeaseDuration:           &cfg.leaseDuration,
		RenewDeadline:           &cfg.renewDeadline,
		RetryPeriod:             &cfg.retryPeriod,
		// The manager exits right after its controllers stop, so the lease can be released at once
		// and a standby replica takes over without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controller.CacheOptions(cfg.namespaces),
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := controller.SetupWithManager(mgr, cfg.options); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "syncPeriod", cfg.options.SyncPeriod.String(), "namespaces", cfg.namespaces,
		"clusterResourceNamespace", cfg.options.ClusterResourceNamespace)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// cloudEndpointFlag collects repeated --cloud-endpoint NAME=URL flags.
type cloudEndpointFlag map[string]string

func (f cloudEndpointFlag) String() string {
	pairs := make([]string, 0, len(f))
	for name, url := range f {
		pairs = append(pairs, name+"="+url)
	}
	return strings.Join(pairs, ",")
}

func (f cloudEndpointFlag) Set(value string) error {
	name, url, ok := strings.Cut(value, "=")
	if !ok || name == "" || url == "" {
		return fmt.Errorf("want NAME=URL, got %q", value)
	}
	if _, dup := f[name]; dup {
		return fmt.Errorf("cloud endpoint %q given twice", name)
	}
	f[name] = url
	return nil
}

// ownNamespace is the namespace the manager runs in: POD_NAMESPACE (the downward API), else the
// service account's; "" outside a pod.
func ownNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	raw, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
