package seqtest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateLimiter is a fixed-window request budget per API key. Windows are
// aligned to multiples of per (time.Time.Truncate), so with a whole-second
// per the reset time is an exact Unix second.
type rateLimiter struct {
	limit int
	per   time.Duration

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	end  time.Time
	used int
}

// rateState is what the X-RateLimit-* headers report.
type rateState struct {
	limit, remaining int
	reset            time.Time
}

func newRateLimiter(limit int, per time.Duration) *rateLimiter {
	if limit <= 0 || per <= 0 {
		return nil
	}
	return &rateLimiter{limit: limit, per: per, windows: map[string]*window{}}
}

// take spends one request of key's budget at now. It reports whether the
// request is allowed and the state to put in the headers.
func (l *rateLimiter) take(key string, now time.Time) (bool, rateState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if w == nil || !now.Before(w.end) {
		start := now.Truncate(l.per)
		w = &window{end: start.Add(l.per)}
		l.windows[key] = w
	}
	st := rateState{limit: l.limit, reset: w.end}
	if w.used >= l.limit {
		return false, st
	}
	w.used++
	st.remaining = l.limit - w.used
	return true, st
}

// setHeaders writes the X-RateLimit-* headers. Reset is the window's end in
// Unix seconds, rounded up.
func (st rateState) setHeaders(h http.Header) {
	reset := st.reset.Unix()
	if st.reset.Nanosecond() != 0 {
		reset++
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(st.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
}
