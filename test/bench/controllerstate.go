package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// tokenController is the name of the FalconInstallationToken controller in the manager's metrics.
const tokenController = "falconinstallationtoken"

// metricsSource reads the manager's Prometheus metrics: controller-runtime's registry for the
// in-process manager, the /metrics endpoint for the binary. Both carry the same controller
// metrics, so the two managers are watched the same way.
type metricsSource struct {
	gather func(ctx context.Context) ([]*dto.MetricFamily, error)
	// every is how often the metrics are read while waiting on them, the resolution of the
	// times measured that way. Each read costs the manager CPU (formatting /metrics costs the
	// binary about 50 ms): the binary is read seldom, so as not to weigh on what is measured
	// and profiled.
	every time.Duration
}

var inProcessMetrics = metricsSource{
	gather: func(context.Context) ([]*dto.MetricFamily, error) { return metrics.Registry.Gather() },
	every:  100 * time.Millisecond,
}

func scrapeMetrics(url string) metricsSource {
	return metricsSource{every: time.Second, gather: func(ctx context.Context) ([]*dto.MetricFamily, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "identity") // no gzip for the manager to spend CPU on
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", url, resp.Status)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			return nil, err
		}
		return slices.Collect(maps.Values(families)), nil
	}}
}

// controllerState is what the token controller's metrics say about its work.
type controllerState struct {
	reconciles float64 // reconciles finished, whatever their result
	queued     float64 // requests ready in the work queue (not those waiting for a requeue time)
	running    float64 // reconciles in progress
}

// idle: nothing queued that is due, nothing running.
func (s controllerState) idle() bool { return s.queued == 0 && s.running == 0 }

func readControllerState(ctx context.Context, src metricsSource) (controllerState, error) {
	families, err := src.gather(ctx)
	if err != nil {
		return controllerState{}, err
	}
	var st controllerState
	for _, f := range families {
		var into *float64
		switch f.GetName() {
		case "controller_runtime_reconcile_total":
			into = &st.reconciles
		case "workqueue_depth":
			into = &st.queued
		case "controller_runtime_active_workers":
			into = &st.running
		default:
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "controller") != tokenController {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				*into += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				*into += m.GetGauge().GetValue()
			}
		}
	}
	return st, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// waitController polls the controller's metrics until cond holds and returns when it first did.
func waitController(ctx context.Context, src metricsSource, timeout time.Duration, what string, cond func(controllerState) bool) (time.Time, error) {
	var st controllerState
	var at time.Time
	err := wait.PollUntilContextTimeout(ctx, src.every, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		if st, err = readControllerState(ctx, src); err != nil {
			return false, err
		}
		at = time.Now()
		return cond(st), nil
	})
	switch {
	case wait.Interrupted(err) && ctx.Err() == nil:
		return time.Time{}, fmt.Errorf("timed out after %s waiting for %s (controller: %+v)", timeout, what, st)
	case err != nil:
		return time.Time{}, err
	}
	return at, nil
}
