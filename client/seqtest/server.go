package seqtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sgseq/sgseq/client"
)

// TestAPIKey is the only API key the simulated server accepts
// (Authorization: Bearer TestAPIKey).
const TestAPIKey = "SG.seqtest-simulated-key"

// Routes served by [Server], as Go 1.22 ServeMux patterns. Pass one to
// [Server.Handle] to override that route.
const (
	RouteScores        = "GET /v3/engagementquality/scores"
	RouteSubuserScores = "GET /v3/engagementquality/subusers/scores"
	RouteSubusers      = "GET /v3/subusers"
	RouteIPs           = "GET /v3/ips"
	RoutePools         = "GET /v3/ips/pools"
	RoutePool          = "GET /v3/ips/pools/{name}"
	RouteCreatePool    = "POST /v3/ips/pools"
	RouteAddPoolIP     = "POST /v3/ips/pools/{name}/ips"
	RouteRemovePoolIP  = "DELETE /v3/ips/pools/{name}/ips/{ip}"
	RouteAssignIPs     = "PUT /v3/subusers/{name}/ips"
)

// Option configures a [Server].
type Option func(*Server)

// WithAccount serves a instead of DemoAccount(yesterday).
func WithAccount(a *Account) Option { return func(s *Server) { s.acct = a } }

// WithRateLimit allows limit requests per API key in each fixed window of
// length per (measured on the real clock, not WithNow). Every response then
// carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset
// (Unix seconds of the window's end, rounded up), and a request over the
// limit gets 429 {"errors":[{"field":null,"message":"too many requests"}]}.
//
// Because Reset has a resolution of one second, use windows of one second or
// more: with a shorter window a client can only wait for the next second.
// limit ≤ 0 or per ≤ 0 disables rate limiting (the default).
func WithRateLimit(limit int, per time.Duration) Option {
	return func(s *Server) { s.rl = newRateLimiter(limit, per) }
}

// WithPending makes each (endpoint, date or date range, on-behalf-of) key
// answer 202 n times before it answers 200.
func WithPending(n int) Option { return func(s *Server) { s.pending = max(n, 0) } }

// WithFaults makes GET requests fail at the given rate (0..1) with 500, 502,
// 503 or 429, drawn from a pseudo-random sequence seeded with seed: the
// same sequence of requests meets the same faults.
func WithFaults(rate float64, seed int64) Option {
	return func(s *Server) {
		s.faultRate, s.faults = rate, Faults{}
		s.faultRNG = rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	}
}

// WithLatency delays every response by d (or until the request is canceled).
// See [WithLatencyRange] for a jittered delay.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency, s.latencyHi = d, d } }

// WithNow sets the server's clock. "Today" is the UTC day of now(); the
// latest scored day is yesterday. The default is time.Now.
func WithNow(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Call is one request the server received.
type Call struct {
	Method     string     // HTTP method
	Path       string     // escaped form, e.g. /v3/ips/pools/my%20pool
	Query      url.Values // parsed query string
	OnBehalfOf string     // the on-behalf-of header, if any
	Body       string     // request body
	At         time.Time  // arrival (real clock), before any latency
}

// Stats counts the requests the server received.
type Stats struct {
	Requests  int         // every request
	ByStatus  map[int]int // responses by status code
	Throttled int         // 429 responses (rate limit and injected)
	// Injected counts the faults injected by [WithFaults] and
	// [WithFaultMix], by kind: "status" (an error status with a JSON body),
	// "proxy_html", "429_retry_after",
	// "429_bare", "cut_body", "reset_body", "slow_body", "html_200".
	Injected map[string]int
}

// Server is a simulated SendGrid account served over real HTTP on loopback.
// All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the server, e.g. http://127.0.0.1:37791.
	URL string

	ts  *httptest.Server
	mux *http.ServeMux

	now        func() time.Time
	latency    time.Duration
	latencyHi  time.Duration
	latencyRNG *rand.Rand
	pending    int
	pendingFn  func(client.Date) int
	rl         *rateLimiter
	routeRL    map[string]*rateLimiter
	faultRate  float64
	faults     Faults

	mu        sync.Mutex
	acct      *Account
	subsByID  []*Subject // subusers sorted by ID
	subByName map[string]*Subject
	custByID  map[string]*Subject
	faultRNG  *rand.Rand
	pendings  map[string]int
	calls     []Call
	stats     Stats
	failRules []*failRule
	overrides map[string]http.HandlerFunc
}

type failRule struct {
	method, prefix string
	status, afterN int
	seen           int
}

// NewServer starts a simulated SendGrid server on 127.0.0.1 with a random
// port. Without [WithAccount] it serves DemoAccount(yesterday). Close it when
// done (t.Cleanup(s.Close)).
func NewServer(opts ...Option) *Server {
	s := newServer(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewServerAt is like [NewServer] but listens on addr (host:port), for a
// standalone simulator such as "sgseq sim".
func NewServerAt(addr string, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("seqtest: listen on %s: %w", addr, err)
	}
	s := newServer(opts)
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.Listener.Close()
	s.ts.Listener = ln
	s.ts.Start()
	s.URL = s.ts.URL
	return s, nil
}

func newServer(opts []Option) *Server {
	s := &Server{
		now:        time.Now,
		pendings:   map[string]int{},
		overrides:  map[string]http.HandlerFunc{},
		stats:      Stats{ByStatus: map[int]int{}, Injected: map[string]int{}},
		routeRL:    map[string]*rateLimiter{},
		latencyRNG: rand.New(rand.NewPCG(1, 0x1a7e)),
	}
	for _, o := range opts {
		o(s)
	}
	if s.acct == nil {
		s.acct = DemoAccount(client.DateOf(s.now()).AddDays(-1))
	}
	s.acct = cloneAccount(s.acct)
	s.subByName = make(map[string]*Subject, len(s.acct.Subusers))
	s.subsByID = make([]*Subject, len(s.acct.Subusers))
	for i := range s.acct.Subusers {
		sub := &s.acct.Subusers[i]
		s.subsByID[i] = sub
		s.subByName[sub.Username] = sub
	}
	slices.SortStableFunc(s.subsByID, func(a, b *Subject) int { return cmp.Compare(a.ID, b.ID) })
	s.custByID = map[string]*Subject{}
	for i := range s.acct.Customers {
		c := &s.acct.Customers[i]
		s.custByID[c.userID()] = c
	}
	s.mux = http.NewServeMux()
	s.route(RouteScores, s.handleScores)
	s.route(RouteSubuserScores, s.handleSubuserScores)
	s.route(RouteSubusers, s.handleSubusers)
	s.route(RouteIPs, s.handleIPs)
	s.route(RoutePools, s.handlePools)
	s.route(RoutePool, s.handlePool)
	s.route(RouteCreatePool, s.handleCreatePool)
	s.route(RouteAddPoolIP, s.handleAddPoolIP)
	s.route(RouteRemovePoolIP, s.handleRemovePoolIP)
	s.route(RouteAssignIPs, s.handleAssignIPs)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "not found")
	})
	return s
}

// cloneAccount copies a deeply enough that the server's mutations (IPs,
// pools) and subuser lookups never touch the caller's value. Histories are
// shared: the server only reads them.
func cloneAccount(a *Account) *Account {
	c := *a
	c.Subusers = slices.Clone(a.Subusers)
	c.Customers = slices.Clone(a.Customers)
	c.Pools = slices.Clone(a.Pools)
	c.IPs = make([]IPAddr, len(a.IPs))
	for i, ip := range a.IPs {
		ip.Pools = slices.Clone(ip.Pools)
		ip.Subusers = slices.Clone(ip.Subusers)
		c.IPs[i] = ip
	}
	c.planted = slices.Clone(a.planted)
	return &c
}

// Close shuts the server down, blocking until outstanding requests end.
func (s *Server) Close() { s.ts.Close() }

// Account returns a copy of the account as it is now, including the
// effect of IP and pool mutations.
func (s *Server) Account() *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAccount(s.acct)
}

// Handle overrides route (one of the Route constants) with h. Auth, rate
// limiting, faults, latency and recording still apply. Calling Handle with a
// nil h restores the built-in handler.
func (s *Server) Handle(route string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.overrides, route)
		return
	}
	s.overrides[route] = h
}

// FailOn makes requests with this method whose path (escaped or not) starts
// with pathPrefix succeed afterN times, then fail with status and an errors
// body. It is meant for mutation routes (apply tests) but works on any.
func (s *Server) FailOn(method, pathPrefix string, status int, afterN int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRules = append(s.failRules, &failRule{method: method, prefix: pathPrefix, status: status, afterN: afterN})
}

// Calls returns every request received so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Stats returns request counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = make(map[int]int, len(s.stats.ByStatus))
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	st.Injected = make(map[string]int, len(s.stats.Injected))
	for k, v := range s.stats.Injected {
		st.Injected[k] = v
	}
	return st
}

// today is the server's current UTC day.
func (s *Server) today() client.Date { return client.DateOf(s.now()) }

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the connection (Flush, Hijack).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler: record, delay, authenticate, rate
// limit, inject faults and failures, then route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w}
	s.mu.Lock()
	s.calls = append(s.calls, Call{
		Method:     r.Method,
		Path:       r.URL.EscapedPath(),
		Query:      r.URL.Query(),
		OnBehalfOf: r.Header.Get("on-behalf-of"),
		Body:       string(body),
		At:         time.Now(),
	})
	s.stats.Requests++
	s.mu.Unlock()
	defer func() {
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.mu.Lock()
		s.stats.ByStatus[rec.status]++
		if rec.status == http.StatusTooManyRequests {
			s.stats.Throttled++
		}
		s.mu.Unlock()
	}()

	if lat := s.latencyFor(); lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			writeError(rec, http.StatusServiceUnavailable, "", "request canceled")
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+TestAPIKey {
		writeError(rec, http.StatusUnauthorized, "", "authorization required")
		return
	}
	_, pattern := s.mux.Handler(r)
	rl := s.rl
	if erl := s.routeRL[pattern]; erl != nil {
		rl = erl
	}
	if rl != nil {
		ok, st := rl.take(TestAPIKey, time.Now())
		st.setHeaders(rec.Header())
		if !ok {
			writeError(rec, http.StatusTooManyRequests, "", "too many requests")
			return
		}
	}
	kind, cut := faultNone, 0.0
	if r.Method == http.MethodGet {
		var status int
		kind, status, cut = s.drawFault()
		if kind != faultNone {
			s.mu.Lock()
			s.stats.Injected[faultNames[kind]]++
			s.mu.Unlock()
		}
		switch kind {
		case faultStatus:
			if status == http.StatusTooManyRequests {
				// Injected throttling carries no reset of its own: the
				// rate-limit headers (if any) stay those of the real window.
				writeError(rec, status, "", "too many requests")
				return
			}
			writeError(rec, status, "", http.StatusText(status))
			return
		case faultProxyHTML:
			writeHTML(rec, status, proxyPage(status))
			return
		case faultThrottle:
			rec.Header().Set("Retry-After", "1")
			writeError(rec, http.StatusTooManyRequests, "", "too many requests")
			return
		case faultThrottleBare:
			writeError(rec, http.StatusTooManyRequests, "", "too many requests")
			return
		case faultHTML200:
			writeHTML(rec, http.StatusOK, []byte(htmlPage))
			return
		}
	}
	if status, ok := s.failing(r); ok {
		writeError(rec, status, "", "injected failure")
		return
	}
	switch kind {
	case faultCut, faultReset, faultSlow:
		s.serveBodyFault(rec, r, kind, cut, s.mux)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// route wraps a built-in handler so that [Server.Handle] can override it.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		o := s.overrides[pattern]
		s.mu.Unlock()
		if o != nil {
			o(w, r)
			return
		}
		h(w, r)
	})
}

// failing applies the FailOn rules to r.
func (s *Server) failing(r *http.Request) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.failRules {
		if f.method != r.Method {
			continue
		}
		if !strings.HasPrefix(r.URL.EscapedPath(), f.prefix) && !strings.HasPrefix(r.URL.Path, f.prefix) {
			continue
		}
		f.seen++
		if f.seen > f.afterN {
			return f.status, true
		}
	}
	return 0, false
}

// consumePending reports whether the request with this key, for the dates
// from..to, should still be answered 202.
func (s *Server) consumePending(key string, from, to client.Date) bool {
	n := s.pendingCount(from, to)
	if n <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pendings[key] >= n {
		return false
	}
	s.pendings[key]++
	return true
}

// errorBody is SendGrid's error document.
type errorBody struct {
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Field   *string `json:"field"`
	Message string  `json:"message"`
}

// writeError writes {"errors":[{"field":...,"message":...}]}; an empty
// field is written as null.
func writeError(w http.ResponseWriter, status int, field, msg string) {
	it := errorItem{Message: msg}
	if field != "" {
		it.Field = &field
	}
	writeJSON(w, status, errorBody{Errors: []errorItem{it}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":[{"field":null,"message":"encoding failed"}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
