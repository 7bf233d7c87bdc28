// Command bench measures what the operator costs per token: Falcon API calls and Kubernetes
// requests to create N tokens, what a restart costs until every resource is verified, Falcon
// calls, reconciles and Kubernetes writes to keep them in sync, OAuth fetches, requests sent
// during a 429 window, the time until all are Ready against its floors, and the manager's
// memory per 1,000 resources and with many unrelated Secrets in the cluster. It runs a local
// kube-apiserver and etcd (envtest), the Falcon simulator with a configurable latency and rate
// limit, and the manager: in this process for call and request counts and Go heap, as the built
// binary for its resident set and its CPU and heap profiles. It prints one table and writes it
// as JSON.
//
//	make bench                                  # N=500, 50ms per call
//	make bench BENCH_N=1000 BENCH_LATENCY=100ms
//	BENCH_SCALE=1 make bench                    # 5,000 resources in 500 namespaces (-scale)
//	go run ./test/bench -help
//
// KUBEBUILDER_ASSETS must name the envtest binaries (make sets it from hack/setup-envtest.sh).
// docs/performance.md holds a measured table and how to read it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	cfg := Config{Progress: os.Stderr}
	var jsonPath, workDir string
	flag.IntVar(&cfg.N, "n", 500, "FalconInstallationTokens to create")
	flag.IntVar(&cfg.Namespaces, "namespaces", 1, "namespaces to spread them over, each with its own credentials Secret")
	flag.DurationVar(&cfg.Latency, "latency", 50*time.Millisecond, "latency the simulator adds to every Falcon call")
	flag.IntVar(&cfg.RateLimit, "rate-limit", 6000, "Falcon requests per minute per customer account")
	flag.DurationVar(&cfg.SyncPeriod, "sync-period", 5*time.Second,
		"the manager's --sync-period after the create (short, so that steady state is measured over several)")
	flag.DurationVar(&cfg.CreateSyncPeriod, "create-sync-period", 10*time.Minute, "the manager's --sync-period during the create (the default)")
	flag.IntVar(&cfg.Periods, "periods", 5, "sync periods of steady state to count calls over")
	flag.IntVar(&cfg.Workers, "workers", 5, "the manager's --max-concurrent-reconciles")
	qps := flag.Float64("kube-api-qps", 500, "the manager's --kube-api-qps")
	flag.IntVar(&cfg.KubeAPIBurst, "kube-api-burst", 1000, "the manager's --kube-api-burst")
	flag.DurationVar(&cfg.RateLimitWindow, "rate-limit-window", 5*time.Second, "length of the forced 429 window")
	flag.IntVar(&cfg.RateLimitedCRs, "rate-limited", 50, "resources changed during the 429 window")
	flag.BoolVar(&cfg.Memory, "memory", true, "measure RSS and profiles (manager binary) and Go heap (in-process manager)")
	flag.IntVar(&cfg.Unrelated, "unrelated", 10000, "unrelated Secrets for the memory comparison (0: none)")
	flag.IntVar(&cfg.UnrelatedSize, "unrelated-size", 4096, "bytes of data in each unrelated Secret")
	flag.StringVar(&jsonPath, "json", "bin/bench.json", "where to write the results as JSON")
	flag.StringVar(&cfg.ProfileDir, "profile-dir", "bin/bench-profile", "where the manager binary's CPU and heap profiles and their tops go")
	strict := flag.Bool("strict", false, "exit with status 2 when a target is missed")
	flag.StringVar(&workDir, "workdir", "", "where the manager's logs and binary go (default: a temporary directory, kept on failure)")
	scale := flag.Bool("scale", false, "the scale run: "+describePreset(scalePreset)+"; flags given explicitly win")
	flag.Parse()
	if *scale {
		if err := applyPreset(scalePreset); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	cfg.KubeAPIQPS = float32(*qps)

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	res, err := run(ctx, &cfg, workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, res)
	if jsonPath != "" {
		if err := writeJSON(jsonPath, res); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, ">> results written to %s\n", jsonPath)
	}
	var missed []string
	for _, t := range res.Targets {
		if !t.Met {
			missed = append(missed, t.Name)
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(os.Stderr, ">> %d of %d targets missed: %s (docs/performance.md says why)\n", len(missed), len(res.Targets), strings.Join(missed, "; "))
		if *strict {
			os.Exit(2)
		}
	}
}

// scalePreset is the scale run (docs/performance.md, "Scale"): 5,000 resources in 500
// namespaces, a sync period long enough for the drift check of 500 credentials, the
// Kubernetes client's rate limit raised, and no unrelated Secrets (that comparison is the
// default run's).
var scalePreset = [][2]string{
	{"n", "5000"}, {"namespaces", "500"}, {"latency", "50ms"},
	{"sync-period", "30s"}, {"periods", "2"},
	{"kube-api-qps", "200"}, {"kube-api-burst", "400"},
	{"unrelated", "0"},
	{"json", "bin/bench-scale.json"}, {"profile-dir", "bin/bench-scale-profile"},
}

// applyPreset sets the preset's flags that were not given on the command line.
func applyPreset(preset [][2]string) error {
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, kv := range preset {
		if given[kv[0]] {
			continue
		}
		if err := flag.Set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("-%s=%s: %w", kv[0], kv[1], err)
		}
	}
	return nil
}

func describePreset(preset [][2]string) string {
	parts := make([]string, 0, len(preset))
	for _, kv := range preset {
		parts = append(parts, "-"+kv[0]+"="+kv[1])
	}
	return strings.Join(parts, " ")
}

// run fills in the repository root and a work directory, then runs the benchmark.
func run(ctx context.Context, cfg *Config, workDir string) (*Result, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	cfg.Root = root
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make bench`, or export KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh)")
	}
	temporary := workDir == ""
	if temporary {
		if workDir, err = os.MkdirTemp("", "falcon-bench-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	cfg.WorkDir = workDir
	res, err := Run(ctx, *cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (logs in %s)", err, workDir)
	}
	if temporary {
		_ = os.RemoveAll(workDir)
	} else {
		_ = os.Remove(filepath.Join(workDir, "manager"))
	}
	return res, nil
}

// repoRoot is the nearest directory up from here that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func writeJSON(path string, res *Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// printTable prints the run as one table: what was measured, the value, the target and
// whether it was met.
func printTable(w io.Writer, res *Result) {
	cfg := res.Config
	_, _ = fmt.Fprintf(w, "\nfalcon-token-operator cost per token: %d tokens in %s, %s per Falcon call, %d workers, "+
		"sync period %s (create: %s), Falcon rate limit %d/min, --kube-api-qps=%g --kube-api-burst=%d\n",
		cfg.N, inNamespaces(cfg.Namespaces), cfg.Latency, cfg.Workers, cfg.SyncPeriod, cfg.CreateSyncPeriod, cfg.RateLimit, cfg.KubeAPIQPS, cfg.KubeAPIBurst)
	_, _ = fmt.Fprintf(w, "%s; %d CPUs, %s, %d MiB; %s; %s\n\n",
		res.Machine.CPU, res.Machine.CPUs, res.Machine.Kernel, res.Machine.MemoryMiB, res.Machine.Go, res.Date)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "MEASUREMENT\tVALUE\tTARGET\tMET")
	target := map[string]TargetResult{}
	for _, t := range res.Targets {
		target[t.Name] = t
	}
	row := func(name, value, targetName string) {
		t, ok := target[targetName]
		if !ok {
			_, _ = fmt.Fprintf(tw, "%s\t%s\t\t\n", name, value)
			return
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, value, t.Target, yesNo(t.Met))
	}
	create := res.Create
	row("wall time until all Ready", create.Wall.Duration.Round(10*time.Millisecond).String(), "")
	row("  Falcon floor: N x create latency / workers", create.FalconFloor.Duration.String(), "")
	row("  Kubernetes floor: N x requests per token / QPS", create.KubeFloor.Duration.String(), "")
	row("  wall / Falcon floor", fmt.Sprintf("%.2f", create.Wall.Seconds()/create.FalconFloor.Seconds()), "wall time until all Ready / Falcon floor")
	largerFloor := max(create.FalconFloor.Seconds(), create.KubeFloor.Seconds())
	row("  wall / larger floor", fmt.Sprintf("%.2f", create.Wall.Seconds()/largerFloor), "wall time until all Ready / larger floor")
	if len(create.CPU) > 0 {
		names := []string{"kube-apiserver", "etcd", "manager+simulator+harness"}
		parts := make([]string, 0, len(names))
		for _, name := range names {
			parts = append(parts, fmt.Sprintf("%s %.1fs", name, create.CPU[name]))
		}
		row("  CPU time meanwhile", strings.Join(parts, ", "), "")
	}
	row("create: Falcon calls per new token", fmt.Sprintf("%.3f", create.CallsPerToken), "Falcon calls per new token")
	for _, op := range sortedOps(create.Calls) {
		row("  "+op+" per token", fmt.Sprintf("%.3f (%d)", float64(create.Calls[op])/float64(cfg.N), create.Calls[op]), "")
	}
	row("create: Kubernetes requests per created token", fmt.Sprintf("%.2f (%d)", create.KubePerToken, sum(create.Kube)), "Kubernetes requests per created token")
	for _, op := range byCount(create.Kube) {
		row("  "+op+" per token", fmt.Sprintf("%.3f (%d)", float64(create.Kube[op])/float64(cfg.N), create.Kube[op]), "")
	}
	row("  manager idle again after the last Ready", create.KubeSettledAt.Duration.String(), "")
	restart := res.Restart
	row("restart with all tokens in place: time until all verified", restart.Verified.Duration.String(), "restart: time until all verified")
	row("  Falcon calls until then", fmt.Sprintf("%d %v", sum(restart.Calls), restart.Calls), "restart: Falcon calls until all verified")
	row("  Kubernetes requests until then (writes)", fmt.Sprintf("%d (%d)", sum(restart.Kube), writes(restart.Kube)), "")
	for _, op := range byCount(restart.Kube) {
		row("    "+op, fmt.Sprint(restart.Kube[op]), "")
	}
	row("OAuth token fetches (create run, restarted run)", fmt.Sprint(res.OAuth), "OAuth fetches per credential per manager run")
	steady := res.Steady
	row(fmt.Sprintf("steady: Falcon calls per token per sync period (%d periods)", cfg.Periods),
		fmt.Sprintf("%.4f", steady.CallsPerTokenPerPeriod), "calls per token per sync period (steady)")
	for _, op := range sortedOps(steady.Calls) {
		row("  "+op, fmt.Sprint(steady.Calls[op]), "")
	}
	row("steady: reconciles per resource per sync period", fmt.Sprintf("%.3f (%d)", steady.ReconcilesPerResourcePerPeriod, steady.Reconciles), "")
	row("steady: Kubernetes writes per resource per sync period",
		fmt.Sprintf("%.4f (%d of %d requests)", steady.KubeWritesPerResourcePerPeriod, writes(steady.Kube), sum(steady.Kube)),
		"Kubernetes writes per resource per sync period (steady)")
	for _, op := range byCount(steady.Kube) {
		row("  "+op, fmt.Sprint(steady.Kube[op]), "")
	}
	row("console revoke replaced after", res.Drift.RevokedFoundAfter.Duration.String(), "console revoke/delete replaced within one period")
	row("console delete replaced after", res.Drift.DeletedFoundAfter.Duration.String(), "console revoke/delete replaced within one period")
	rl := res.RateLimit
	row(fmt.Sprintf("429 window (%s, %d resources changing): requests sent after the 429", rl.Window.Duration, min(cfg.RateLimitedCRs, cfg.N)),
		fmt.Sprint(rl.SentInWindow), "requests inside a 429 window after the 429")
	row("  answered 429 / of them sent before the first 429 came back", fmt.Sprintf("%d / %d", rl.Answered429, rl.InFlight), "")
	row("  all Ready again after the window", rl.Recovered.Duration.String(), "")
	if m := res.Memory; m != nil {
		row("manager RSS, empty cluster (peak)", fmt.Sprintf("%s (%s)", kib(m.Empty.RSSKiB), kib(m.Empty.PeakRSSKiB)), "")
		row(fmt.Sprintf("manager RSS, %d resources (peak)", cfg.N), fmt.Sprintf("%s (%s)", kib(m.Without.RSSKiB), kib(m.Without.PeakRSSKiB)), "")
		row("  RSS growth per 1,000 resources", fmt.Sprintf("%.1f MiB", m.RSSPerThousandMiB), "RSS growth per 1,000 resources")
		row("  manager binary: all verified after its start", m.Without.Verified.Duration.String(), "")
		row("manager Go heap after GC, empty cluster", mib(m.Empty.HeapBytes), "")
		row(fmt.Sprintf("manager Go heap after GC, %d resources", cfg.N), mib(m.Without.HeapBytes), "")
		row("  Go heap growth per 1,000 resources", fmt.Sprintf("%.1f MiB", m.HeapPerThousandMiB), "")
		if m.With != nil {
			row(fmt.Sprintf("manager RSS, %d unrelated %d B Secrets besides (peak)", cfg.Unrelated, cfg.UnrelatedSize),
				fmt.Sprintf("%s (%s)", kib(m.With.RSSKiB), kib(m.With.PeakRSSKiB)), "")
			row("  RSS with / without", fmt.Sprintf("%.3f", m.RSSRatio), "RSS with / without unrelated Secrets")
			row(fmt.Sprintf("manager Go heap after GC, %d unrelated Secrets besides", cfg.Unrelated), mib(m.With.HeapBytes), "")
		}
	}
	if p := res.Profiles; p != nil {
		row("manager binary profiles (its start-up with every resource in place)", p.CPUTop+", "+p.HeapTop, "")
	}
	row("benchmark run time", res.Elapsed.Duration.String(), "")
	_ = tw.Flush() // the table goes to standard output or a test log: nothing to do if it fails
	_, _ = fmt.Fprintln(w)
}

func inNamespaces(n int) string {
	if n > 1 {
		return fmt.Sprintf("%d namespaces", n)
	}
	return "one namespace"
}

// byCount orders the operations by their count, the most frequent first.
func byCount(counts map[string]int) []string {
	ops := sortedOps(counts)
	sort.SliceStable(ops, func(i, j int) bool { return counts[ops[i]] > counts[ops[j]] })
	return ops
}

func sortedOps(calls map[string]int) []string {
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func kib(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/1024) }

func mib(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }
