// Command bench measures what the operator costs per token: Falcon API calls to create N tokens
// and to keep them in sync, OAuth fetches, requests sent during a 429 window, the time until all
// are Ready against its floor, and the manager's memory with and without many unrelated Secrets
// in the cluster. It runs a local kube-apiserver and etcd (envtest), the Falcon simulator with
// a configurable latency and rate limit, and the manager: in this process for call counts and
// Go heap, as the built binary for its resident set. It prints one table and writes it as JSON.
//
//	make bench                                  # N=500, 50ms per call
//	make bench BENCH_N=1000 BENCH_LATENCY=100ms
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
	flag.DurationVar(&cfg.Latency, "latency", 50*time.Millisecond, "latency the simulator adds to every Falcon call")
	flag.IntVar(&cfg.RateLimit, "rate-limit", 6000, "Falcon requests per minute per customer account")
	flag.DurationVar(&cfg.SyncPeriod, "sync-period", 5*time.Second, "the manager's --sync-period after the create (short, so that steady state is measured over several)")
	flag.DurationVar(&cfg.CreateSyncPeriod, "create-sync-period", 10*time.Minute, "the manager's --sync-period during the create (the default)")
	flag.IntVar(&cfg.Periods, "periods", 5, "sync periods of steady state to count calls over")
	flag.IntVar(&cfg.Workers, "workers", 5, "the manager's --max-concurrent-reconciles")
	qps := flag.Float64("kube-api-qps", 500, "the manager's --kube-api-qps")
	flag.IntVar(&cfg.KubeAPIBurst, "kube-api-burst", 1000, "the manager's --kube-api-burst")
	flag.DurationVar(&cfg.RateLimitWindow, "rate-limit-window", 5*time.Second, "length of the forced 429 window")
	flag.IntVar(&cfg.RateLimitedCRs, "rate-limited", 50, "resources changed during the 429 window")
	flag.BoolVar(&cfg.Memory, "memory", true, "measure RSS (manager binary) and Go heap (in-process manager)")
	flag.IntVar(&cfg.Unrelated, "unrelated", 10000, "unrelated Secrets for the memory comparison")
	flag.IntVar(&cfg.UnrelatedSize, "unrelated-size", 4096, "bytes of data in each unrelated Secret")
	flag.StringVar(&jsonPath, "json", "bin/bench.json", "where to write the results as JSON")
	strict := flag.Bool("strict", false, "exit with status 2 when a target is missed")
	flag.StringVar(&workDir, "workdir", "", "where the manager's logs and binary go (default: a temporary directory, kept on failure)")
	flag.Parse()
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
	fmt.Fprintf(w, "\nfalcon-token-operator cost per token: %d tokens, %s per Falcon call, %d workers, sync period %s (create: %s), Falcon rate limit %d/min\n",
		cfg.N, cfg.Latency, cfg.Workers, cfg.SyncPeriod, cfg.CreateSyncPeriod, cfg.RateLimit)
	fmt.Fprintf(w, "%s; %d CPUs, %s, %d MiB; %s; %s\n\n", res.Machine.CPU, res.Machine.CPUs, res.Machine.Kernel, res.Machine.MemoryMiB, res.Machine.Go, res.Date)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tVALUE\tTARGET\tMET")
	target := map[string]TargetResult{}
	for _, t := range res.Targets {
		target[t.Name] = t
	}
	row := func(name, value, targetName string) {
		t, ok := target[targetName]
		if !ok {
			fmt.Fprintf(tw, "%s\t%s\t\t\n", name, value)
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, value, t.Target, yesNo(t.Met))
	}
	create := res.Create
	row("wall time until all Ready", create.Wall.Duration.Round(10*time.Millisecond).String(), "")
	row("floor: N x create latency / workers", create.Floor.Duration.String(), "")
	row("wall / floor", fmt.Sprintf("%.2f", float64(create.Wall.Duration)/float64(create.Floor.Duration)), "wall time until all Ready / floor")
	if len(create.CPU) > 0 {
		var parts []string
		for _, name := range []string{"kube-apiserver", "etcd", "manager+simulator+harness"} {
			parts = append(parts, fmt.Sprintf("%s %.1fs", name, create.CPU[name]))
		}
		row("  CPU time meanwhile", strings.Join(parts, ", "), "")
	}
	row("create: Falcon calls per new token", fmt.Sprintf("%.3f", create.CallsPerToken), "Falcon calls per new token")
	for _, op := range sortedOps(create.Calls) {
		row("  "+op+" per token", fmt.Sprintf("%.3f (%d)", float64(create.Calls[op])/float64(cfg.N), create.Calls[op]), "")
	}
	row(fmt.Sprintf("restart with all tokens in place: Falcon calls in its first %s", res.Restart.Window.Duration.Round(100*time.Millisecond)),
		fmt.Sprintf("%d %v", sum(res.Restart.Calls), res.Restart.Calls), "")
	row("OAuth token fetches (one credential; create run, restarted run)", fmt.Sprint(res.OAuth), "OAuth fetches per credential per manager run")
	row(fmt.Sprintf("steady: calls per token per sync period (%d periods)", cfg.Periods), fmt.Sprintf("%.4f", res.Steady.CallsPerTokenPerPeriod), "calls per token per sync period (steady)")
	for _, op := range sortedOps(res.Steady.Calls) {
		row("  "+op, fmt.Sprint(res.Steady.Calls[op]), "")
	}
	row("console revoke replaced after", res.Drift.RevokedFoundAfter.Duration.String(), "console revoke/delete replaced within one period")
	row("console delete replaced after", res.Drift.DeletedFoundAfter.Duration.String(), "console revoke/delete replaced within one period")
	rl := res.RateLimit
	row(fmt.Sprintf("429 window (%s, %d resources changing): requests sent after the first 429", rl.Window.Duration, min(cfg.RateLimitedCRs, cfg.N)),
		fmt.Sprint(rl.SentInWindow), "requests inside a 429 window after the 429")
	row("  answered 429 / of them sent before the first 429 came back", fmt.Sprintf("%d / %d", rl.Answered429, rl.InFlight), "")
	row("  all Ready again after the window", rl.Recovered.Duration.String(), "")
	if m := res.Memory; m != nil {
		row("manager RSS, no unrelated Secrets (peak)", fmt.Sprintf("%s (%s)", kib(m.Without.RSSKiB), kib(m.Without.PeakRSSKiB)), "")
		row(fmt.Sprintf("manager RSS, %d unrelated %d B Secrets (peak)", cfg.Unrelated, cfg.UnrelatedSize), fmt.Sprintf("%s (%s)", kib(m.With.RSSKiB), kib(m.With.PeakRSSKiB)), "")
		row("RSS with / without", fmt.Sprintf("%.3f", m.RSSRatio), "RSS with / without unrelated Secrets")
		row("manager Go heap after GC, no unrelated Secrets", mib(m.Without.HeapBytes), "")
		row(fmt.Sprintf("manager Go heap after GC, %d unrelated Secrets", cfg.Unrelated), mib(m.With.HeapBytes), "")
	}
	row("benchmark run time", res.Elapsed.Duration.String(), "")
	tw.Flush()
	fmt.Fprintln(w)
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
