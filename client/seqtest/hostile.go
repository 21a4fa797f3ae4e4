package seqtest

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sgseq/sgseq/client"
)

// WithLatencyRange delays every response by a duration drawn uniformly
// from [lo, hi] (or until the request is canceled): the jitter of a real
// network. It replaces [WithLatency].
func WithLatencyRange(lo, hi time.Duration) Option {
	return func(s *Server) {
		s.latency, s.latencyHi = max(lo, 0), max(hi, lo, 0)
	}
}

// WithPendingDates makes each listed date answer 202 Accepted the given
// number of times (per endpoint and on-behalf-of subject) before it
// answers 200; a Scores range answers 202 as many times as its most
// pending date. It adds to [WithPending]: a date answers 202 as many
// times as the larger of the two says.
func WithPendingDates(n map[client.Date]int) Option {
	m := make(map[client.Date]int, len(n))
	for d, k := range n {
		m[d] = k
	}
	return func(s *Server) { s.pendingFn = func(d client.Date) int { return m[d] } }
}

// WithEndpointRateLimit gives each of routes (Route constants) its own
// fixed window of limit requests per per and per API key, as SendGrid
// does ("each endpoint permits a fixed number of requests per refresh
// period"). Responses of those routes carry the X-RateLimit-* headers of
// their own window; a request over the limit gets 429. Other routes keep
// the [WithRateLimit] window, if any.
func WithEndpointRateLimit(limit int, per time.Duration, routes ...string) Option {
	return func(s *Server) {
		for _, r := range routes {
			if rl := newRateLimiter(limit, per); rl != nil {
				s.routeRL[r] = rl
			} else {
				delete(s.routeRL, r)
			}
		}
	}
}

// Faults is a mix of the ways a flaky proxy or an overloaded API answers a
// GET. Each rate is the fraction (0..1) of GET requests answered that way,
// drawn from a pseudo-random sequence seeded with Seed; the rates add up
// (at most 1 in all). Use it with [WithFaultMix].
type Faults struct {
	// Seed seeds the sequence: the same requests in the same order meet
	// the same faults.
	Seed int64
	// Status5xx answers 500, 502, 503 or 504 with SendGrid's JSON error
	// body.
	Status5xx float64
	// ProxyHTML answers 502, 503 or 504 with an HTML page, as a proxy or
	// load balancer in front of the API does.
	ProxyHTML float64
	// Throttle answers 429 with "Retry-After: 1".
	Throttle float64
	// ThrottleBare answers 429 without Retry-After (the X-RateLimit-*
	// headers, if any, are those of the real window).
	ThrottleBare float64
	// CutBody answers 200 with the body cut at a random point and a
	// Content-Length that matches the cut: the HTTP exchange is complete,
	// the JSON is not.
	CutBody float64
	// ResetBody answers 200 announcing the full Content-Length, sends part
	// of the body and resets the connection.
	ResetBody float64
	// SlowBody answers 200, sends half the body, stalls for SlowFor (or
	// until the request is canceled), then sends the rest.
	SlowBody float64
	// SlowFor is the stall of SlowBody; 0 means 2s.
	SlowFor time.Duration
	// HTML200 answers 200 with an HTML page (a captive portal, a proxy's
	// login page).
	HTML200 float64
}

// WithFaultMix injects f into GET requests. It replaces [WithFaults].
func WithFaultMix(f Faults) Option {
	return func(s *Server) {
		s.faults, s.faultRate = f, 0
		if s.faults.SlowFor <= 0 {
			s.faults.SlowFor = 2 * time.Second
		}
		s.faultRNG = rand.New(rand.NewPCG(uint64(f.Seed), 0x5eed))
	}
}

// Hostile is a ready-made hostile API: everything [Faults] can do, at
// rates a client must survive, behind SendGrid-like limits. It is what
// sgseq's own end-to-end tests run against, and what "sgseq sim
// --hostile" serves. In detail:
//
//   - latency 100–300 ms per response;
//   - each Engagement Quality endpoint limited to 20 requests per 2-second
//     window (X-RateLimit-* headers, 429 over the limit);
//   - every third day (by day of the month) answers 202 once, every fifth
//     day twice, before its scores;
//   - of GET requests: 3% 5xx with a JSON body, 3% a proxy's HTML 502/503/504,
//     2% 429 with Retry-After, 2% 429 without, 4% a 200 cut off with a
//     matching Content-Length, 3% a 200 reset mid-body, 2% a 200 that
//     stalls 2s half-way, 2% an HTML page with 200.
//
// Combine it with other options (given after it, they override it), for
// example [WithAccount] or [WithLatencyRange].
func Hostile(seed int64) Option {
	opts := []Option{
		WithLatencyRange(100*time.Millisecond, 300*time.Millisecond),
		WithEndpointRateLimit(20, 2*time.Second, RouteScores, RouteSubuserScores),
		func(s *Server) { s.pendingFn = hostilePending },
		WithFaultMix(Faults{
			Seed:      seed,
			Status5xx: 0.03, ProxyHTML: 0.03,
			Throttle: 0.02, ThrottleBare: 0.02,
			CutBody: 0.04, ResetBody: 0.03, SlowBody: 0.02, SlowFor: 2 * time.Second,
			HTML200: 0.02,
		}),
	}
	return func(s *Server) {
		for _, o := range opts {
			o(s)
		}
	}
}

// hostilePending is the 202 script of [Hostile].
func hostilePending(d client.Date) int {
	switch {
	case d.Day%5 == 0:
		return 2
	case d.Day%3 == 0:
		return 1
	}
	return 0
}

// fault kinds drawn by drawFault.
type faultKind int

const (
	faultNone faultKind = iota
	faultStatus
	faultProxyHTML
	faultThrottle
	faultThrottleBare
	faultCut
	faultReset
	faultSlow
	faultHTML200
)

// faultNames are the keys of Stats.Injected.
var faultNames = map[faultKind]string{
	faultStatus: "status", faultProxyHTML: "proxy_html", faultThrottle: "429_retry_after", faultThrottleBare: "429_bare",
	faultCut: "cut_body", faultReset: "reset_body", faultSlow: "slow_body", faultHTML200: "html_200",
}

// drawFault draws the fault of the next GET request: the [Faults] mix, or
// the legacy [WithFaults] rate. status is set for the status faults.
func (s *Server) drawFault() (kind faultKind, status int, cut float64) {
	if s.faultRNG == nil {
		return faultNone, 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.faultRNG.Float64()
	if s.faultRate > 0 {
		if x >= s.faultRate {
			return faultNone, 0, 0
		}
		codes := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusTooManyRequests}
		return faultStatus, codes[s.faultRNG.IntN(len(codes))], 0
	}
	f := s.faults
	for _, k := range []struct {
		kind faultKind
		rate float64
	}{
		{faultStatus, f.Status5xx}, {faultProxyHTML, f.ProxyHTML}, {faultThrottle, f.Throttle},
		{faultThrottleBare, f.ThrottleBare}, {faultCut, f.CutBody}, {faultReset, f.ResetBody},
		{faultSlow, f.SlowBody}, {faultHTML200, f.HTML200},
	} {
		if x < k.rate {
			switch k.kind {
			case faultStatus:
				codes := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
				status = codes[s.faultRNG.IntN(len(codes))]
			case faultProxyHTML:
				codes := []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
				status = codes[s.faultRNG.IntN(len(codes))]
			}
			return k.kind, status, 0.1 + 0.8*s.faultRNG.Float64()
		}
		x -= k.rate
	}
	return faultNone, 0, 0
}

// proxyPage is what nginx answers when the upstream fails.
func proxyPage(status int) []byte {
	t := strconv.Itoa(status) + " " + http.StatusText(status)
	return []byte("<html>\r\n<head><title>" + t + "</title></head>\r\n<body>\r\n<center><h1>" + t +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}

// htmlPage is a captive portal's answer.
const htmlPage = `<!DOCTYPE html><html><head><title>Network login</title></head><body><h1>Please sign in to continue</h1><form method="post"><input name="user"></form></body></html>`

// writeHTML writes an HTML page with status.
func writeHTML(w http.ResponseWriter, status int, page []byte) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

// bodyRecorder buffers a handler's answer so that a body fault can be
// applied to it.
type bodyRecorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bodyRecorder) Header() http.Header { return b.h }
func (b *bodyRecorder) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bodyRecorder) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

// serveBodyFault runs next into a buffer and, when it answers 200 with a
// body, delivers that body per kind: cut with a matching Content-Length,
// reset mid-body, or stalled half-way. Other answers pass unchanged.
func (s *Server) serveBodyFault(w http.ResponseWriter, r *http.Request, kind faultKind, cut float64, next http.Handler) {
	rec := &bodyRecorder{h: http.Header{}}
	next.ServeHTTP(rec, r)
	for k, v := range rec.h {
		w.Header()[k] = v
	}
	body := rec.buf.Bytes()
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status != http.StatusOK || len(body) < 2 {
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
		return
	}
	at := min(max(int(float64(len(body))*cut), 1), len(body)-1)
	switch kind {
	case faultCut:
		w.Header().Set("Content-Length", strconv.Itoa(at))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:at])
	case faultReset:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:at])
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		conn, _, err := rc.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // closes the connection mid-body
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST, not FIN
		}
		_ = conn.Close()
	case faultSlow:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		_ = http.NewResponseController(w).Flush()
		t := time.NewTimer(s.faults.SlowFor)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		_, _ = w.Write(body[half:])
	}
}

// latencyFor draws the delay of one response.
func (s *Server) latencyFor() time.Duration {
	if s.latencyHi <= s.latency {
		return s.latency
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency + time.Duration(s.latencyRNG.Int64N(int64(s.latencyHi-s.latency)+1))
}

// pendingCount is how many times a request covering dates answers 202.
func (s *Server) pendingCount(from, to client.Date) int {
	n := s.pending
	if s.pendingFn != nil {
		for d := from; !d.After(to); d = d.AddDays(1) {
			n = max(n, s.pendingFn(d))
		}
	}
	return n
}
