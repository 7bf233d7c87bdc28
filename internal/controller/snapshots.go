package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/falconops/falcon-token-operator/internal/falcon"
)

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
