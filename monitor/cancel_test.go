package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/history"
)

// TestCancelMidCatchUp cancels a catch-up sweep (the daemon was down ten
// days) in the middle of fetching, after some days are stored and before
// the others are, then runs again: the store ends complete and identical to
// an uninterrupted run's, the cancelled sweep notifies nothing, and the
// notifications equal the uninterrupted run's (none lost, none twice).
func TestCancelMidCatchUp(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	start := demoEnd.AddDays(-10)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 5
	cfg.Sweep.Concurrency = 2
	const cancelAfter = 3 // fetch tasks done

	run := func(interrupt bool) (*recorder, history.Store) {
		clk := newTestClock(time.Time{})
		clk.setAsOf(start)
		srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
		t.Cleanup(srv.Close)
		st := openTestStore(t)
		rec := &recorder{}
		d := newTestDaemon(t, cfg, srv, st, clk, rec, WithoutPoolDetector())
		ctx := context.Background()
		if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
			t.Fatal(err)
		}
		clk.setAsOf(demoEnd)
		if interrupt {
			before, err := st.CompletedDates(ctx, history.ScopeSubusers, start.AddDays(1), demoEnd)
			if err != nil || len(before) != 0 {
				t.Fatalf("before the catch-up: %v complete (%v)", before, err)
			}
			sctx, cancel := context.WithCancel(ctx)
			msgs := len(rec.msgs)
			total := 0
			_, err = d.Sweep(sctx, SweepOptions{Progress: func(done, n int) {
				total = n
				if done == cancelAfter {
					cancel()
				}
			}})
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled sweep: err = %v, want context.Canceled", err)
			}
			if len(rec.msgs) != msgs {
				t.Errorf("the cancelled sweep notified %d messages", len(rec.msgs)-msgs)
			}
			sub, _ := st.CompletedDates(ctx, history.ScopeSubusers, start.AddDays(1), demoEnd)
			par, _ := st.CompletedDates(ctx, history.ScopeParent, start.AddDays(1), demoEnd)
			stored := len(sub)
			if len(par) > 0 {
				stored++ // the parent's days are one task
			}
			if stored < cancelAfter-1 || stored >= total-1 {
				t.Fatalf("cancelled mid-fetch with %d of %d tasks stored (subuser days %d, parent days %d): not in the middle",
					stored, total, len(sub), len(par))
			}
			t.Logf("cancelled with %d of %d fetch tasks stored", stored, total)
		}
		if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
			t.Fatalf("sweep after the cancel: %v", err)
		}
		return rec, st
	}
	refRec, refSt := run(false)
	rec, st := run(true)
	render := func(r *recorder) string {
		var out []string
		for _, m := range r.msgs {
			for _, a := range m.Alerts {
				out = append(out, fmt.Sprintf("%s %s %s reminder=%v", m.Date, a.Key, a.State, a.Reminder))
			}
		}
		return strings.Join(out, "\n")
	}
	if got, want := render(rec), render(refRec); got != want {
		t.Errorf("notifications differ from an uninterrupted run:\ngot:\n%s\nwant:\n%s", got, want)
	} else if want == "" {
		t.Error("reference run notified nothing")
	}
	assertComplete(t, st, start.AddDays(-4), demoEnd)
	if a, b := historyDump(t, st), historyDump(t, refSt); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("history differs from an uninterrupted run (%d vs %d rows)", len(a), len(b))
	}
}

// TestHolesBeforeNewestDayFilled: days missing before the newest stored day
// and older than backfill_days (left by a cancelled catch-up, or by a
// "backfill --days 1" run later than the last sweep) are fetched by the
// next run.
func TestHolesBeforeNewestDayFilled(t *testing.T) {
	t.Parallel()
	start := demoEnd.AddDays(-10)
	clk := newTestClock(time.Time{})
	clk.setAsOf(start)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 3
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
	ctx := context.Background()
	if _, err := d.Sweep(ctx, SweepOptions{FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	clk.setAsOf(start.AddDays(5))
	if res, err := d.Sweep(ctx, SweepOptions{Days: 1, FetchOnly: true}); err != nil || len(res.Fetched) != 1 {
		t.Fatalf("backfill of one day: fetched %v, %v", res.Fetched, err)
	}
	clk.setAsOf(demoEnd)
	res, err := d.Sweep(ctx, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []client.Date
	for dt := start.AddDays(1); !dt.After(demoEnd); dt = dt.AddDays(1) {
		if dt != start.AddDays(5) {
			want = append(want, dt)
		}
	}
	if !equalDates(res.Fetched, want) {
		t.Errorf("fetched %v, want %v", res.Fetched, want)
	}
	assertComplete(t, st, start.AddDays(-2), demoEnd)
}

// TestInterruptedSweepIsNotAFailure: a sweep cancelled by shutdown (SIGTERM
// in the daemon, Ctrl-C in check) is left unfinished, like a killed one: it
// does not count as a failed sweep, and /readyz keeps judging by the sweep
// before it instead of reporting "failed: context canceled" until the next
// scheduled run.
func TestInterruptedSweepIsNotAFailure(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd.AddDays(-5))
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 5
	cfg.Sweep.Concurrency = 1
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
	ctx := context.Background()
	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.setAsOf(demoEnd.AddDays(-4)) // a day later: two fetch tasks (subusers, parent)
	sctx, cancel := context.WithCancel(ctx)
	_, err := d.Sweep(sctx, SweepOptions{Progress: func(done, _ int) {
		if done == 1 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sweep: err = %v, want context.Canceled", err)
	}
	last, ok, err := st.LastFinishedSweep(ctx)
	if err != nil || !ok || !last.Succeeded() {
		t.Errorf("last finished sweep = %+v, %v, %v: want the successful one before the interruption", last, ok, err)
	}
	if code, body := get(t, d.Handler(), "/readyz"); code != 200 {
		t.Errorf("/readyz after an interrupted sweep = %d %q, want 200", code, body)
	}
	if _, body := get(t, d.Handler(), "/metrics"); !strings.Contains(body, `sgseq_sweeps_total{result="error"} 0`) {
		t.Errorf("an interrupted sweep counted as an error:\n%s", grepLines(body, "sgseq_sweeps_total"))
	}
	// A sweep that fails for another reason is still recorded as failed.
	// (A 403, not a closed server: another parallel test's server may take
	// over a closed loopback port and answer.)
	srv.FailOn(http.MethodGet, "/v3/", http.StatusForbidden, 0)
	clk.setAsOf(demoEnd.AddDays(-3))
	if _, err := d.Sweep(ctx, SweepOptions{}); err == nil {
		t.Fatal("sweep against a server answering 403: no error")
	}
	if code, body := get(t, d.Handler(), "/readyz"); code != 503 || !strings.Contains(body, "failed") {
		t.Errorf("/readyz after a failed sweep = %d %q, want 503 failed", code, body)
	}
}
