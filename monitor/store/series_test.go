package store_test

import (
	"context"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/store"
)

func TestEachScore(t *testing.T) {
	var s *store.SQLite = MustOpenStore(t)
	ctx := context.Background()
	d1, d2, d3 := client.MustParseDate("2026-11-01"), client.MustParseDate("2026-11-02"), client.MustParseDate("2026-11-03")
	odd := "a;b=c:d 4:x" // separators in a username must not matter
	for _, d := range []client.Date{d1, d2, d3} {
		if err := s.SaveDay(ctx, history.ScopeSubusers, d, []history.DayScore{
			{Account: odd, Score: client.Float(3.5), Metrics: &client.Metrics{EngagementRecency: 1, OpenRate: 2, BounceClassification: 3, BounceRate: 4, SpamRate: 5}},
			{Account: "ineligible"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	type got struct {
		account string
		date    client.Date
		score   float64
		ok      bool
	}
	var all []got
	err := s.EachScore(ctx, d2, d3, func(account []byte, date client.Date, score *float64) error {
		g := got{account: string(account), date: date}
		if score != nil {
			g.score, g.ok = *score, true
		}
		all = append(all, g)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []got{{odd, d2, 3.5, true}, {"ineligible", d2, 0, false}, {odd, d3, 3.5, true}, {"ineligible", d3, 0, false}}
	if len(all) != len(want) {
		t.Fatalf("got %+v, want %+v", all, want)
	}
	// Within a date, the order is the store's (by account).
	for _, w := range want {
		found := false
		for _, g := range all {
			found = found || g == w
		}
		if !found {
			t.Errorf("missing %+v in %+v", w, all)
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i].date.Before(all[i-1].date) {
			t.Errorf("not ordered by date: %+v", all)
		}
	}
}
