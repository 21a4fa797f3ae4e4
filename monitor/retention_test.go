package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
)

// TestRetention: store.retention_days prunes older history at the end of a
// sweep, and days it would prune are never fetched (neither by a first run
// with a longer backfill_days, nor again at every later run, nor by an
// explicit backfill).
func TestRetention(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	srv := demoServer(t, clk)
	st := openTestStore(t)
	ctx := context.Background()
	cfg := testConfig()
	cfg.Sweep.LookbackDays = 3
	cfg.Sweep.BackfillDays = 8
	cfg.Store.RetentionDays = 4
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
	first := demoEnd.AddDays(-3)
	stored := func(asOf client.Date) {
		t.Helper()
		for _, acct := range []string{"acme-news", "(parent)"} {
			h, err := st.History(ctx, acct, client.Date{}, client.Date{})
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 4 || h[0].Date != asOf.AddDays(-3) || h[3].Date != asOf {
				var got []client.Date
				for _, x := range h {
					got = append(got, x.Date)
				}
				t.Errorf("as of %s, %s holds %v; want the 4 days %s..%s", asOf, acct, got, asOf.AddDays(-3), asOf)
			}
		}
		done, err := st.CompletedDates(ctx, history.ScopeSubusers, client.Date{}, client.Date{})
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 4 || !done[asOf.AddDays(-3)] || !done[asOf] {
			t.Errorf("as of %s, complete days %v", asOf, sortedDates(done))
		}
	}
	for day := first; !day.After(demoEnd); day = day.AddDays(1) {
		clk.setAsOf(day)
		res, err := d.Sweep(ctx, SweepOptions{})
		if err != nil {
			t.Fatalf("%s: %v", day, err)
		}
		want := []client.Date{day}
		if day == first {
			want = allDays(day.AddDays(-3), day) // not the 8 of backfill_days
		}
		if got := res.Fetched; !equalDates(got, want) {
			t.Errorf("%s: fetched %v, want %v", day, got, want)
		}
		stored(day)
	}
	res, err := d.Sweep(ctx, SweepOptions{Days: 10, FetchOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fetched) != 0 {
		t.Errorf("backfill --days 10 with 4 days of retention fetched %v", res.Fetched)
	}
	stored(demoEnd)
}

func equalDates(a, b []client.Date) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
