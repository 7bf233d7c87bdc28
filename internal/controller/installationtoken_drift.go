package controller

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// driftCheck finds the tokens changed in the Falcon console (deleted, revoked, expired,
// relabelled, expiry moved) once per sync period, at a cost that does not grow with the number of
// resources per credential: it reads the tokens of all the resources that share a credentials
// Secret and cloud in batched reads (100 IDs a request, the client's batch), compares each with
// the resource's status, and queues only the resources whose token differs, leaving the
// token it read for their reconcile (snapshots), which then makes no read of its own.
//
// This replaces a read per resource per sync period: 500 resources of one credential cost 5
// requests a period instead of 500. A resource's own reconcile still reads its token when its
// spec changed, after a failure, and when a renewal, rotation or revocation of an old token is
// due (observationDue).
//
// The values of the tokens it reads are remembered (valueMemory) like those a reconcile reads.
// After a restart, when the process knows no value yet, a reconcile that must check a
// Secret's value waits for the first check (primed) instead of reading its token alone: a
// restart with 500 tokens costs 5 reads, not 500.
//
// The check goes through the credentialSource like any reconcile, so credentials that are
// missing, incomplete or refused by Falcon cost no request, and it shares the credential's API
// client, whose rate gate holds every request during a 429 cooldown; a credential in cooldown
// is checked again when the cooldown ends. It runs on the leader only.
type driftCheck struct {
	cache       client.Reader
	credentials *credentialSource
	clock       clock.PassiveClock
	period      time.Duration
	feed        *requestFeed
	snapshots   *snapshots
	values      *valueMemory
	primed      chan struct{} // closed once the first check is over
}

// primeWait bounds how long a reconcile waits for the drift check's first pass.
const primeWait = 10 * time.Second

// awaitPrimed waits, if it has not run yet, for the drift check's first pass, which reads every
// token and its value in batches: after a restart that is cheaper than a read per resource.
func (r *InstallationTokenReconciler) awaitPrimed(ctx context.Context) {
	select {
	case <-r.primed:
		return
	default:
	}
	timer := time.NewTimer(primeWait)
	defer timer.Stop()
	select {
	case <-r.primed:
	case <-timer.C:
	case <-ctx.Done():
	}
}

// credentialGroup is the resources one API client serves: one Secret, one cloud.
type credentialGroup struct {
	ref   types.NamespacedName
	cloud string
}

// NeedLeaderElection: only the leader reconciles, so only the leader checks.
func (d *driftCheck) NeedLeaderElection() bool { return true }

// Start checks at once (changes made while no manager ran are found without waiting a period),
// then every period, and retries a credential that was rate limited when its cooldown ends.
func (d *driftCheck) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("drift-check")
	ctx = log.IntoContext(ctx, logger)
	nextPass := time.Now()
	deferred := map[credentialGroup]time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		var only map[credentialGroup]bool // nil: every group
		if now.Before(nextPass) {
			only = map[credentialGroup]bool{}
			for g, at := range deferred {
				if !now.Before(at) {
					only[g] = true
					delete(deferred, g)
				}
			}
		} else {
			nextPass = now.Add(max(d.period, time.Second))
			clear(deferred)
		}
		if only == nil || len(only) > 0 { // else woken early with nothing due
			for g, retryAt := range d.pass(ctx, only) {
				// Wall-clock Retryafter to the monotonic clock of this loop.
				deferred[g] = now.Add(retryAt.Sub(d.clock.Now()) + time.Second)
			}
		}
		if first {
			first = false
			close(d.primed)
		}
		wake := nextPass
		for _, at := range deferred {
			if at.Before(wake) {
				wake = at
			}
		}
		timer.Reset(max(time.Until(wake), 10*time.Millisecond))
	}
}

// pass checks the groups in only (all when nil) and returns the groups that were rate limited,
// with when they may be checked again.
func (d *driftCheck) pass(ctx context.Context, only map[credentialGroup]bool) map[credentialGroup]time.Time {
	logger := log.FromContext(ctx)
	list := &falconv1alpha1.FalconInstallationTokenList{}
	// Read-only use of the cached objects: no copy of every resource once a period.
	if err := d.cache.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		logger.Error(err, "list FalconInstallationTokens")
		return nil
	}
	groups := map[credentialGroup][]*falconv1alpha1.FalconInstallationToken{}
	for i := range list.Items {
		fit := &list.Items[i]
		if !fit.DeletionTimestamp.IsZero() || fit.Status.TokenID == "" || fit.Status.PendingCreate != nil {
			continue // being deleted, or no token yet: the resource's own reconcile is at work
		}
		g := credentialGroup{ref: credentialsRef(fit), cloud: fit.Spec.FalconAPI.Cloud}
		if only == nil || only[g] {
			groups[g] = append(groups[g], fit)
		}
	}
	d.snapshots.expire(d.clock.Now().Add(-snapshotMaxAge))
	limited := map[credentialGroup]time.Time{}
	for _, g := range slices.SortedFunc(maps.Keys(groups), func(a, b credentialGroup) int {
		return cmp.Or(cmp.Compare(a.ref.String(), b.ref.String()), cmp.Compare(a.cloud, b.cloud))
	}) {
		if retryAt, ok := d.checkGroup(ctx, g, groups[g]); ok {
			limited[g] = retryAt
		}
	}
	return limited
}

// checkGroup reads the tokens of one credential's resources and queues those that drifted.
// It reports when to try again if the credential is rate limited.
func (d *driftCheck) checkGroup(ctx context.Context, g credentialGroup, fits []*falconv1alpha1.FalconInstallationToken) (time.Time, bool) {
	api, err := d.credentials.client(ctx, g.ref, g.cloud)
	if err != nil {
		return time.Time{}, false // missing, incomplete or refused credentials: no request; the resources say why
	}
	ids := make([]string, 0, len(fits))
	for _, fit := range fits {
		ids = append(ids, fit.Status.TokenID)
	}
	slices.Sort(ids)
	tokens, err := api.GetTokens(ctx, slices.Compact(ids))
	if err != nil {
		d.credentials.rejectIfRefused(g.ref, err)
		if retryAt, ok := falcon.RetryAt(err); ok {
			return retryAt, true
		}
		// The next pass tries again; a resource's own reconcile does not wait for it.
		log.FromContext(ctx).Info("drift check failed", "credentials", g.ref.String(), "error", err.Error())
		return time.Time{}, false
	}
	readAt := d.clock.Now()
	byID := make(map[string]*falcon.Token, len(tokens))
	for i := range tokens {
		byID[tokens[i].ID] = &tokens[i]
		d.values.set(tokens[i].ID, tokens[i].Value)
	}
	var changed []reconcile.Request
	for _, fit := range fits {
		tok := byID[fit.Status.TokenID]
		if !tokenDrifted(&fit.Status, tok, readAt) {
			continue
		}
		d.snapshots.put(fit.UID, snapshot{tokenID: fit.Status.TokenID, token: copyToken(tok), readAt: readAt})
		changed = append(changed, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(fit)})
	}
	d.feed.add(changed...)
	return time.Time{}, false
}

// tokenDrifted reports whether tok (nil: gone from Falcon) differs from what status says of it:
// its status, label, expiry or last use, or it expired since it was last read.
func tokenDrifted(st *falconv1alpha1.FalconInstallationTokenStatus, tok *falcon.Token, now time.Time) bool {
	switch {
	case tok == nil:
		return true
	case tok.Status != st.TokenStatus, tok.Label != st.Label:
		return true
	case !sameInstant(tok.ExpiresAt, timeOf(st.ExpiresAt)), !sameInstant(tok.LastUsedAt, timeOf(st.LastUsedAt)):
		return true
	}
	return tok.Status == falconv1alpha1.TokenStatusValid && tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)
}

func copyToken(tok *falcon.Token) *falcon.Token {
	if tok == nil {
		return nil
	}
	c := *tok
	return &c
}

// snapshotMaxAge is how long a token the drift check read stands in for a read of its own in
// the reconcile it queued; an older one is read again.
const snapshotMaxAge = time.Minute

// snapshot is a token as the drift check read it for one resource; token nil: gone.
type snapshot struct {
	tokenID string
	token   *falcon.Token
	readAt  time.Time
}

// snapshots hand the tokens the drift check found changed to the reconciles it queued. Only
// resources whose token drifted have one, so this stays small.
type snapshots struct {
	mu sync.Mutex
	m  map[types.UID]snapshot
}

func (s *snapshots) put(uid types.UID, snap snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[types.UID]snapshot{}
	}
	s.m[uid] = snap
}

// take removes and returns the snapshot of the resource's current token, if there is one. A
// reconcile that fails puts it back (put), so that its retry acts on it too.
func (s *snapshots) take(uid types.UID, tokenID string) (snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.m[uid]
	delete(s.m, uid)
	return snap, ok && snap.tokenID == tokenID
}

// expire drops snapshots read before cutoff, whose reconcile never came (the resource is gone).
func (s *snapshots) expire(cutoff time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid, snap := range s.m {
		if snap.readAt.Before(cutoff) {
			delete(s.m, uid)
		}
	}
}
