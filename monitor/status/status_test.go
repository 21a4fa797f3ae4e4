package status_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/status"
	"github.com/sgseq/sgseq/monitor/store"
)

var day0 = client.MustParseDate("2026-11-01")

func openStore(t *testing.T) *store.SQLite {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func scored(acct string, v float64) history.DayScore {
	return history.DayScore{Account: acct, Score: client.Float(v), Metrics: &client.Metrics{EngagementRecency: v, OpenRate: v, BounceClassification: v, BounceRate: v, SpamRate: v}, FetchedAt: time.Unix(1, 0)}
}

// fill stores 10 days: "a" scored 5..., "b" ineligible on the last two
// days, "(parent)" only up to day 8.
func fill(t *testing.T, st *store.SQLite) {
	t.Helper()
	ctx := context.Background()
	for i := range 10 {
		d := day0.AddDays(i)
		subs := []history.DayScore{scored("a", 5), scored("b", 4)}
		if i >= 8 {
			subs[1] = history.DayScore{Account: "b", FetchedAt: time.Unix(1, 0)}
		}
		if err := st.SaveDay(ctx, history.ScopeSubusers, d, subs); err != nil {
			t.Fatal(err)
		}
		if i <= 8 {
			if err := st.SaveDay(ctx, history.ScopeParent, d, []history.DayScore{scored(alert.ParentAccount, 3)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := alert.Alert{Key: "b/eligibility", Account: "b", Rule: alert.RuleEligibility, Severity: alert.Info, State: alert.Firing, Date: day0.AddDays(9), Since: day0.AddDays(8), Message: "b: no score"}
	if err := st.SaveAlerts(ctx, []alert.Record{{Alert: a, FirstFired: time.Unix(2, 0)}}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRead(t *testing.T) {
	st := openStore(t)
	fill(t, st)
	rows, err := status.Read(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	tests := []struct {
		account   string
		date      client.Date
		eligible  bool
		alerts    int
		trendNils int // days of the 7-day trend without a score
	}{
		{alert.ParentAccount, day0.AddDays(8), true, 0, 1},
		{"a", day0.AddDays(9), true, 0, 0},
		{"b", day0.AddDays(9), false, 1, 2},
	}
	for i, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			r := rows[i]
			if r.Account != tt.account || r.Date != tt.date || r.Eligible != tt.eligible || (r.Score != nil) != tt.eligible || len(r.Alerts) != tt.alerts {
				t.Errorf("row %+v, want %+v", r, tt)
			}
			if r.Alerts == nil {
				t.Error("alerts nil, want empty")
			}
			nils := 0
			for _, v := range r.Trend {
				if v == nil {
					nils++
				}
			}
			if len(r.Trend) != status.TrendDays || nils != tt.trendNils {
				t.Errorf("trend %d days with %d without a score, want %d and %d", len(r.Trend), nils, status.TrendDays, tt.trendNils)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	st := openStore(t)
	fill(t, st)
	ctx := context.Background()
	tests := []struct {
		account string
		days    int
		want    int
		err     string
	}{
		{"a", 3, 3, ""},
		{"a", 0, 10, ""},
		{"a", 100, 10, ""},
		{alert.ParentAccount, 2, 2, ""},
		{"nobody", 3, 0, `no stored history for "nobody" (see "sgseq status" for the accounts)`},
		{"parent", 3, 0, `no stored history for "parent": the parent account is "(parent)" (quote it in a shell: sgseq history '(parent)')`},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			h, err := status.History(ctx, st, tt.account, tt.days)
			if tt.err != "" {
				if !errors.Is(err, status.ErrNoHistory) || err.Error() != tt.err {
					t.Fatalf("err %v, want %q wrapping ErrNoHistory", err, tt.err)
				}
				return
			}
			if err != nil || len(h) != tt.want {
				t.Fatalf("%d days, err %v; want %d", len(h), err, tt.want)
			}
			if h[len(h)-1].Date != day0.AddDays(9) && tt.account == "a" {
				t.Errorf("last day %s", h[len(h)-1].Date)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	days := status.Days("<x>", []history.DayScore{{Account: "<x>", Date: day0}})
	if err := status.WriteJSON(&b, days); err != nil {
		t.Fatal(err)
	}
	want := "[\n  {\n    \"account\": \"\\u003cx\\u003e\",\n    \"date\": \"2026-11-01\",\n    \"score\": null,\n    \"eligible\": false,\n    \"metrics\": null\n  }\n]\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
