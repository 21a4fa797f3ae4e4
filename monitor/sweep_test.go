package monitor

import (
	"context"
	"errors"
	"fmt"
	"sort"
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

// demoEnd is the last day of the simulated demo account in these tests.
var demoEnd = client.DateOf(time.Now()).AddDays(-1)

// plantedRule maps a planted event kind to the rule that must report it.
var plantedRule = map[string]alert.Rule{
	seqtest.KindDrop:        alert.RuleDrop,
	seqtest.KindMetric:      alert.RuleMetric,
	seqtest.KindFloor:       alert.RuleFloor,
	seqtest.KindEligibility: alert.RuleEligibility,
	seqtest.KindOutlier:     alert.RuleOutlier,
}

// TestPlantedEventsAlerted advances the server's and the daemon's clocks
// day by day over the last 30 days of the demo account and checks that
// every planted event fires on its day, and that no account without a
// planted event gets an alert.
func TestPlantedEventsAlerted(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	start := demoEnd.AddDays(-30)
	clk.setAsOf(start)
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	st := openTestStore(t)
	rec := &recorder{}
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 8 // enough for the 7-day baseline
	d := newTestDaemon(t, cfg, srv, st, clk, rec)
	ctx := context.Background()

	fired := map[string]client.Date{} // key -> first notification day
	for day := start; !day.After(demoEnd); day = day.AddDays(1) {
		clk.setAsOf(day)
		before := len(rec.alerts())
		res, err := d.Sweep(ctx, SweepOptions{})
		if err != nil {
			t.Fatalf("sweep as of %s: %v", day, err)
		}
		if res.AsOf != day {
			t.Fatalf("AsOf = %s, want %s", res.AsOf, day)
		}
		for _, a := range rec.alerts()[before:] {
			if a.State == alert.Firing && !a.Reminder {
				if _, ok := fired[a.Key]; !ok || a.Date.After(fired[a.Key]) {
					if !ok {
						fired[a.Key] = a.Date
					}
				}
			}
		}
	}
	assertComplete(t, st, start.AddDays(-7), demoEnd)

	planted := map[string]bool{}
	for _, p := range acct.Planted() {
		planted[p.Account] = true
		if p.Date.Before(start) {
			continue
		}
		rule := plantedRule[p.Kind]
		if rule == alert.RuleOutlier && len(d.detectors) == 0 {
			continue // the pool detector is not configured in this test
		}
		key := alert.Key(p.Account, rule, p.Metric)
		got, ok := fired[key]
		switch {
		case !ok:
			t.Errorf("planted %s %s %s on %s: no alert %q", p.Account, p.Kind, p.Metric, p.Date, key)
		case got != p.Date:
			t.Errorf("planted %s %s on %s: alert %q first fired for %s", p.Account, p.Kind, p.Date, key, got)
		}
	}
	for key := range fired {
		acctName := key[:strings.Index(key, "/")]
		if !planted[acctName] {
			t.Errorf("alert %q for an account without a planted event", key)
		}
	}
}

// TestCancelAndResume cancels sweeps part-way (during fetching, and during
// notification) and checks that the rerun leaves no gap in the history
// and that the notifications match those of an uninterrupted daemon: none
// lost, none sent twice.
func TestCancelAndResume(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	start := demoEnd.AddDays(-10)
	ctx := context.Background()
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 8

	run := func(interrupt bool) (*recorder, history.Store) {
		clk := newTestClock(time.Time{})
		clk.setAsOf(start)
		srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
		t.Cleanup(srv.Close)
		st := openTestStore(t)
		rec := &recorder{}
		var (
			requests atomic.Int64
			cancelAt atomic.Int64 // cancel the sweep's ctx at this request count
			cancel   atomic.Pointer[context.CancelFunc]
		)
		hooked := func(opts ...client.Option) (*client.Client, error) {
			return srv.Client(append(opts, client.WithRequestHook(func(client.RequestEvent) {
				if n := requests.Add(1); n == cancelAt.Load() {
					if c := cancel.Load(); c != nil {
						(*c)()
					}
				}
			}))...)
		}
		d := newTestDaemon(t, cfg, srv, st, clk, rec, WithClientFunc(hooked))
		for i, day := 0, start; !day.After(demoEnd); i, day = i+1, day.AddDays(1) {
			clk.setAsOf(day)
			if interrupt {
				sctx, c := context.WithCancel(ctx)
				cancel.Store(&c)
				switch i % 3 {
				case 0: // during fetching
					cancelAt.Store(requests.Load() + 3)
				case 1: // while notifying: the notification went out
					cancelAt.Store(0)
					rec.during = c
				}
				_, err := d.Sweep(sctx, SweepOptions{})
				rec.during = nil
				c()
				if i%3 == 0 && !errors.Is(err, context.Canceled) {
					t.Fatalf("day %s: interrupted sweep err = %v, want context.Canceled", day, err)
				}
			}
			if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
				t.Fatalf("day %s: sweep: %v", day, err)
			}
		}
		return rec, st
	}
	refRec, refSt := run(false)
	rec, st := run(true)

	render := func(r *recorder) []string {
		var out []string
		for _, m := range r.msgs {
			for _, a := range m.Alerts {
				out = append(out, fmt.Sprintf("%s %s %s reminder=%v", m.Date, a.Key, a.State, a.Reminder))
			}
		}
		return out
	}
	want, got := render(refRec), render(rec)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notifications differ from an uninterrupted run:\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) == 0 {
		t.Error("reference run notified nothing")
	}
	assertComplete(t, st, start.AddDays(-7), demoEnd)
	if a, b := historyDump(t, st), historyDump(t, refSt); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("history differs from an uninterrupted run (%d vs %d rows)", len(a), len(b))
	}
}

// TestPendingFetchedLater: dates answered 202 are not stored, and a later
// run fetches them.
func TestPendingFetchedLater(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now), seqtest.WithPending(2))
	t.Cleanup(srv.Close)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.PendingRetries = 0
	cfg.Sweep.BackfillDays = 5
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{})
	ctx := context.Background()

	res, err := d.Sweep(ctx, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pending) != 5 || len(res.Fetched) != 0 {
		t.Fatalf("first run: pending %v fetched %v, want 5 pending", res.Pending, res.Fetched)
	}
	done, _ := st.CompletedDates(ctx, history.ScopeSubusers, demoEnd.AddDays(-10), demoEnd)
	if len(done) != 0 {
		t.Fatalf("202 days stored as complete: %v", done)
	}
	// Second run: still 202 once more each. Third: fetched.
	if res, err = d.Sweep(ctx, SweepOptions{}); err != nil || len(res.Pending) != 5 {
		t.Fatalf("second run: %v pending %v", err, res.Pending)
	}
	if res, err = d.Sweep(ctx, SweepOptions{}); err != nil || len(res.Pending) != 0 || len(res.Fetched) != 5 {
		t.Fatalf("third run: %v pending %v fetched %v", err, res.Pending, res.Fetched)
	}
	assertComplete(t, st, demoEnd.AddDays(-4), demoEnd)

	// Within one run: retries with backoff get the dates.
	st2 := openTestStore(t)
	srv2 := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now), seqtest.WithPending(2))
	t.Cleanup(srv2.Close)
	cfg.Sweep.PendingRetries = 3
	d2 := newTestDaemon(t, cfg, srv2, st2, clk, &recorder{})
	if res, err = d2.Sweep(ctx, SweepOptions{}); err != nil || len(res.Pending) != 0 {
		t.Fatalf("run with retries: %v pending %v", err, res.Pending)
	}
	assertComplete(t, st2, demoEnd.AddDays(-4), demoEnd)
}

// TestFaultsAndRateLimit: with injected 5xx/429 and a tight rate limit,
// history still comes out complete and equal to a fault-free fetch.
func TestFaultsAndRateLimit(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	ctx := context.Background()
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 20

	clean := openTestStore(t)
	srv0 := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv0.Close)
	if _, err := newTestDaemon(t, cfg, srv0, clean, clk, &recorder{}).Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}

	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now),
		seqtest.WithFaults(0.3, 7), seqtest.WithRateLimit(40, time.Second))
	t.Cleanup(srv.Close)
	st := openTestStore(t)
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{})
	var err error
	for run := 0; run < 5; run++ {
		if _, err = d.Sweep(ctx, SweepOptions{}); err == nil {
			break
		}
		t.Logf("run %d: %v", run, err)
	}
	if err != nil {
		t.Fatalf("still failing after 5 runs: %v", err)
	}
	assertComplete(t, st, demoEnd.AddDays(-19), demoEnd)
	if a, b := historyDump(t, st), historyDump(t, clean); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("history with faults differs from a clean fetch (%d vs %d rows)", len(a), len(b))
	}
	stats := srv.Stats()
	t.Logf("requests %d, by status %v", stats.Requests, stats.ByStatus)
}

// TestAccountFilters: include/exclude globs and disabled subusers.
func TestAccountFilters(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	tests := []struct {
		name   string
		set    func(*AccountsConfig)
		want   []string
		absent []string
	}{
		{"defaults skip disabled", func(*AccountsConfig) {}, []string{alert.ParentAccount, "acme-news", "eu-retail"}, []string{"legacy-alerts", "old-newsletter"}},
		{"include disabled", func(a *AccountsConfig) { a.IncludeDisabled = true }, []string{"legacy-alerts"}, nil},
		{"include glob, no parent", func(a *AccountsConfig) { a.Include = []string{"a*"}; a.IncludeParent = false },
			[]string{"acme-news", "auto-parts"}, []string{alert.ParentAccount, "daily-deals"}},
		{"exclude wins", func(a *AccountsConfig) { a.Include = []string{"a*"}; a.Exclude = []string{"auto-*"} },
			[]string{"acme-news", alert.ParentAccount}, []string{"auto-parts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Sweep.BackfillDays = 2
			tt.set(&cfg.Accounts)
			st := openTestStore(t)
			d := newTestDaemon(t, cfg, srv, st, clk, &recorder{})
			if _, err := d.Sweep(context.Background(), SweepOptions{FetchOnly: true}); err != nil {
				t.Fatal(err)
			}
			got, _ := st.Accounts(context.Background())
			sort.Strings(got)
			has := map[string]bool{}
			for _, a := range got {
				has[a] = true
			}
			for _, w := range tt.want {
				if !has[w] {
					t.Errorf("%s not stored; stored %v", w, got)
				}
			}
			for _, w := range tt.absent {
				if has[w] {
					t.Errorf("%s stored; want it filtered out", w)
				}
			}
		})
	}
}

// TestBackfillDays: an explicit backfill fetches the requested window and
// reports progress.
func TestBackfillDays(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	st := openTestStore(t)
	d := newTestDaemon(t, testConfig(), srv, st, clk, &recorder{})
	var last, total atomic.Int64
	res, err := d.Sweep(context.Background(), SweepOptions{Days: 90, FetchOnly: true, Progress: func(done, tot int) {
		last.Store(int64(done))
		total.Store(int64(tot))
	}})
	if err != nil {
		t.Fatal(err)
	}
	assertComplete(t, st, demoEnd.AddDays(-89), demoEnd)
	if last.Load() != total.Load() || total.Load() == 0 {
		t.Errorf("progress ended at %d/%d", last.Load(), total.Load())
	}
	if len(res.Fetched) != 90 {
		t.Errorf("fetched %d days, want 90", len(res.Fetched))
	}
	// A second backfill has nothing to do but list subusers.
	res, err = d.Sweep(context.Background(), SweepOptions{Days: 90, FetchOnly: true})
	if err != nil || len(res.Fetched) != 0 || res.Requests != 1 {
		t.Errorf("second backfill: err %v, fetched %d, requests %d", err, len(res.Fetched), res.Requests)
	}
}

// TestNotifyFailureRetried: an alert whose notification failed is sent on
// the next run.
func TestNotifyFailureRetried(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd.AddDays(-2)) // the parent's drop day
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	st := openTestStore(t)
	rec := &recorder{fail: errors.New("slack: channel_not_found")}
	d := newTestDaemon(t, testConfig(), srv, st, clk, rec)
	ctx := context.Background()
	res, err := d.Sweep(ctx, SweepOptions{})
	if err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("err = %v, want the notifier's error", err)
	}
	if len(res.Alerts) == 0 || res.Delivered != 0 {
		t.Fatalf("alerts %d delivered %d", len(res.Alerts), res.Delivered)
	}
	if want := fmt.Sprintf("%d of %d alert(s) not delivered, sent again by the next run", len(res.Alerts), len(res.Alerts)); !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
	rec.fail = nil
	res2, err := d.Sweep(ctx, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Alerts) != len(res.Alerts) || res2.Delivered != len(res.Alerts) {
		t.Errorf("second run sent %d (delivered %d), want the %d undelivered", len(res2.Alerts), res2.Delivered, len(res.Alerts))
	}
	res3, _ := d.Sweep(ctx, SweepOptions{})
	if len(res3.Alerts) != 0 {
		t.Errorf("third run resent %v", res3.Alerts)
	}
	if res3.Firing == 0 {
		t.Error("Firing = 0, want the still-firing alerts counted")
	}
}

// TestNewSubuserFilled: a subuser monitored only from a later sweep gets
// the days the store already holds for the others.
func TestNewSubuserFilled(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	ctx := context.Background()
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	cfg.Accounts.Exclude = []string{"acme-*"}
	if _, err := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector()).Sweep(ctx, SweepOptions{FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	if h, _ := st.History(ctx, "acme-news", client.Date{}, client.Date{}); len(h) != 0 {
		t.Fatalf("excluded subuser stored: %d days", len(h))
	}
	cfg.Accounts.Exclude = nil
	clk.setAsOf(demoEnd.AddDays(1)) // the next day; the server answers up to demoEnd
	if _, err := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector()).Sweep(ctx, SweepOptions{FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	h, err := st.History(ctx, "acme-news", demoEnd.AddDays(-9), demoEnd)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 10 {
		t.Fatalf("acme-news has %d of the 10 stored days", len(h))
	}
	// E-12 drop: the last 10 days are all at 3.
	for _, d := range h {
		if d.Score == nil || *d.Score != 3 {
			t.Errorf("acme-news %s: score %v, want 3", d.Date, d.Score)
		}
	}
}

// TestUnmonitoredAccountResolutionSaysWhy: the alerts of an account that
// the filters now leave out resolve with a message saying it is no longer
// monitored, not as if its score had recovered.
func TestUnmonitoredAccountResolutionSaysWhy(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	ctx := context.Background()
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 20 // acme-news fell on E-12
	cfg.Accounts.IncludeParent = false
	cfg.Accounts.Include = []string{"acme-news", "petcare-mail"}
	if _, err := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector()).Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg.Accounts.Include = []string{"petcare-mail"}
	rec := &recorder{}
	res, err := newTestDaemon(t, cfg, srv, st, clk, rec, WithoutPoolDetector()).Sweep(ctx, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Alerts) != 1 || res.Alerts[0].Key != "acme-news/drop" || res.Alerts[0].State != alert.Resolved {
		t.Fatalf("alerts = %+v, want acme-news/drop resolved", res.Alerts)
	}
	if want := "resolved: acme-news: " + alert.NotMonitored; res.Alerts[0].Message != want {
		t.Errorf("message = %q, want %q", res.Alerts[0].Message, want)
	}
	if len(rec.msgs) != 1 {
		t.Fatalf("%d messages sent, want 1", len(rec.msgs))
	}
	text := notify.Text(rec.msgs[0])
	if !strings.Contains(text, "drop resolved on "+demoEnd.String()+": "+alert.NotMonitored) || strings.Contains(text, "(score 3)") {
		t.Errorf("text does not say the account is no longer monitored:\n%s", text)
	}
}
