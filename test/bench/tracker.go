package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := falconv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// tracker watches the FalconInstallationTokens of every namespace and records when each became Ready
// and when its token changed, as the harness saw the events.
type tracker struct {
	cancel context.CancelFunc

	mu      sync.Mutex
	state   map[types.NamespacedName]tokenState
	changed chan struct{} // closed and replaced on every change
}

type tokenState struct {
	generation     int64
	ready          bool   // Ready=True for the current generation
	reason         string // of the Ready condition; "" before it has one
	readyAt        time.Time
	tokenID        string
	tokenChangedAt time.Time
}

func startTracker(ctx context.Context, cfg *rest.Config) (*tracker, error) {
	c, err := cache.New(cfg, cache.Options{Scheme: scheme()})
	if err != nil {
		return nil, err
	}
	informer, err := c.GetInformer(ctx, &falconv1alpha1.FalconInstallationToken{})
	if err != nil {
		return nil, err
	}
	t := &tracker{state: map[types.NamespacedName]tokenState{}, changed: make(chan struct{})}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    t.observe,
		UpdateFunc: func(_, obj any) { t.observe(obj) },
	}); err != nil {
		return nil, err
	}
	ctx, t.cancel = context.WithCancel(ctx)
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the harness's watch did not sync")
	}
	return t, nil
}

func (t *tracker) stop() { t.cancel() }

func (t *tracker) observe(obj any) {
	fit, ok := obj.(*falconv1alpha1.FalconInstallationToken)
	if !ok {
		return
	}
	now := time.Now()
	c := meta.FindStatusCondition(fit.Status.Conditions, falconv1alpha1.ConditionReady)
	ready := c != nil && c.Status == metav1.ConditionTrue && fit.Status.ObservedGeneration == fit.Generation
	t.mu.Lock()
	defer t.mu.Unlock()
	key := types.NamespacedName{Namespace: fit.Namespace, Name: fit.Name}
	st := t.state[key]
	if ready && !st.ready {
		st.readyAt = now
	}
	st.ready, st.generation, st.reason = ready, fit.Generation, ""
	if c != nil {
		st.reason = c.Reason
	}
	if fit.Status.TokenID != st.tokenID {
		st.tokenID, st.tokenChangedAt = fit.Status.TokenID, now
	}
	t.state[key] = st
	close(t.changed)
	t.changed = make(chan struct{})
}

// wait blocks until cond holds for the state, or timeout.
func (t *tracker) wait(ctx context.Context, timeout time.Duration, what string, cond func(map[types.NamespacedName]tokenState) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		ok, changed := cond(t.state), t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// summary says how many of names are Ready, and why the others are not.
func (t *tracker) summary(names []types.NamespacedName) string {
	t.mu.Lock()
	ready, why := 0, map[string]int{}
	for _, name := range names {
		switch st := t.state[name]; {
		case st.ready:
			ready++
		case st.reason == "":
			why["no Ready condition yet"]++
		default:
			why[st.reason]++
		}
	}
	t.mu.Unlock()
	out := fmt.Sprintf("%d of %d Ready", ready, len(names))
	if len(why) > 0 {
		out += fmt.Sprintf("; not Ready: %v", why)
	}
	return out
}

// waitReady waits until every named resource is Ready, at generation minGeneration[name] or
// later when given, and returns when the last became so.
func (t *tracker) waitReady(ctx context.Context, names []types.NamespacedName, minGeneration map[types.NamespacedName]int64,
	timeout time.Duration) (time.Time, error) {
	var last time.Time
	err := t.wait(ctx, timeout, fmt.Sprintf("%d resources to be Ready", len(names)), func(s map[types.NamespacedName]tokenState) bool {
		last = time.Time{}
		for _, n := range names {
			if !s[n].ready || s[n].generation < minGeneration[n] {
				return false
			}
			if s[n].readyAt.After(last) {
				last = s[n].readyAt
			}
		}
		return true
	})
	if err != nil {
		err = fmt.Errorf("%w (%s)", err, t.summary(names))
	}
	return last, err
}

// waitNewToken waits until name holds a token other than old and returns when it changed.
func (t *tracker) waitNewToken(ctx context.Context, name types.NamespacedName, old string, timeout time.Duration) (time.Time, error) {
	var at time.Time
	err := t.wait(ctx, timeout, name.String()+" to hold a new token", func(s map[types.NamespacedName]tokenState) bool {
		at = s[name].tokenChangedAt
		return s[name].tokenID != "" && s[name].tokenID != old
	})
	return at, err
}

func (t *tracker) tokenID(name types.NamespacedName) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state[name].tokenID
}

// tokenIDs are the current tokens of the named resources.
func (t *tracker) tokenIDs(names []types.NamespacedName) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]string, 0, len(names))
	for _, n := range names {
		ids = append(ids, t.state[n].tokenID)
	}
	return ids
}
