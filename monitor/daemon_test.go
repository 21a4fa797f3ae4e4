package monitor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/notify"
)

// everySchedule fires every d (cron's own schedules have 1 s resolution).
type everySchedule time.Duration

func (e everySchedule) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// panicDetector panics on its first call and counts every call.
type panicDetector struct {
	calls atomic.Int64
	ran   chan struct{}
}

func (p *panicDetector) Detect(ctx context.Context, st history.Reader, asOf client.Date) ([]alert.Alert, []alert.TierChange, error) {
	n := p.calls.Add(1)
	select {
	case p.ran <- struct{}{}:
	default:
	}
	if n == 1 {
		panic("detector bug")
	}
	return nil, nil, nil
}

// panicNotifier panics whenever it is asked to notify.
type panicNotifier struct{ calls atomic.Int64 }

func (p *panicNotifier) Name() string { return "panic" }
func (p *panicNotifier) Notify(context.Context, notify.Message) ([]string, error) {
	p.calls.Add(1)
	panic("notifier bug")
}

func demoServer(t *testing.T, clk *testClock, opts ...seqtest.Option) *seqtest.Server {
	t.Helper()
	srv := seqtest.NewServer(append([]seqtest.Option{seqtest.WithAccount(seqtest.DemoAccount(demoEnd)), seqtest.WithNow(clk.Now)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// TestRunSurvivesPanics: a run that panics (in the notifier, outside the
// sweep's own recovery) does not stop later scheduled runs.
func TestRunSurvivesPanics(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 3
	cfg.HTTP.Addr = "127.0.0.1:0" // serve and shut down too
	pn := &panicNotifier{}
	det := &panicDetector{ran: make(chan struct{}, 1)}
	d := newTestDaemon(t, cfg, srv, st, clk, nil, WithNotifier(pn), WithDetectors(det), withSchedule(everySchedule(20*time.Millisecond)), WithoutPoolDetector())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.After(20 * time.Second)
	for pn.calls.Load() < 3 {
		select {
		case <-det.ran:
		case <-deadline:
			t.Fatalf("only %d runs reached the notifier", pn.calls.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if det.calls.Load() < 3 {
		t.Errorf("detector ran %d times", det.calls.Load())
	}
}

// TestStartupRunWhenStale: Run sweeps at once when the last successful
// sweep is older than one period, and not when it is recent.
func TestStartupRunWhenStale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		lastAgo  time.Duration // 0: no sweep at all
		wantRun  bool
		schedule string
	}{
		{"no sweep yet", 0, true, "0 6 * * *"},
		{"two days old", 48 * time.Hour, true, "0 6 * * *"},
		{"one hour old", time.Hour, false, "0 6 * * *"},
		{"two hours old, hourly schedule", 2 * time.Hour, true, "@hourly"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newTestClock(time.Time{})
			clk.setAsOf(demoEnd)
			srv := demoServer(t, clk)
			st := openTestStore(t)
			ctx := context.Background()
			if tt.lastAgo > 0 {
				id, _ := st.BeginSweep(ctx, clk.Now().Add(-tt.lastAgo))
				if err := st.FinishSweep(ctx, id, clk.Now().Add(-tt.lastAgo), nil); err != nil {
					t.Fatal(err)
				}
			}
			cfg := testConfig()
			cfg.Schedule = tt.schedule
			cfg.Sweep.BackfillDays = 2
			rec := &recorder{}
			d := newTestDaemon(t, cfg, srv, st, clk, rec, WithoutPoolDetector())
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- d.Run(rctx) }()
			if tt.wantRun {
				// Wait for the start-up sweep to be recorded.
				for i := 0; ; i++ {
					last, ok, _ := st.LastSweep(ctx, true)
					if ok && last.Finished.Equal(clk.Now()) {
						break
					}
					if i > 2000 {
						t.Fatal("no start-up sweep")
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !tt.wantRun {
				if n := srv.Stats().Requests; n != 0 {
					t.Errorf("%d requests: a start-up sweep ran although the last one is recent", n)
				}
			}
		})
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rr.Result().Body)
	return rr.Code, string(b)
}

// TestHTTPEndpoints: /healthz, /readyz and /metrics before and after
// sweeps.
func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	rec := &recorder{}
	d := newTestDaemon(t, cfg, srv, st, clk, rec, WithoutPoolDetector())
	h := d.Handler()
	ctx := context.Background()

	if code, body := get(t, h, "/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "no successful sweep yet") {
		t.Errorf("/readyz before any sweep = %d %q", code, body)
	}
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz after a sweep = %d %q", code, body)
	}
	code, body := get(t, h, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`sgseq_score{account="(parent)"} 3`,
		`sgseq_score{account="acme-news"} 3`,
		`sgseq_metric{account="petcare-mail",metric="spam_rate"} 1`,
		`sgseq_eligible{account="summer-promo"} 0`,
		`sgseq_eligible{account="acme-news"} 1`,
		`sgseq_api_requests_total{status="200"}`,
		`sgseq_sweep_duration_seconds `,
		`sgseq_last_success_timestamp_seconds `,
		`sgseq_alerts_firing{rule="floor",severity=`,
		`sgseq_sweeps_total{result="success"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `sgseq_score{account="summer-promo"}`) {
		t.Error("an ineligible account has an sgseq_score series")
	}
	if !strings.Contains(body, `sgseq_sweeps_total{result="error"} 0`) {
		t.Errorf("/metrics lacks the error series at 0:\n%s", grepLines(body, "sgseq_sweeps_total"))
	}
	// The server sends no X-RateLimit-* headers: no remaining budget to
	// report (0 would read as "budget spent").
	if strings.Contains(body, "sgseq_ratelimit_remaining ") {
		t.Errorf("sgseq_ratelimit_remaining reported without rate-limit headers:\n%s", grepLines(body, "ratelimit"))
	}

	// A failed sweep makes /readyz 503 with the reason.
	rec.fail = errors.New("slack: invalid_auth")
	clk.setAsOf(demoEnd) // same day: the stored alerts are still pending? no: make one due
	st2Alerts, _ := st.Alerts(ctx)
	if len(st2Alerts) == 0 {
		t.Fatal("no stored alerts")
	}
	clk.Set(clk.Now().Add(25 * time.Hour)) // reminders are due; the server's day moves too
	if _, err := d.Sweep(ctx, SweepOptions{}); err == nil {
		t.Fatal("sweep with a failing notifier: no error")
	}
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "invalid_auth") {
		t.Errorf("/readyz after a failed sweep = %d %q", code, body)
	}
	// A sweep running (or killed) after the failure does not hide it.
	id, err := st.BeginSweep(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "invalid_auth") {
		t.Errorf("/readyz while a sweep runs after a failed one = %d %q", code, body)
	}
	if err := st.FinishSweep(ctx, id, clk.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz after a successful sweep again = %d %q", code, body)
	}
	// Stale: the last success is more than two periods old.
	rec.fail = nil
	clk.Set(clk.Now().Add(72 * time.Hour))
	if code, body := get(t, h, "/readyz"); code != 503 {
		t.Errorf("/readyz stale = %d %q", code, body)
	}
}

// TestRateLimitMetric: the request hook feeds sgseq_ratelimit_remaining.
func TestRateLimitMetric(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk, seqtest.WithRateLimit(1000, time.Minute))
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 2
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
	if _, err := d.Sweep(context.Background(), SweepOptions{FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, d.Handler(), "/metrics")
	if !strings.Contains(body, "sgseq_ratelimit_remaining 99") {
		t.Errorf("/metrics lacks sgseq_ratelimit_remaining 99x:\n%s", grepLines(body, "ratelimit"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// tierDetector proposes the tier changes it holds.
type tierDetector struct {
	tcs atomic.Pointer[[]alert.TierChange]
}

func (d *tierDetector) Detect(context.Context, history.Reader, client.Date) ([]alert.Alert, []alert.TierChange, error) {
	return nil, *d.tcs.Load(), nil
}

// TestTierChangesNotRepeated: a proposed tier move is notified when first
// proposed, again only when it changes or after the repeat interval, and
// this is kept in the store: a new process on the same store (a cron
// setup) does not repeat it.
func TestTierChangesNotRepeated(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 3
	det := &tierDetector{}
	first := []alert.TierChange{{Username: "acme-news", FromTier: "high", ToTier: "mid", FromPool: "a", ToPool: "b", Reason: "median 3"}}
	det.tcs.Store(&first)
	rec := &recorder{}
	ctx := context.Background()
	for range 3 { // three cron runs, each a new daemon on the same store
		d := newTestDaemon(t, cfg, srv, st, clk, rec, WithDetectors(det), WithoutPoolDetector())
		if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.msgs) != 1 || len(rec.msgs[0].TierChanges) != 1 {
		t.Fatalf("%d messages after 3 runs with the same tier changes, want 1", len(rec.msgs))
	}
	d := newTestDaemon(t, cfg, srv, st, clk, rec, WithDetectors(det), WithoutPoolDetector())
	// The reason's wording changes (held one more day), the move does not;
	// a second subuser's move is new.
	second := []alert.TierChange{{Username: "acme-news", FromTier: "high", ToTier: "mid", FromPool: "a", ToPool: "b", Reason: "median 3, held 2 days"},
		{Username: "daily-deals", FromTier: "mid", ToTier: "low"}}
	det.tcs.Store(&second)
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 2 || len(rec.msgs[1].Alerts) != 0 || len(rec.msgs[1].TierChanges) != 1 ||
		rec.msgs[1].TierChanges[0].Username != "daily-deals" {
		t.Fatalf("after a new move: %d messages, last %+v; want only daily-deals's move", len(rec.msgs), rec.msgs[len(rec.msgs)-1])
	}
	// acme-news's move changes: sent again.
	third := []alert.TierChange{{Username: "acme-news", FromTier: "high", ToTier: "low", FromPool: "a", ToPool: "c"}, second[1]}
	det.tcs.Store(&third)
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 3 || len(rec.msgs[2].TierChanges) != 1 || rec.msgs[2].TierChanges[0].ToTier != "low" {
		t.Fatalf("after a changed move: %d messages, last %+v", len(rec.msgs), rec.msgs[len(rec.msgs)-1])
	}
	// A repeat interval later, both are reminded.
	clk.Set(clk.Now().Add(cfg.Notify.RepeatInterval))
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if last := rec.msgs[len(rec.msgs)-1]; len(last.TierChanges) != 2 {
		t.Errorf("after the repeat interval: last message %+v, want both moves again", last)
	}
	// A move no longer proposed is forgotten: proposed again, it is new.
	none := []alert.TierChange{}
	det.tcs.Store(&none)
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if moves, err := st.PoolMoves(ctx); err != nil || len(moves) != 0 {
		t.Errorf("stored moves after none proposed: %v, %v", moves, err)
	}
}

func TestNewNotifierFromConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*SlackConfig)
		want string
	}{
		{"nothing: log sink", func(*SlackConfig) {}, notify.NameLog},
		{"webhook", func(s *SlackConfig) { s.WebhookURL = "https://hooks.slack.com/services/T/B/x" }, notify.NameWebhook},
		{"bot", func(s *SlackConfig) { s.BotToken = "xoxb-1"; s.Channel = "#seq" }, notify.NameBot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			tt.set(&cfg.Notify.Slack)
			n, err := NewNotifier(cfg, io.Discard, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatal(err)
			}
			if n.Name() != tt.want {
				t.Errorf("notifier %q, want %q", n.Name(), tt.want)
			}
		})
	}
}

// TestFirstCheck: the first check of a store, even after a backfill
// (fetch-only), says so in its message; later checks do not.
func TestFirstCheck(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd.AddDays(-1))
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	rec := &recorder{}
	d := newTestDaemon(t, cfg, srv, st, clk, rec, WithoutPoolDetector())
	ctx := context.Background()
	if _, err := d.Sweep(ctx, SweepOptions{FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 0 {
		t.Fatalf("a backfill notified %d messages", len(rec.msgs))
	}
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 1 || !rec.msgs[0].FirstCheck || rec.msgs[0].Accounts == 0 {
		t.Fatalf("first check: %d messages, first %+v", len(rec.msgs), rec.msgs)
	}
	clk.setAsOf(demoEnd)
	clk.Set(clk.Now().Add(cfg.Notify.RepeatInterval)) // reminders are due
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) < 2 || rec.msgs[len(rec.msgs)-1].FirstCheck {
		t.Errorf("a later check: %d messages, last FirstCheck %v", len(rec.msgs), len(rec.msgs) > 1 && rec.msgs[len(rec.msgs)-1].FirstCheck)
	}
	// A backfill of older history on a checked store: the next check's
	// alerts are standing again, and a check after that is not.
	clk.Set(clk.Now().Add(time.Minute))
	if _, err := d.Sweep(ctx, SweepOptions{Days: 30, FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	clk.Set(clk.Now().Add(cfg.Notify.RepeatInterval))
	n := len(rec.msgs)
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) <= n || !rec.msgs[len(rec.msgs)-1].FirstCheck {
		t.Errorf("the check after a backfill of 30 days: %d new messages, FirstCheck %v", len(rec.msgs)-n, len(rec.msgs) > n && rec.msgs[len(rec.msgs)-1].FirstCheck)
	}
	clk.Set(clk.Now().Add(cfg.Notify.RepeatInterval))
	n = len(rec.msgs)
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) > n && rec.msgs[len(rec.msgs)-1].FirstCheck {
		t.Error("the check after that is standing too")
	}
}
