package store_test

import (
	"fmt"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
)

func benchDays(date client.Date, n int) []history.DayScore {
	days := make([]history.DayScore, n)
	for i := range days {
		days[i] = scored(fmt.Sprintf("subuser-%05d", i), date, float64(1+i%5))
		if i%10 == 0 {
			days[i] = ineligible(days[i].Account, date)
		}
	}
	return days
}

// BenchmarkSaveDay10k saves one date of 10,000 subusers (one transaction).
func BenchmarkSaveDay10k(b *testing.B) {
	s := MustOpenStore(b)
	start := client.MustParseDate("2026-01-01")
	days := benchDays(start, 10_000)
	b.ResetTimer()
	for i := range b.N {
		d := start.AddDays(i)
		for j := range days {
			days[j].Date = d
		}
		if err := s.SaveDay(ctx, history.ScopeSubusers, d, days); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReads measures Latest, every account's 90 days in one
// HistoryAll, and one account's 90-day History over 1,000 accounts × 90
// days.
func BenchmarkReads(b *testing.B) {
	s := MustOpenStore(b)
	start := client.MustParseDate("2026-01-01")
	for i := range 90 {
		if err := s.SaveDay(ctx, history.ScopeSubusers, start.AddDays(i), benchDays(start.AddDays(i), 1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Latest", func(b *testing.B) {
		for range b.N {
			if l, err := s.Latest(ctx); err != nil || len(l) != 1000 {
				b.Fatal(len(l), err)
			}
		}
	})
	b.Run("HistoryAll90", func(b *testing.B) {
		for range b.N {
			if h, err := s.HistoryAll(ctx, start, start.AddDays(89)); err != nil || len(h) != 1000 {
				b.Fatal(len(h), err)
			}
		}
	})
	b.Run("History90", func(b *testing.B) {
		for range b.N {
			if h, err := s.History(ctx, "subuser-00500", start, start.AddDays(89)); err != nil || len(h) != 90 {
				b.Fatal(len(h), err)
			}
		}
	})
}
