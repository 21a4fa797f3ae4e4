package client

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

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

	sem     *semaphore.Weighted // requests in flight (WithMaxInFlight); nil for no cap
	initial int                 // requests let out before the first response; 0 means 1
}

func newLimiter(logger *slog.Logger) *limiter {
	return &limiter{logger: logger, changed: make(chan struct{})}
}

// limiters holds one limiter per endpoint (route): SendGrid allows "a fixed
// number of requests per refresh period" for each endpoint, so the budget
// of one endpoint says nothing about another's, and a request to one must
// not wait on, or count against, another's budget.
type limiters struct {
	logger   *slog.Logger
	inflight int // WithMaxInFlight: a semaphore of this size per endpoint; 0 for none

	mu   sync.Mutex
	m    map[string]*limiter
	last Rate // the latest state reported by any response
}

func newLimiters(logger *slog.Logger) *limiters {
	return &limiters{logger: logger, m: map[string]*limiter{}}
}

// get returns the limiter of route, creating it.
func (ls *limiters) get(route string) *limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.m[route]
	if l == nil {
		l = newLimiter(ls.logger)
		if ls.inflight > 0 {
			l.sem = semaphore.NewWeighted(int64(ls.inflight))
			l.initial = ls.inflight
		}
		ls.m[route] = l
	}
	return l
}

// observe records r as the latest rate state, if it carries any.
func (ls *limiters) observe(r Rate) {
	if r.IsZero() {
		return
	}
	ls.mu.Lock()
	ls.last = r
	ls.mu.Unlock()
}

func (ls *limiters) rate() Rate {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.last
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
		// concurrent start cannot burst past a small limit; with
		// WithMaxInFlight the caller chose how many may go at once.
		return l.inflight < max(l.initial, 1)
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
// passes through its endpoint's shared limiter, the attempt timeout and the
// request hook.
type limitTransport struct {
	base    http.RoundTripper
	lims    *limiters
	hook    func(RequestEvent)
	key     secret.Secret // scrubbed from the error passed to hook
	prefix  string        // the base URL's escaped path, stripped from event paths
	timeout time.Duration // RetryPolicy.AttemptTimeout; 0 for none
}

// RoundTrip implements http.RoundTripper.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, _ := req.Context().Value(routeKey{}).(string)
	lim := t.lims.get(route)
	if lim.sem != nil {
		// In turn (FIFO), then through the endpoint's budget.
		if err := lim.sem.Acquire(req.Context(), 1); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
		defer lim.sem.Release(1)
	}
	if err := lim.acquire(req.Context()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	cancel := context.CancelFunc(func() {})
	if t.timeout > 0 {
		// The deadline covers the body too: it is released when the
		// body is closed (the retry loop reads it in full first).
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
		req = req.WithContext(ctx)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	dur := time.Since(start)
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
	} else {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		if resp.Request == nil {
			resp.Request = req // some RoundTrippers leave it unset
		}
	}
	err = scrubError(err, t.key)
	var h http.Header
	status := 0
	if resp != nil {
		h, status = resp.Header, resp.StatusCode
	}
	rate := lim.release(h, status)
	t.lims.observe(rate)
	if t.hook != nil {
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

// cancelBody releases an attempt's timeout when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and releases the timeout.
func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
