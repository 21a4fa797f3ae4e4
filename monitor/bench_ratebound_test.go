package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/history"
)

// BenchmarkBackfillRateBound backfills 10,000 subusers × 20 days (and the
// parent) through a SEQ rate limit of 20 requests per 2-second window on
// each Engagement Quality endpoint (10/s), with 250–350 ms of latency per
// response and 7 of the 20 dates answering 202 once or twice first, with
// the client's default retry policy and the default sweep settings except
// sweep.concurrency 16 (so that one window's budget of 20 goes out in two
// rounds). It reports the wall time against the bound (subuser-scores
// requests − burst) ÷ rate, the share of SEQ requests answered 429, and the
// wall time against the best a client can do on fixed windows (x-ideal,
// below), and fails if a day is not stored.
//
// The server's windows are fixed (aligned to even Unix seconds, as
// X-RateLimit-Reset reports them), so the best any client can do depends
// on when in a window it starts: starting just after a window opened
// wastes nothing at the start but can need one more window at the end.
// Iteration i starts at i×0.5s into a window (cycling over 0, 0.5, 1 and
// 1.5s), and the metrics are the mean over the iterations (x-bound-max the
// worst). The ideal is the start of the server window in which the last
// request must be counted (20 per window, the first one shortened by the
// phase) plus the minimum latency of its answer: what a client knowing
// the limit from the start, with no page walk to chain, would take. Run it on its own, 4 iterations to cover the phases:
//
//	go test -run '^$' -bench BenchmarkBackfillRateBound -benchtime 4x ./monitor/
func BenchmarkBackfillRateBound(b *testing.B) {
	const (
		subusers = 10000
		days     = 20
		limit    = 20
		window   = 2 * time.Second
	)
	rate := float64(limit) / window.Seconds()
	clk := newTestClock(time.Now())
	end := client.DateOf(clk.Now()).AddDays(-1)
	acct := seqtest.GenerateAccount(1, subusers, days+5, end)
	pending := map[client.Date]int{}
	for i, n := range []int{1, 2, 1, 1, 2, 1, 2} { // 7 dates spread over the window
		pending[end.AddDays(-(1 + 3*i))] = n
	}
	var sumRatio, maxRatio, sumShare, sumWall, sumBound, sumIdeal float64
	var n int
	for b.Loop() {
		b.StopTimer()
		phase := time.Duration(n%4) * window / 4
		srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now),
			seqtest.WithEndpointRateLimit(limit, window, seqtest.RouteScores, seqtest.RouteSubuserScores),
			seqtest.WithLatencyRange(250*time.Millisecond, 350*time.Millisecond),
			seqtest.WithPendingDates(pending))
		st := openTestStore(b)
		cfg := DefaultConfig()
		cfg.SendGrid.APIKey = seqtest.TestAPIKey
		cfg.HTTP.Addr = ""
		cfg.Sweep.Concurrency = 16
		d, err := New(context.Background(), cfg, WithStore(st), WithClock(clk.Now), WithNotifier(&recorder{}), WithoutPoolDetector(),
			WithClientFunc(func(opts ...client.Option) (*client.Client, error) {
				return client.New(seqtest.TestAPIKey, append([]client.Option{client.WithBaseURL(srv.URL), client.WithNow(clk.Now)}, opts...)...)
			}))
		if err != nil {
			b.Fatal(err)
		}
		// Start at the iteration's phase of the server's window.
		now := time.Now()
		at := now.Truncate(window).Add(phase)
		if !at.After(now) {
			at = at.Add(window)
		}
		time.Sleep(time.Until(at))
		b.StartTimer()

		start := time.Now()
		var stored time.Duration // when the last day was stored
		res, err := d.Sweep(context.Background(), SweepOptions{Days: days, FetchOnly: true, Progress: func(done, total int) {
			if done == total {
				stored = time.Since(start)
			}
		}})
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		for _, scope := range []string{history.ScopeParent, history.ScopeSubusers} {
			done, err := st.CompletedDates(context.Background(), scope, end.AddDays(-(days - 1)), end)
			if err != nil || len(done) != days {
				b.Fatalf("%s: %d of %d days stored (%v); missing %+v", scope, len(done), days, err, res.Missing)
			}
		}
		var seq, subScores, seq429 int
		for _, c := range srv.Calls() {
			if strings.HasPrefix(c.Path, "/v3/engagementquality/") {
				seq++
				if strings.HasPrefix(c.Path, "/v3/engagementquality/subusers/") {
					subScores++
				}
			}
		}
		if testing.Verbose() {
			// Requests per server window, to see where time goes.
			var perWin []int
			var first, last time.Time
			w0 := start.Truncate(window)
			for _, c := range srv.Calls() {
				if strings.HasPrefix(c.Path, "/v3/engagementquality/subusers/") {
					i := int(c.At.Sub(w0) / window)
					for len(perWin) <= i {
						perWin = append(perWin, 0)
					}
					perWin[i]++
					if first.IsZero() {
						first = c.At
					}
					last = c.At
				}
			}
			b.Logf("first SEQ request %s after start, last %s; per window %v", first.Sub(start), last.Sub(start), perWin)
		}
		stats := srv.Stats()
		seq429 = stats.Throttled // only the SEQ endpoints are limited, nothing else injects 429
		bound := time.Duration(float64(subScores-limit) / rate * float64(time.Second))
		first := window - start.Sub(start.Truncate(window)) // what is left of the first window
		ideal := first + time.Duration((subScores+limit-1)/limit-2)*window + 250*time.Millisecond
		ratio := wall.Seconds() / bound.Seconds()
		share := float64(seq429) / float64(seq)
		n++
		sumRatio, sumShare, sumWall, sumBound = sumRatio+ratio, sumShare+share, sumWall+wall.Seconds(), sumBound+bound.Seconds()
		sumIdeal += wall.Seconds() / ideal.Seconds()
		maxRatio = max(maxRatio, ratio)
		b.ReportMetric(sumWall/float64(n), "wall-s")
		b.ReportMetric(sumBound/float64(n), "bound-s")
		b.ReportMetric(sumRatio/float64(n), "x-bound")
		b.ReportMetric(maxRatio, "x-bound-max")
		b.ReportMetric(sumIdeal/float64(n), "x-ideal")
		b.ReportMetric(100*sumShare/float64(n), "%429")
		b.ReportMetric(float64(seq), "seq-requests")
		b.Logf("phase %s: backfill %d subusers × %d days: %s wall (every day stored after %s); bound (%d subuser-scores requests − %d) ÷ %.0f/s = %s; ratio %.3f; fixed-window ideal %s (ratio %.3f); "+
			"SEQ requests %d (%d 429 = %.2f%%), all requests %d by status %v; sweep retried %d; %d days stored",
			phase, subusers, days, wall.Round(time.Millisecond), stored.Round(time.Millisecond), subScores, limit, rate, bound.Round(time.Millisecond), ratio, ideal.Round(time.Millisecond), wall.Seconds()/ideal.Seconds(),
			seq, seq429, 100*share, stats.Requests, stats.ByStatus, res.Retried, len(res.Fetched))
		srv.Close()
		d.Close()
		b.StartTimer()
	}
}
