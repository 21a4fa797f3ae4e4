package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// dayList renders days as "account@date:score" ("-" for ineligible).
func dayList(days []history.DayScore) []string {
	var out []string
	for _, d := range days {
		v := "-"
		if d.Score != nil {
			v = fmt.Sprint(*d.Score)
		}
		out = append(out, d.Account+"@"+d.Date.String()+":"+v)
	}
	return out
}

func TestHistoryAllMatchesHistory(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	base := client.MustParseDate("2026-01-30")
	for _, off := range []int{4, 0, 2, 1, 3} {
		d := base.AddDays(off)
		days := []history.DayScore{scored("acme", d, float64(1+off)), ineligible("beta", d)}
		if off%2 == 0 {
			days = append(days, scored("gamma", d, 5))
		}
		mustSave(t, s, history.ScopeSubusers, d, days...)
		mustSave(t, s, history.ScopeParent, d, scored(alert.ParentAccount, d, 4))
	}
	cases := []struct {
		name     string
		from, to client.Date
	}{
		{"all", client.Date{}, client.Date{}},
		{"range", base.AddDays(1), base.AddDays(3)},
		{"open start", client.Date{}, base.AddDays(1)},
		{"open end", base.AddDays(3), client.Date{}},
		{"empty", base.AddDays(9), base.AddDays(12)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all, err := s.HistoryAll(ctx, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			for _, acct := range []string{"acme", "beta", "gamma", alert.ParentAccount} {
				want := mustHistory(t, s, acct, tc.from, tc.to)
				got, ok := all[acct]
				if ok != (len(want) > 0) {
					t.Errorf("%s present = %v with %d days in History", acct, ok, len(want))
				}
				if !reflect.DeepEqual(got, want) && len(want)+len(got) > 0 {
					t.Errorf("%s: HistoryAll %v, History %v", acct, dayList(got), dayList(want))
				}
			}
			if len(all) > 4 {
				t.Errorf("HistoryAll has %d accounts, want at most 4", len(all))
			}
		})
	}
}

func TestLatestScored(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	latestScored := func() []string {
		t.Helper()
		days, err := s.LatestScored(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return dayList(days)
	}
	mustSave(t, s, history.ScopeSubusers, d1, scored("a", d1, 3), ineligible("b", d1), scored("c", d1, 2))
	mustSave(t, s, history.ScopeSubusers, d2, ineligible("a", d2), ineligible("b", d2), scored("c", d2, 4))
	if got, want := latestScored(), []string{"a@2026-11-01:3", "c@2026-11-02:4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("LatestScored = %v, want %v", got, want)
	}
	// An older day saved later does not move it back; a newer one moves it.
	old := d1.AddDays(-5)
	mustSave(t, s, history.ScopeSubusers, old, scored("a", old, 1), scored("b", old, 2))
	mustSave(t, s, history.ScopeSubusers, d3, scored("a", d3, 5))
	if got, want := latestScored(), []string{"a@2026-11-03:5", "b@2026-10-27:2", "c@2026-11-02:4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after more saves: %v, want %v", got, want)
	}
	// A re-saved day that lost its score gives the previous scored day back.
	mustSave(t, s, history.ScopeSubusers, d2, ineligible("c", d2))
	mustSave(t, s, history.ScopeSubusers, d3, ineligible("a", d3))
	if got, want := latestScored(), []string{"a@2026-11-01:3", "b@2026-10-27:2", "c@2026-11-01:2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after re-saves without score: %v, want %v", got, want)
	}
	// Pruning an account's scored days forgets them.
	if _, err := s.Prune(ctx, d1); err != nil {
		t.Fatal(err)
	}
	if got, want := latestScored(), []string{"a@2026-11-01:3", "c@2026-11-01:2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after prune: %v, want %v", got, want)
	}
	if _, err := s.Prune(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if got := latestScored(); len(got) != 0 {
		t.Errorf("after pruning every scored day: %v", got)
	}
}

// TestSaveDayManyRows saves more rows than one INSERT batch holds, with a
// duplicate account (the last one wins), and reads them all back.
func TestSaveDayManyRows(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	const n = 1234
	days := make([]history.DayScore, 0, n+1)
	for i := range n {
		days = append(days, scored(fmt.Sprintf("u%04d", i), d1, float64(1+i%5)))
	}
	days = append(days, ineligible("u0007", d1))
	mustSave(t, s, history.ScopeSubusers, d1, days...)
	all, err := s.HistoryAll(ctx, d1, d1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("%d accounts stored, want %d", len(all), n)
	}
	if h := all["u0007"]; len(h) != 1 || h[0].Eligible() {
		t.Errorf("duplicate account: %v, want the later (ineligible) row", dayList(h))
	}
	if h := all["u1233"]; len(h) != 1 || *h[0].Score != float64(1+1233%5) {
		t.Errorf("last row: %v", dayList(h))
	}
}

func TestEachDay(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	for _, d := range []client.Date{d3, d1, d2} {
		mustSave(t, s, history.ScopeSubusers, d, scored("b", d, 2), ineligible("a", d))
	}
	var got []history.DayScore
	if err := s.EachDay(ctx, d2, client.Date{}, func(d history.DayScore) error {
		got = append(got, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a@2026-11-02:-", "b@2026-11-02:2", "a@2026-11-03:-", "b@2026-11-03:2"}
	if !reflect.DeepEqual(dayList(got), want) {
		t.Errorf("EachDay = %v, want %v (by date, then account)", dayList(got), want)
	}
	stop := errors.New("stop")
	n := 0
	err := s.EachDay(ctx, client.Date{}, client.Date{}, func(history.DayScore) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachDay with a failing fn: err %v after %d calls, want the fn's error after 1", err, n)
	}
}
