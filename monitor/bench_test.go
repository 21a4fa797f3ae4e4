package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

// BenchmarkSweep10k backfills 90 days of 10,000 subusers (and the parent)
// against the simulated server limited to 100 requests per second, then
// runs detection, and reports the elapsed time against the rate-limit bound
// (requests ÷ rate) and the number of 429 answers. Run it on its own:
//
//	go test -run '^$' -bench BenchmarkSweep10k -benchtime 1x ./monitor/
func BenchmarkSweep10k(b *testing.B) { benchSweep(b, 10000, 100) }

// BenchmarkSweepRateBound is the same with 100 subusers at 5 requests per
// second, where the rate limit rather than the store's writes bounds the
// sweep.
func BenchmarkSweepRateBound(b *testing.B) { benchSweep(b, 100, 5) }

func benchSweep(b *testing.B, subusers int, rate float64) {
	const days = 90
	end := client.DateOf(time.Now()).AddDays(-1)
	acct := seqtest.GenerateAccount(1, subusers, days+5, end)
	for b.Loop() {
		b.StopTimer()
		srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithRateLimit(int(rate), time.Second))
		st := openTestStore(b)
		cfg := testConfig()
		cfg.Sweep.Concurrency = 8
		clk := newTestClock(time.Now())
		d := newTestDaemon(b, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
		b.StartTimer()

		start := time.Now()
		res, err := d.Sweep(context.Background(), SweepOptions{Days: days, FetchOnly: true})
		fetch := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		res2, err := d.Sweep(context.Background(), SweepOptions{})
		total := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stats := srv.Stats()
		bound := time.Duration(float64(res.Requests+res2.Requests) / rate * float64(time.Second))
		b.ReportMetric(fetch.Seconds(), "backfill-s")
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(bound.Seconds(), "bound-s")
		b.ReportMetric(float64(stats.Requests), "requests")
		b.ReportMetric(float64(stats.Throttled), "429s")
		b.Logf("backfill %d days: %d requests in %s; detection sweep: %d requests, %d alerts, in %s; bound %s at %v req/s; server saw %d requests, %d throttled (429), by status %v",
			len(res.Fetched), res.Requests, fetch.Round(time.Millisecond), res2.Requests, len(res2.Alerts),
			(total - fetch).Round(time.Millisecond), bound.Round(time.Millisecond), rate, stats.Requests, stats.Throttled, stats.ByStatus)
		srv.Close()
		b.StartTimer()
	}
}
