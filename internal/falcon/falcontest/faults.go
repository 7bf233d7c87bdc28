package falcontest

import (
	"net/http"
	"slices"
	"time"
)

// Faults are failures the simulator injects at random, switchable at run time.
type Faults struct {
	Latency         time.Duration // added to every reply
	LatencyJitter   time.Duration // plus a random share of this
	ServerErrorRate float64       // share of API requests (not OAuth2) answered 500, 502 or 503
	DropRate        float64       // share of requests whose connection is closed with no reply
	Ops             []string      // when set, the rates above apply only to these operations
}

// oneShots are the faults queued for the next requests of one operation.
type oneShots struct {
	hang, failAfterWrite, drop, echo int
	holds                            []*hold
}

type hold struct {
	held    chan struct{}
	release chan struct{}
}

// fault is what happens to one request.
type fault struct {
	latency        time.Duration
	serverError    int
	drop           bool // before it takes effect
	hang           bool // until the client gives up
	failAfterWrite bool // it takes effect, then the connection drops
	echo           bool // refused with a message that quotes the request's credentials
	hold           *hold
}

// SetFaults replaces the random faults.
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// HangNext makes the next n requests of op never answer; they end when the client gives up.
func (s *Simulator) HangNext(op string, n int) { s.queue(op, func(o *oneShots) { o.hang += n }) }

// FailAfterWrite makes the next n requests of op take effect, then drop the connection with no
// reply, as a reply lost on the way back would.
func (s *Simulator) FailAfterWrite(op string, n int) {
	s.queue(op, func(o *oneShots) { o.failAfterWrite += n })
}

// EchoNext refuses the next n requests of op with 400 and a message that quotes the request's
// Authorization header and body, as a misbehaving proxy or upstream might: the client must keep
// the secrets it sent out of every error.
func (s *Simulator) EchoNext(op string, n int) { s.queue(op, func(o *oneShots) { o.echo += n }) }

// DropNext drops the next n requests of op before they take effect.
func (s *Simulator) DropNext(op string, n int) { s.queue(op, func(o *oneShots) { o.drop += n }) }

// HoldNext lets the next request of op take effect and then holds its reply until release is
// called; held is closed once the request took effect.
func (s *Simulator) HoldNext(op string) (held <-chan struct{}, release func()) {
	h := &hold{held: make(chan struct{}), release: make(chan struct{})}
	s.queue(op, func(o *oneShots) { o.holds = append(o.holds, h) })
	var released bool
	return h.held, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !released {
			released = true
			close(h.release)
		}
	}
}

func (s *Simulator) queue(op string, add func(*oneShots)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.next[op]
	if !ok {
		o = &oneShots{}
		s.next[op] = o
	}
	add(o)
}

// takeFault decides what happens to the next request of op.
func (s *Simulator) takeFault(op string) fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f fault
	if o := s.next[op]; o != nil {
		switch {
		case o.drop > 0:
			o.drop--
			f.drop = true
		case o.hang > 0:
			o.hang--
			f.hang = true
		case o.failAfterWrite > 0:
			o.failAfterWrite--
			f.failAfterWrite = true
		case o.echo > 0:
			o.echo--
			f.echo = true
		case len(o.holds) > 0:
			f.hold, o.holds = o.holds[0], o.holds[1:]
		}
	}
	r := s.faults
	if len(r.Ops) > 0 && !slices.Contains(r.Ops, op) {
		return f
	}
	f.latency = r.Latency
	if r.LatencyJitter > 0 {
		f.latency += time.Duration(s.rng.Int64N(int64(r.LatencyJitter)))
	}
	if r.DropRate > 0 && s.rng.Float64() < r.DropRate {
		f.drop = true
	}
	if op != opToken && op != opRevoke && r.ServerErrorRate > 0 && s.rng.Float64() < r.ServerErrorRate {
		f.serverError = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.rng.IntN(3)]
	}
	return f
}
