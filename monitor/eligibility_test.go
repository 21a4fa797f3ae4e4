package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/alert"
)

// steadyDays returns n days from start, scored v (nil v: ineligible).
func steadyDays(start client.Date, n int, v *float64) []seqtest.Day {
	out := make([]seqtest.Day, n)
	for i := range out {
		out[i] = seqtest.Day{Date: start.AddDays(i)}
		if v != nil {
			out[i].Score = client.Float(*v)
			out[i].Metrics = &client.Metrics{EngagementRecency: *v, OpenRate: *v, BounceClassification: *v, BounceRate: *v, SpamRate: *v}
		}
	}
	return out
}

// TestLongIneligibleKeepsFiring is the regression test of a false
// "resolved": an account without a score for longer than
// sweep.lookback_days keeps its eligibility alert firing (reminded, never
// resolved) until it scores again, and then resolves once.
func TestLongIneligibleKeepsFiring(t *testing.T) {
	t.Parallel()
	const scoredBefore, quietDays, scoredAfter = 10, 40, 2
	total := scoredBefore + quietDays + scoredAfter
	end := demoEnd
	start := end.AddDays(-(total - 1))
	four := 4.0
	quiet := append(steadyDays(start, scoredBefore, &four), steadyDays(start.AddDays(scoredBefore), quietDays, nil)...)
	quiet = append(quiet, steadyDays(start.AddDays(scoredBefore+quietDays), scoredAfter, &four)...)
	acct := &seqtest.Account{
		Parent: seqtest.Subject{ID: 1, Username: "parent", History: steadyDays(start, total, &four)},
		Subusers: []seqtest.Subject{
			{ID: 2, Username: "quiet", Email: "q@example.com", History: quiet},
			{ID: 3, Username: "steady", Email: "s@example.com", History: steadyDays(start, total, &four)},
		},
		End: end,
	}
	clk := newTestClock(time.Time{})
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = scoredBefore
	if cfg.Sweep.LookbackDays >= quietDays {
		t.Fatalf("lookback_days %d: the test needs a longer quiet run", cfg.Sweep.LookbackDays)
	}
	rec := &recorder{}
	d := newTestDaemon(t, cfg, srv, openTestStore(t), clk, rec, WithoutPoolDetector())
	key := alert.Key("quiet", alert.RuleEligibility, "")
	firstQuiet := start.AddDays(scoredBefore)
	firesOn := firstQuiet.AddDays(cfg.Rules.Eligibility.Days - 1)
	for day := start.AddDays(scoredBefore - 1); !day.After(end); day = day.AddDays(1) {
		clk.setAsOf(day)
		n := len(rec.msgs)
		res, err := d.Sweep(context.Background(), SweepOptions{})
		if err != nil {
			t.Fatalf("%s: %v", day, err)
		}
		var states []string
		for _, m := range rec.msgs[n:] {
			for _, a := range m.Alerts {
				if a.Key == key {
					states = append(states, string(a.State))
				}
			}
		}
		rescored := !day.Before(start.AddDays(scoredBefore + quietDays))
		switch {
		case day.Before(firesOn):
			if len(states) != 0 || res.Firing != 0 {
				t.Errorf("%s: %v (firing %d) before %d days without a score", day, states, res.Firing, cfg.Rules.Eligibility.Days)
			}
		case !rescored:
			// Notified on the first day, then reminded daily (24 h).
			if len(states) != 1 || states[0] != string(alert.Firing) || res.Firing != 1 {
				t.Errorf("%s (%d days without a score): eligibility %v, firing %d; want it still firing",
					day, day.DaysSince(firstQuiet)+1, states, res.Firing)
			}
		case day == start.AddDays(scoredBefore+quietDays):
			if len(states) != 1 || states[0] != string(alert.Resolved) {
				t.Errorf("%s: scored again: eligibility %v, want one resolved", day, states)
			}
		default:
			if len(states) != 0 || res.Firing != 0 {
				t.Errorf("%s: %v (firing %d) after the resolution", day, states, res.Firing)
			}
		}
	}
}
