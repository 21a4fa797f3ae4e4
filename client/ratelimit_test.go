package client

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// windowServer simulates SendGrid's rate limit on synctest's fake clock:
// limit requests per window, 429 beyond, with latency per request.
type windowServer struct {
	limit   int
	window  time.Duration
	latency time.Duration
	start   time.Time

	mu          sync.Mutex
	used        map[int64]int
	inFlight    int
	maxInFlight int
	throttled   int
	served      []time.Time
}

func (s *windowServer) respond(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	now := time.Now()
	idx := int64(now.Sub(s.start) / s.window)
	s.used[idx]++
	n := s.used[idx]
	s.served = append(s.served, now)
	s.mu.Unlock()

	time.Sleep(s.latency)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	reset := s.start.Add(time.Duration(idx+1) * s.window)
	delta := strconv.Itoa(int(math.Ceil(time.Until(reset).Seconds())))
	remaining := strconv.Itoa(max(s.limit-n, 0))
	kv := []string{HeaderRateLimit, strconv.Itoa(s.limit), HeaderRateRemaining, remaining, HeaderRateReset, delta}
	if n > s.limit {
		s.throttled++
		return jsonResp(429, `{"errors":[{"field":null,"message":"too many requests"}]}`, kv...), nil
	}
	return jsonResp(200, `[{"name":"pool"}]`, kv...), nil
}

// TestLimiterConcurrentSweep runs many goroutines against a server allowing
// 3 requests per 10s: the limiter must keep them within budget (no 429, no
// more in flight than the budget) and send the rest after the reset.
func TestLimiterConcurrentSweep(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &windowServer{limit: 3, window: 10 * time.Second, latency: 100 * time.Millisecond, start: time.Now(), used: map[int64]int{}}
		// No retries: a 429 would surface as an error.
		c, _ := newMocked(t, srv.respond, WithRetryPolicy(RetryPolicy{}))
		ctx := context.Background()
		if _, err := c.Pools(ctx); err != nil { // learn the budget: 2 left
			t.Fatal(err)
		}
		const workers = 8
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range workers {
			wg.Go(func() {
				cl := c
				if i%2 == 0 {
					cl = c.OnBehalfOf("sub" + strconv.Itoa(i)) // copies share the limiter
				}
				_, err := cl.Pools(ctx)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("request failed: %v", err)
			}
		}
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if srv.throttled != 0 {
			t.Errorf("%d requests throttled with 429", srv.throttled)
		}
		if srv.maxInFlight > 3 {
			t.Errorf("%d requests in flight at once, budget was 3", srv.maxInFlight)
		}
		// 1 + 8 requests at 3 per window: windows 0, 1, 2 hold 3 each.
		perWindow := map[int64]int{}
		for _, at := range srv.served {
			perWindow[int64(at.Sub(srv.start)/srv.window)]++
		}
		for w, n := range perWindow {
			if n > 3 {
				t.Errorf("window %d served %d requests", w, n)
			}
		}
		if len(srv.served) != 1+workers {
			t.Errorf("%d requests served", len(srv.served))
		}
		if r := c.Rate(); r.Limit != 3 {
			t.Errorf("Rate() = %v", r)
		}
	})
}

// TestLimiterHoldsUntilReset: after a response with Remaining 0, the next
// request is not sent before the reset.
func TestLimiterHoldsUntilReset(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, rec := newMocked(t, sequence(
			respond(200, `[]`, HeaderRateLimit, "5", HeaderRateRemaining, "0", HeaderRateReset, "7"),
			respond(200, `[]`, HeaderRateLimit, "5", HeaderRateRemaining, "4", HeaderRateReset, "60"),
		))
		start := time.Now()
		for range 2 {
			if _, err := c.Pools(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		reqs := rec.all()
		if got := reqs[1].At.Sub(start); got < 7*time.Second {
			t.Errorf("second request sent %v after the first, before the 7s reset", got)
		}
		if r := c.Rate(); r.Remaining != 4 || r.Limit != 5 {
			t.Errorf("Rate() = %v", r)
		}
	})
}

// TestLimiterHoldRespectsContext: a held request gives up with the context
// and is never sent.
func TestLimiterHoldRespectsContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, rec := newMocked(t, respond(200, `[]`, HeaderRateLimit, "5", HeaderRateRemaining, "0", HeaderRateReset, "30"))
		if _, err := c.Pools(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := c.Pools(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		if rec.count() != 1 {
			t.Errorf("%d requests sent, want 1", rec.count())
		}
	})
}

// TestLimiterCapsHold: a reset far in the future (clock skew) holds at most
// maxHold.
func TestLimiterCapsHold(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, rec := newMocked(t, respond(200, `[]`, HeaderRateLimit, "5", HeaderRateRemaining, "0", HeaderRateReset, "36000"))
		start := time.Now()
		for range 2 {
			if _, err := c.Pools(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := rec.all()[1].At.Sub(start); got > maxHold+time.Second {
			t.Errorf("held %v, want at most %v", got, maxHold)
		}
	})
}

// TestLimiterOutOfOrder: within one window the lowest Remaining wins, so a
// late response cannot re-open a spent budget.
func TestLimiterOutOfOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(slog.New(slog.DiscardHandler))
		h := func(rem string) http.Header {
			h := http.Header{}
			h.Set(HeaderRateLimit, "10")
			h.Set(HeaderRateRemaining, rem)
			h.Set(HeaderRateReset, "30")
			return h
		}
		ctx := context.Background()
		if err := l.acquire(ctx); err != nil { // the probe
			t.Fatal(err)
		}
		l.release(h("5"), 200)
		for range 2 {
			if err := l.acquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		l.release(h("0"), 200)
		l.release(h("1"), 200) // older response arriving late
		done := make(chan error, 1)
		go func() { done <- l.acquire(ctx) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("acquire returned %v before the reset", err)
		default:
		}
		time.Sleep(31 * time.Second)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestLimiterProbesFirst: before any response the limiter lets one request
// through; a server without rate-limit headers is then not throttled.
func TestLimiterProbesFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(slog.New(slog.DiscardHandler))
		ctx := context.Background()
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
		second := make(chan error, 1)
		go func() { second <- l.acquire(ctx) }()
		synctest.Wait()
		select {
		case <-second:
			t.Fatal("second request sent before the probe's response")
		default:
		}
		l.release(http.Header{}, 200) // no rate headers at all
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		for range 10 { // unlimited from now on
			if err := l.acquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestLimiterHoldSharedAcrossCopies spends the budget through one client and
// checks that OnBehalfOf and OnBehalfOfAccount copies used from other
// goroutines are held until the reset as well (fake clock).
func TestLimiterHoldSharedAcrossCopies(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, rec := newMocked(t, sequence(
			respond(200, `[]`, HeaderRateLimit, "10", HeaderRateRemaining, "0", HeaderRateReset, "7"),
			respond(200, `[]`, HeaderRateLimit, "10", HeaderRateRemaining, "9", HeaderRateReset, "60"),
		))
		start := time.Now()
		if _, err := c.Pools(context.Background()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, cl := range []*Client{c, c.OnBehalfOf("sub1"), c.OnBehalfOfAccount("42"), c.OnBehalfOf("sub2")} {
			wg.Go(func() {
				if _, err := cl.Pools(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		if n := rec.count(); n != 1 {
			t.Fatalf("%d requests sent while the budget was spent, want only the first", n)
		}
		wg.Wait()
		reqs := rec.all()
		if len(reqs) != 5 {
			t.Fatalf("%d requests, want 5", len(reqs))
		}
		for i, r := range reqs[1:] {
			if got := r.At.Sub(start); got < 7*time.Second {
				t.Errorf("request %d sent %v after the first, before the 7s reset", i+1, got)
			}
		}
	})
}
