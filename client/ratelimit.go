package client

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sgseq/sgseq/internal/secret"
)

// maxHold caps how long the limiter holds requests for one window, so a
// skewed clock or a far-off X-RateLimit-Reset cannot stall a client for
// long. After it the window is treated as reset.
const maxHold = time.Minute

// limiter is the rate-limit budget shared by a Client and its copies. It
// learns Limit, Remaining and Reset from every response; while the budget
// (Remaining minus requests in flight) is exhausted it holds new requests
// until a response refreshes the budget or the window resets.
type limiter struct {
	logger *slog.Logger

	mu        sync.Mutex
	known     bool      // the window below is valid
	limit     int       // requests per window (0 if unknown)
	remaining int       // lowest Remaining reported in the current window
	reset     time.Time // end of the window (zero if unknown)
	inflight  int       // requests sent, response not yet seen
	probed    bool      // a first response (or failure) has been seen
	last      Rate      // the latest state reported by a response
	changed   chan struct{}
}

func newLimiter(logger *slog.Logger) *limiter {
	return &limiter{logger: logger, changed: make(chan struct{})}
}

func (l *limiter) rate() Rate {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// acquire waits until a request may be sent and counts it as in flight. It
// returns ctx's error if ctx ends first.
func (l *limiter) acquire(ctx context.Context) error {
	logged := false
	for {
		l.mu.Lock()
		now := time.Now()
		if l.known && !l.reset.IsZero() && !now.Before(l.reset) {
			// The window is over: a fresh budget, if the size is known.
			if l.limit > 0 {
				l.remaining = l.limit
			} else {
				l.known = false
			}
			l.reset = time.Time{}
		}
		if l.mayGo() {
			l.inflight++
			l.mu.Unlock()
			return nil
		}
		// Out of budget: wait for a response to refresh it or for the reset.
		var timer *time.Timer
		var fire <-chan time.Time
		if !l.reset.IsZero() {
			timer = time.NewTimer(l.reset.Sub(now))
			fire = timer.C
		}
		if !logged {
			l.logger.LogAttrs(ctx, slog.LevelDebug, "sgseq: rate limit budget exhausted, holding request",
				slog.Int("remaining", l.remaining), slog.Int("in_flight", l.inflight), slog.Time("reset", l.reset))
			logged = true
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return ctx.Err()
		case <-changed:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// mayGo reports whether a request may be sent now; l.mu is held.
func (l *limiter) mayGo() bool {
	switch {
	case !l.probed:
		// The very first request probes the budget alone, so that a
		// concurrent start cannot burst past a small limit.
		return l.inflight == 0
	case !l.known:
		return true // the server sends no rate-limit headers
	case l.remaining-l.inflight > 0:
		return true
	case l.inflight == 0 && l.reset.IsZero():
		return true // spent, but no reset known: let one through to learn
	}
	return false
}

// release ends an in-flight request and records the rate-limit headers of
// its response (h may be nil after a transport error). It returns the rate
// state to report for this attempt.
func (l *limiter) release(h http.Header, status int) Rate {
	now := time.Now()
	r, ok := Rate{}, false
	if h != nil {
		r, ok = parseRate(h, now)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	l.probed = true
	if ok {
		l.last = r
		reset := r.Reset
		if !reset.IsZero() && reset.Sub(now) > maxHold {
			reset = now.Add(maxHold)
		}
		remaining := r.Remaining
		if status == http.StatusTooManyRequests {
			remaining = 0
		}
		// Responses of one window may arrive out of order: keep the
		// lowest Remaining unless the reset moved to a later window.
		sameWindow := l.known && !l.reset.IsZero() && !reset.IsZero() && reset.Sub(l.reset).Abs() < time.Second
		switch {
		case sameWindow:
			l.remaining = min(l.remaining, remaining)
			if reset.After(l.reset) {
				l.reset = reset
			}
		case l.known && !l.reset.IsZero() && !reset.IsZero() && reset.Before(l.reset):
			// A late response from an earlier window: ignore its budget.
		default:
			l.remaining, l.reset = remaining, reset
		}
		if r.Limit > 0 {
			l.limit = r.Limit
		}
		l.known = true
	}
	close(l.changed)
	l.changed = make(chan struct{})
	if !ok {
		return l.last
	}
	return r
}

// limitTransport sits beneath the retrying client so that every attempt
// passes through the shared limiter and the request hook.
type limitTransport struct {
	base   http.RoundTripper
	lim    *limiter
	hook   func(RequestEvent)
	key    secret.Secret // scrubbed from the error passed to hook
	prefix string        // the base URL's escaped path, stripped from event paths
}

// RoundTrip implements http.RoundTripper.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.lim.acquire(req.Context()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	dur := time.Since(start)
	err = scrubError(err, t.key)
	var h http.Header
	status := 0
	if resp != nil {
		h, status = resp.Header, resp.StatusCode
	}
	rate := t.lim.release(h, status)
	if t.hook != nil {
		route, _ := req.Context().Value(routeKey{}).(string)
		t.hook(RequestEvent{
			Method:     req.Method,
			Path:       strings.TrimPrefix(req.URL.EscapedPath(), t.prefix),
			Route:      route,
			StatusCode: status,
			Err:        err,
			Duration:   dur,
			Rate:       rate,
		})
	}
	return resp, err
}

// CloseIdleConnections forwards to the wrapped transport.
func (t *limitTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
