package controller

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// driftCheck finds the tokens changed in the Falcon console (deleted, revoked, expired,
// relabelled, expiry moved) once per sync period, at a cost that does not grow with the number of
// resources per credential: it reads the tokens of all the resources (of both token kinds) that
// share a credentials Secret and cloud in batched reads (100 IDs a request), compares each with
// the resource's status, and queues only the resources whose token differs, leaving the token it
// read for their reconcile (snapshots), which then makes no read of its own. 500 resources of
// one credential cost 5 requests a period instead of 500.
//
// It also heals duplicates: should two replicas ever create a token for the same revision at
// once (a paused leader, clock skew), the second carries the same marker. In the periods after a
// create, and once after start, it lists the valid marked tokens of the account and revokes those
// that carry a resource's marker but are neither its current token nor one being retired.
//
// The values of the tokens it reads are remembered (valueMemory). After a restart, a reconcile
// that must check a Secret's value waits for the first pass (primed) instead of reading its
// token alone: a restart with 500 tokens costs 5 reads, not 500.
//
// It goes through the credentialSource like any reconcile, so credentials that are missing,
// incomplete or refused cost no request, and it shares the credential's API client, whose rate
// gate holds every request during a 429 cooldown; a credential in cooldown is checked again when
// the cooldown ends. It runs on the leader only, on the injected clock.
type driftCheck struct {
	cache       client.Reader
	kinds       []driftKind
	credentials *credentialSource
	clock       clock.WithTicker
	period      time.Duration
	snapshots   *snapshots
	values      *valueMemory
	recorder    events.EventRecorder
	primed      chan struct{} // closed once the first pass is over

	mu         sync.Mutex
	lastSearch map[*falcon.Client]time.Time // when each API client's duplicates were last searched
}

// driftKind is a token kind and the queue of its controller.
type driftKind struct {
	kind tokenKind
	feed *requestFeed
}

// driftAPI is what the drift check needs of Falcon.
type driftAPI interface {
	GetTokens(ctx context.Context, ids []string) ([]falcon.Token, error)
	FindValidMarkedTokenIDs(ctx context.Context, markerPrefix string) ([]string, error)
	UpdateTokens(ctx context.Context, ids []string, u falcon.TokenUpdate) ([]falcon.Token, error)
}

// primeWait bounds how long a reconcile waits for the drift check's first pass.
const primeWait = 10 * time.Second

// awaitPrimed waits, if it has not run yet, for the drift check's first pass, which reads every
// token and its value in batches: after a restart that is cheaper than a read per resource.
func (r *TokenReconciler) awaitPrimed(ctx context.Context) {
	select {
	case <-r.primed:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, primeWait)
	defer cancel()
	select {
	case <-r.primed:
	case <-ctx.Done():
	}
}

// credentialGroup is the resources one API client serves: one Secret, one cloud.
type credentialGroup struct {
	ref   types.NamespacedName
	cloud string
}

// member is one resource of a group, and the queue its reconciles go to.
type member struct {
	res  tokenResource
	feed *requestFeed
}

// NeedLeaderElection: only the leader reconciles, so only the leader checks.
func (d *driftCheck) NeedLeaderElection() bool { return true }

// Start checks at once (changes made while no manager ran are found without waiting a period),
// then every period, and retries a credential that was rate limited when its cooldown ends.
func (d *driftCheck) Start(ctx context.Context) error {
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithName("drift-check"))
	nextPass := d.clock.Now()
	deferred := map[credentialGroup]time.Time{}
	for first := true; ; first = false {
		now := d.clock.Now()
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
			for g, retryAt := range d.pass(ctx, only, first) {
				deferred[g] = retryAt.Add(time.Second)
			}
		}
		if first {
			close(d.primed)
		}
		wake := nextPass
		for _, at := range deferred {
			wake = minTime(wake, at)
		}
		if err := d.sleepUntil(ctx, wake); err != nil {
			return nil
		}
	}
}

// sleepUntil waits until the clock reaches at; an error once ctx ends.
func (d *driftCheck) sleepUntil(ctx context.Context, at time.Time) error {
	wait := at.Sub(d.clock.Now())
	if wait <= 0 {
		return ctx.Err()
	}
	timer := d.clock.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C():
		return nil
	}
}

// pass checks the groups in only (all when nil) and returns the groups that were rate limited,
// with when they may be checked again.
func (d *driftCheck) pass(ctx context.Context, only map[credentialGroup]bool, first bool) map[credentialGroup]time.Time {
	groups := map[credentialGroup][]member{}
	for _, k := range d.kinds {
		resources, err := k.kind.list(ctx, d.cache)
		if err != nil {
			log.FromContext(ctx).Error(err, "list token resources", "kind", k.kind.name())
			return nil
		}
		for _, res := range resources {
			if !res.GetDeletionTimestamp().IsZero() || res.GetTokenStatus().TokenID == "" {
				continue // being deleted, or no token yet: the resource's own reconcile is at work
			}
			if intent, err := pendingIntent(res); err != nil || intent != nil {
				continue // a create is under way
			}
			g := credentialGroup{ref: k.kind.credentialsRef(res), cloud: res.GetFalconAPI().Cloud}
			if only == nil || only[g] {
				groups[g] = append(groups[g], member{res: res, feed: k.feed})
			}
		}
	}
	d.snapshots.expire(d.clock.Now().Add(-snapshotMaxAge))
	// Secrets that hold the same API client share one client: read their tokens together.
	byClient := map[*falcon.Client]*clientGroup{}
	var order []*clientGroup
	for _, g := range slices.SortedFunc(maps.Keys(groups), func(a, b credentialGroup) int {
		return cmp.Or(cmp.Compare(a.ref.String(), b.ref.String()), cmp.Compare(a.cloud, b.cloud))
	}) {
		falconClient, err := d.credentials.client(ctx, g.ref, g.cloud)
		if err != nil {
			continue // missing, incomplete or refused credentials: no request; the resources say why
		}
		cg, ok := byClient[falconClient]
		if !ok {
			cg = &clientGroup{client: falconClient}
			byClient[falconClient] = cg
			order = append(order, cg)
		}
		cg.groups = append(cg.groups, g)
		cg.members = append(cg.members, groups[g]...)
	}
	if only == nil {
		d.forgetSearches(byClient)
	}
	limited := map[credentialGroup]time.Time{}
	for _, cg := range order {
		if retryAt, ok := d.checkClient(ctx, cg, first); ok {
			for _, g := range cg.groups {
				limited[g] = retryAt
			}
		}
	}
	return limited
}

// forgetSearches drops what is known of the duplicate searches of clients no resource uses.
func (d *driftCheck) forgetSearches(inUse map[*falcon.Client]*clientGroup) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.lastSearch {
		if inUse[c] == nil {
			delete(d.lastSearch, c)
		}
	}
}

// clientGroup is the resources one API client serves, through one or more credentials Secrets.
type clientGroup struct {
	client  *falcon.Client
	groups  []credentialGroup
	members []member
}

// checkClient reads the tokens of one API client's resources, queues those that drifted and
// revokes duplicates. It reports when to try again if the credential is rate limited.
func (d *driftCheck) checkClient(ctx context.Context, cg *clientGroup, first bool) (time.Time, bool) {
	var api driftAPI = cg.client
	err := d.checkTokens(ctx, api, cg.members)
	if err == nil && d.searchDue(cg.client, cg.members, first) {
		err = d.revokeDuplicates(ctx, api, cg.client, cg.members)
	}
	if err == nil {
		return time.Time{}, false
	}
	for _, g := range cg.groups {
		d.credentials.rejectIfRefused(g.ref, err)
	}
	if retryAt, ok := falcon.RetryAt(err); ok {
		return retryAt, true
	}
	// The next pass tries again; a resource's own reconcile does not wait for it.
	log.FromContext(ctx).Info("drift check failed", "credentials", cg.groups[0].ref.String(), "error", d.values.redact(err.Error()))
	return time.Time{}, false
}

// checkTokens reads the current tokens and queues the resources whose token drifted.
func (d *driftCheck) checkTokens(ctx context.Context, api driftAPI, members []member) error {
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, m.res.GetTokenStatus().TokenID)
	}
	slices.Sort(ids)
	tokens, err := api.GetTokens(ctx, slices.Compact(ids))
	if err != nil {
		return err
	}
	readAt := d.clock.Now()
	byID := make(map[string]*falcon.Token, len(tokens))
	for i := range tokens {
		byID[tokens[i].ID] = &tokens[i]
		d.values.set(tokens[i].ID, tokens[i].Value)
	}
	for _, m := range members {
		st := m.res.GetTokenStatus()
		tok := byID[st.TokenID]
		key := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(m.res)}
		switch {
		case tokenDrifted(st, tok, readAt):
			d.snapshots.put(m.res.GetUID(), snapshot{tokenID: st.TokenID, token: copyToken(tok), readAt: readAt})
			m.feed.add(key)
		case workDue(m.res, readAt):
			m.feed.add(key) // its own requeue was lost (a restart, a jump of the clock)
		}
	}
	return nil
}

// workDue says whether a renewal, a requested rotation or the end of a grace period may be due
// for the resource.
func workDue(res tokenResource, now time.Time) bool {
	st := res.GetTokenStatus()
	if st.RenewalTime != nil && !now.Before(st.RenewalTime.Time) {
		return true
	}
	if _, requested := rotationRequested(res); requested {
		return true
	}
	next := nextRetirement(st.RetiringTokens)
	return next != nil && !now.Before(*next)
}

// searchDue says whether the group's duplicates are searched this pass: once after start, and
// in the periods that follow a create, the only moment a duplicate can be born.
func (d *driftCheck) searchDue(g *falcon.Client, members []member, first bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	last, searched := d.lastSearch[g]
	if first || !searched {
		return true
	}
	since := last.Add(-d.period)
	return slices.ContainsFunc(members, func(m member) bool {
		created := m.res.GetTokenStatus().CreatedAt
		return created != nil && created.After(since)
	})
}

// revokeDuplicates revokes the valid tokens that carry the marker of one of the group's
// resources without being its current token or one it is retiring.
func (d *driftCheck) revokeDuplicates(ctx context.Context, api driftAPI, g *falcon.Client, members []member) error {
	started := d.clock.Now()
	ids, err := api.FindValidMarkedTokenIDs(ctx, markerPrefix)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	byMarker := map[string]tokenResource{}
	for _, m := range members {
		for _, id := range heldTokenIDs(m.res) {
			held[id] = true
		}
		for revision := int64(1); revision <= m.res.GetTokenStatus().Revision; revision++ {
			byMarker[tokenMarker(m.res.GetUID(), revision)] = m.res
		}
	}
	var unknown []string
	for _, id := range ids {
		if !held[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		tokens, err := api.GetTokens(ctx, unknown)
		if err != nil {
			return err
		}
		for _, tok := range tokens {
			marker, ok := labelMarker(tok.Label)
			owner := byMarker[marker]
			if !ok || owner == nil || tok.Status != falcon.TokenStatusValid {
				continue // not ours: another cluster's, an orphaned or an adopted-elsewhere token
			}
			if _, err := api.UpdateTokens(ctx, []string{tok.ID}, falcon.TokenUpdate{Revoked: ptr.To(true)}); err != nil && !falcon.IsNotFound(err) {
				return err
			}
			d.recorder.Eventf(owner, nil, corev1.EventTypeNormal, falconv1alpha1.EventDuplicateRevoked, "Revoke",
				"Revoked token %s: a second token carrying this resource's marker, created alongside token %s", tok.ID, owner.GetTokenStatus().TokenID)
		}
	}
	d.mu.Lock()
	d.lastSearch[g] = started
	d.mu.Unlock()
	return nil
}

// tokenDrifted reports whether tok (nil: gone from Falcon) differs from what status says of it:
// its status, label or expiry, its last use on another day, or it expired since it was last read.
func tokenDrifted(st *falconv1alpha1.InstallationTokenStatus, tok *falcon.Token, now time.Time) bool {
	switch {
	case tok == nil:
		return true
	case tok.Status != st.TokenStatus, tok.Label != st.Label:
		return true
	case !sameInstant(tok.ExpiresAt, timeOf(st.ExpiresAt)), !sameDay(tok.LastUsedAt, timeOf(st.LastUsedAt)):
		return true
	}
	return tok.Status == falcon.TokenStatusValid && tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)
}

func copyToken(tok *falcon.Token) *falcon.Token {
	if tok == nil {
		return nil
	}
	c := *tok
	return &c
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
