package falcontest

import (
	"slices"
	"time"
)

// Call is one request the simulator received.
type Call struct {
	At       time.Time
	Op       string
	ClientID string // the client its bearer token belongs to; for oauth2-token the posted client_id
	Status   int    // 0 when no reply was sent
}

// count records a request that reached an operation.
func (s *Simulator) count(req *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[req.op]++
	s.clientCalls[[2]string{req.clientID, req.op}]++
}

// recordStatus adds the request to the call log with the status it got.
func (s *Simulator) recordStatus(req *request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callLog = append(s.callLog, Call{At: req.now, Op: req.op, ClientID: req.clientID, Status: status})
}

// Calls is how many requests of op arrived, whatever their answer.
func (s *Simulator) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ClientCalls is how many requests of op arrived from clientID.
func (s *Simulator) ClientCalls(clientID, op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientCalls[[2]string{clientID, op}]
}

// TotalCalls is how many requests arrived.
func (s *Simulator) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls zeroes the counters and the call log.
func (s *Simulator) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.clientCalls, s.callLog = map[string]int{}, map[[2]string]int{}, nil
}

// CallLog returns every request in arrival order.
func (s *Simulator) CallLog() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callLog)
}

// Secrets returns everything secret the simulator issued: client secrets, access tokens and
// installation-token values, for tests that check none of it leaks.
func (s *Simulator) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.secrets))
	for v := range s.secrets {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
