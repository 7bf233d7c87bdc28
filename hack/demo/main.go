// Command demo runs falcon-token-operator end to end on this machine: a local control plane
// (kube-apiserver and etcd), the Falcon API simulator or the real Falcon cloud, and the manager
// binary as its own process, with config/samples applied. It prints what the operator made and
// stays up for exploring with kubectl until Ctrl-C. `make demo` builds what it needs and runs it.
//
// Environment:
//
//	KUBEBUILDER_ASSETS                  directory holding kube-apiserver and etcd (hack/setup-envtest.sh)
//	FALCON_CLIENT_ID, FALCON_CLIENT_SECRET  use the real Falcon cloud instead of the simulator
//	FALCON_CLOUD                        with the above: the cloud of that API client (default autodiscover)
//	DEMO_EXIT=1                         exit after printing instead of waiting for Ctrl-C
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// readyTimeout bounds the wait for every sample to become Ready.
const readyTimeout = 2 * time.Minute

type options struct {
	assetsDir       string
	managerBinary   string
	simulatorBinary string
	crdDir          string
	samplesDir      string
	exitAfterReport bool
	realCloud       *realCloud // nil: the simulator
}

func main() {
	opts, err := parseOptions()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	os.Exit(run(opts))
}

func parseOptions() (options, error) {
	opts := options{
		assetsDir:       os.Getenv("KUBEBUILDER_ASSETS"),
		exitAfterReport: os.Getenv("DEMO_EXIT") == "1",
	}
	flag.StringVar(&opts.managerBinary, "manager", "bin/manager", "The manager binary (make build).")
	flag.StringVar(&opts.simulatorBinary, "simulator", "bin/falcon-simulator", "The Falcon API simulator binary (make build-simulator).")
	flag.StringVar(&opts.crdDir, "crds", "config/crd/bases", "Directory of the CRDs to install.")
	flag.StringVar(&opts.samplesDir, "samples", "config/samples", "Directory of the sample resources to apply.")
	flag.Parse()
	if opts.assetsDir == "" {
		return opts, errors.New("KUBEBUILDER_ASSETS is not set: run `make demo`, or set it to the output of hack/setup-envtest.sh")
	}
	cloud, err := realCloudFromEnv()
	if err != nil {
		return opts, err
	}
	opts.realCloud = cloud
	return opts, nil
}

// run returns the process exit code. Whatever happens, every process it started is stopped and
// its temporary directory removed before it returns.
func run(opts options) int {
	// envtest logs through controller-runtime; its messages are not part of the demo's output.
	ctrllog.SetLogger(logr.Discard())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	go func() {
		<-signals
		cancel()
		// Later signals must not kill the demo mid-cleanup: its children run in their own process
		// groups and would be left behind.
		for range signals {
			fmt.Println("    stopping; every step has a time limit, please wait")
		}
	}()

	var cleanup teardown
	err := demo(ctx, opts, &cleanup)
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Println("\ninterrupted")
	case err != nil:
		fmt.Printf("\nDEMO FAILED: %v\n", err)
	}
	cleanupFailed := cleanup.run()
	switch {
	case ctx.Err() != nil && err != nil:
		return 130 // interrupted before the demo was up
	case err != nil || cleanupFailed:
		return 1
	}
	return 0
}

func demo(ctx context.Context, opts options, cleanup *teardown) error {
	tmp, err := os.MkdirTemp("", "falcon-demo-")
	if err != nil {
		return err
	}
	cleanup.add("remove "+tmp, func(context.Context) error { return os.RemoveAll(tmp) })

	plane, err := startControlPlane(opts.assetsDir, opts.crdDir, tmp, cleanup)
	if err != nil {
		return err
	}

	target, err := falconTarget(ctx, opts, tmp, cleanup)
	if err != nil {
		return err
	}

	manager, err := startManager(ctx, opts.managerBinary, plane.kubeconfig, tmp, target, cleanup)
	if err != nil {
		return err
	}

	c, err := newClient(plane.config)
	if err != nil {
		return err
	}
	samples, err := loadSamples(opts.samplesDir)
	if err != nil {
		return err
	}
	if target.real {
		// Registered before applying: a token may exist as soon as its object does.
		cleanup.add("delete the token samples so that their real tokens are revoked", func(ctx context.Context) error {
			return revokeTokens(ctx, c, samples, manager)
		})
	}
	if err := applySamples(ctx, c, opts.samplesDir, samples, target); err != nil {
		return err
	}

	if err := waitReady(ctx, c, samples, manager); err != nil {
		return err
	}

	if err := report(ctx, c, plane, samples, manager); err != nil {
		return err
	}
	if opts.exitAfterReport {
		return nil
	}
	fmt.Println("\nThe demo stays up until Ctrl-C.")
	<-ctx.Done()
	return nil
}
