package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCostPerToken is the short benchmark that `make test` runs: 50 tokens, and the Falcon call
// and Kubernetes request counts of the design's cost per token checked exactly or as bounds
// that do not depend on how fast the machine is. The timings and the memory are `make bench`'s.
func TestCostPerToken(t *testing.T) {
	ensureAssets(t)
	cfg := Config{
		N:                50,
		Namespaces:       1,
		Latency:          5 * time.Millisecond,
		RateLimit:        6000,
		SyncPeriod:       2 * time.Second,
		CreateSyncPeriod: 10 * time.Minute,
		Periods:          3,
		Workers:          5,
		KubeAPIQPS:       200,
		KubeAPIBurst:     400,
		RateLimitWindow:  3 * time.Second,
		RateLimitedCRs:   20,
		Progress:         testWriter{t},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := run(ctx, &cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	printTable(&table, res)
	t.Log(table.String())

	n := cfg.N
	batches := (n + idsPerRead - 1) / idsPerRead
	// passesIn is the most drift checks that can run in d: one at the start, one a period.
	passesIn := func(d time.Duration) int { return int(d/cfg.SyncPeriod) + 1 }

	t.Run("create costs one create call per token, plus one OAuth fetch and one CCID", func(t *testing.T) {
		expectCalls(t, res.Create.Calls, map[string]int{"tokens-create": n, "oauth2-token": 1, "ccid": 1})
	})
	t.Run("creating a token costs at most 5 Kubernetes requests", func(t *testing.T) {
		if got := res.Create.KubePerToken; got > maxKubePerToken {
			t.Errorf("%.2f Kubernetes requests per created token, want at most %g: %v", got, maxKubePerToken, res.Create.Kube)
		}
	})
	t.Run("a restart reads the tokens in batches, not one by one", func(t *testing.T) {
		calls := res.Restart.Calls
		if reads := calls["tokens-read"]; reads > passesIn(res.Restart.Verified.Duration)*batches {
			t.Errorf("%d tokens-read until all %d resources were verified after a restart (%s)", reads, n, res.Restart.Verified.Duration)
		}
		delete(calls, "tokens-read")
		// The duplicate search runs once after a start: one query a credential.
		expectCalls(t, calls, map[string]int{"oauth2-token": 1, "ccid": 1, "tokens-query": 1})
	})
	t.Run("steady state costs one batched read per credential per sync period", func(t *testing.T) {
		calls := res.Steady.Calls
		reads := calls["tokens-read"]
		if most := passesIn(res.Steady.Window.Duration) * batches; reads > most {
			t.Errorf("%d tokens-read in %d sync periods, want at most %d", reads, cfg.Periods, most)
		}
		if reads < cfg.Periods-1 {
			t.Errorf("%d tokens-read in %d sync periods: the tokens are not checked every period", reads, cfg.Periods)
		}
		delete(calls, "tokens-read")
		// The duplicate search runs in the sync period after the creates, once.
		if queries := calls["tokens-query"]; queries > 1 {
			t.Errorf("%d tokens-query in steady state, want at most the one duplicate search after the creates", queries)
		}
		delete(calls, "tokens-query")
		expectCalls(t, calls, map[string]int{})
	})
	t.Run("a console revoke and a console delete are replaced, one create each", func(t *testing.T) {
		if got := res.Drift.Calls["tokens-create"]; got != 2 {
			t.Errorf("%d tokens-create, want 2", got)
		}
	})
	t.Run("OAuth: one fetch per credential per manager run", func(t *testing.T) {
		for i, fetches := range res.OAuth {
			if fetches != 1 {
				t.Errorf("manager run %d fetched %d access tokens", i+1, fetches)
			}
		}
	})
	t.Run("no request inside the 429 window after the 429", func(t *testing.T) {
		if res.RateLimit.Answered429 == 0 {
			t.Fatal("no request was answered 429")
		}
		if res.RateLimit.SentInWindow != 0 {
			t.Errorf("%d requests sent inside the Retryafter window after the first 429", res.RateLimit.SentInWindow)
		}
	})
}

// expectCalls compares calls by operation, reporting every difference.
func expectCalls(t *testing.T, got, want map[string]int) {
	t.Helper()
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s: %d calls, want %d", op, got[op], n)
		}
	}
	for op, n := range got {
		if _, expected := want[op]; !expected && n > 0 {
			t.Errorf("%s: %d unexpected calls", op, n)
		}
	}
}

// ensureAssets sets KUBEBUILDER_ASSETS from hack/setup-envtest.sh when `make test` did not.
func ensureAssets(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		return
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "setup-envtest.sh")).Output()
	if err != nil {
		t.Fatalf("hack/setup-envtest.sh: %v", err)
	}
	t.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
}

// testWriter sends the harness's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
