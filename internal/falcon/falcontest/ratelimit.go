package falcontest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// window is a sliding rate-limit window: the times of the requests it counted.
type window struct {
	limit int
	span  time.Duration
	times []time.Time
}

func (w *window) prune(now time.Time) {
	cut := 0
	for cut < len(w.times) && !w.times[cut].After(now.Add(-w.span)) {
		cut++
	}
	w.times = w.times[cut:]
}

// admit counts an authenticated call against its CID's window, or answers 429.
func (s *Simulator) admit(req *request) *response {
	if req.limitKey == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admitLocked(req, req.limitKey, s.opts.RateLimit, s.opts.RateWindow)
}

// admitLocked counts the call in window key, or answers 429 with the time the window frees.
func (s *Simulator) admitLocked(req *request, key string, limit int, span time.Duration) *response {
	w, ok := s.rateWindows[key]
	if !ok {
		w = &window{limit: limit, span: span}
		s.rateWindows[key] = w
	}
	w.prune(req.now)
	if cid, isCID := strings.CutPrefix(key, "cid/"); isCID {
		if until, forced := s.forced[cid]; forced && req.now.Before(until) {
			return tooManyRequests(until)
		}
	}
	if len(w.times) >= w.limit {
		return tooManyRequests(w.times[0].Add(w.span))
	}
	w.times = append(w.times, req.now)
	return nil
}

// tooManyRequests is the 429 reply; Retryafter is a Unix time in seconds, rounded up.
func tooManyRequests(retryAt time.Time) *response {
	res := envelope(http.StatusTooManyRequests, nil, apiError(http.StatusTooManyRequests, "API rate limit exceeded."))
	secs := retryAt.Unix()
	if retryAt.Nanosecond() > 0 {
		secs++
	}
	res.headers = map[string]string{"X-Ratelimit-Retryafter": strconv.FormatInt(secs, 10)}
	return res
}

// budget is the X-Ratelimit-Limit and -Remaining of the window a call counted against.
func (s *Simulator) budget(req *request) (limit, remaining int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req == nil || req.limitKey == "" {
		return s.opts.RateLimit, s.opts.RateLimit
	}
	w, ok := s.rateWindows[req.limitKey]
	if !ok {
		return s.opts.RateLimit, s.opts.RateLimit
	}
	w.prune(req.now)
	return w.limit, max(w.limit-len(w.times), 0)
}

// ForceRateLimit answers every request for cid with 429 until the given time.
func (s *Simulator) ForceRateLimit(cid string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[strings.ToUpper(cid)] = until
}
