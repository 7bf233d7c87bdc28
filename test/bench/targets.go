package main

import (
	"fmt"
	"time"
)

// Targets of the design's cost per token (DESIGN.md, "Cost per token") and of
// docs/performance.md.
const (
	maxKubePerToken      = 5.0  // Kubernetes requests per created token
	maxWallOverFloors    = 1.3  // time until all Ready / the larger of the two floors
	maxWallOverFalcon    = 1.5  // time until all Ready / the Falcon floor
	maxSteadyKubeWrites  = 0.01 // Kubernetes writes per resource per sync period
	maxRSSPerThousandMiB = 40.0 // RSS growth per 1,000 resources over an empty cluster
	restartOtherCalls    = 10   // besides the batched reads: OAuth, CCID, a few queries
	maxRestartSeconds    = 60   // until every resource is verified after a restart
)

// maxRestartCalls is ceil(N/100) batched reads, plus OAuth, CCID and a few queries.
func maxRestartCalls(n int) int { return (n+idsPerRead-1)/idsPerRead + restartOtherCalls }

// targets checks the run against the design's cost per token.
func targets(res *Result) []TargetResult {
	cfg := res.Config
	var out []TargetResult
	add := func(name, target, value string, met bool) {
		out = append(out, TargetResult{Name: name, Target: target, Value: value, Met: met})
	}
	create := res.Create
	add("Falcon calls per new token", "<= 1.02", fmt.Sprintf("%.3f", create.CallsPerToken), create.CallsPerToken <= 1.02)
	add("Kubernetes requests per created token", fmt.Sprintf("<= %g", maxKubePerToken), fmt.Sprintf("%.2f", create.KubePerToken),
		create.KubePerToken <= maxKubePerToken)
	// The Falcon floor's own target applies where it is the floor that binds: a run limited by
	// the Kubernetes client's rate (the scale run) is held to the larger floor only.
	if create.FalconFloor.Duration >= create.KubeFloor.Duration {
		wallFalcon := create.Wall.Seconds() / create.FalconFloor.Seconds()
		add("wall time until all Ready / Falcon floor", fmt.Sprintf("<= %.2f", maxWallOverFalcon), fmt.Sprintf("%.2f", wallFalcon), wallFalcon <= maxWallOverFalcon)
	}
	wallFloors := create.Wall.Seconds() / max(create.FalconFloor.Seconds(), create.KubeFloor.Seconds())
	add("wall time until all Ready / larger floor", fmt.Sprintf("<= %.2f", maxWallOverFloors), fmt.Sprintf("%.2f", wallFloors), wallFloors <= maxWallOverFloors)

	restartCalls := sum(res.Restart.Calls)
	add("restart: Falcon calls until all verified", fmt.Sprintf("<= %d", maxRestartCalls(cfg.N)), fmt.Sprint(restartCalls), restartCalls <= maxRestartCalls(cfg.N))
	verified := res.Restart.Verified.Duration
	add("restart: time until all verified", fmt.Sprintf("<= %ds", maxRestartSeconds), verified.String(), verified <= maxRestartSeconds*time.Second)

	perPeriod := res.Steady.CallsPerTokenPerPeriod
	add("calls per token per sync period (steady)", "<= 0.02", fmt.Sprintf("%.4f", perPeriod), perPeriod <= 0.02)
	kubeWrites := res.Steady.KubeWritesPerResourcePerPeriod
	add("Kubernetes writes per resource per sync period (steady)", fmt.Sprintf("<= %g", maxSteadyKubeWrites), fmt.Sprintf("%.4f", kubeWrites),
		kubeWrites <= maxSteadyKubeWrites)

	slack := cfg.SyncPeriod + time.Second
	worst := max(res.Drift.RevokedFoundAfter.Duration, res.Drift.DeletedFoundAfter.Duration)
	add("console revoke/delete replaced within one period", "<= "+slack.String(), worst.String(), worst <= slack)
	// Every credentials Secret of the bench holds the same API client: one credential, whose
	// client the operator shares across the Secrets.
	oauthOK := len(res.OAuth) > 0
	for _, n := range res.OAuth {
		oauthOK = oauthOK && n == 1
	}
	add("OAuth fetches per credential per manager run", "1", fmt.Sprintf("%v for one API client in %d Secrets", res.OAuth, max(cfg.Namespaces, 1)), oauthOK)
	add("requests inside a 429 window after the 429", "0", fmt.Sprint(res.RateLimit.SentInWindow), res.RateLimit.SentInWindow == 0)
	if m := res.Memory; m != nil {
		add("RSS growth per 1,000 resources", fmt.Sprintf("<= %g MiB", maxRSSPerThousandMiB), fmt.Sprintf("%.1f MiB", m.RSSPerThousandMiB),
			m.RSSPerThousandMiB <= maxRSSPerThousandMiB)
		if m.With != nil {
			add("RSS with / without unrelated Secrets", "<= 1.15", fmt.Sprintf("%.3f", m.RSSRatio), m.RSSRatio <= 1.15)
		}
	}
	return out
}
