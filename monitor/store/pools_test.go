package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sgseq/sgseq/monitor/store"
)

func TestPoolHistory(t *testing.T) {
	var s *store.SQLite = MustOpenStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	readings := []map[string][]string{
		{"a": {"shared"}, "b": {"marketing", "shared"}},
		{"a": {"shared"}, "b": {"shared", "marketing"}}, // same pools, other order
		{"a": {"marketing"}, "b": {"marketing", "shared"}},
		{"b": {}}, // a has no IP any more: its run stops
		{"a": {"marketing"}, "b": {}},
	}
	for i, r := range readings {
		if err := s.RecordPools(ctx, t0.Add(time.Duration(i)*time.Hour), r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		account string
		want    []struct {
			pools       []string
			first, last int // hours after t0
		}
	}{
		{"a", []struct {
			pools       []string
			first, last int
		}{{[]string{"shared"}, 0, 1}, {[]string{"marketing"}, 2, 4}}},
		{"b", []struct {
			pools       []string
			first, last int
		}{{[]string{"marketing", "shared"}, 0, 2}, {[]string{}, 3, 4}}},
		{"nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			got, err := s.PoolHistory(ctx, tt.account)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d runs %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if !slices.Equal(g.Pools, w.pools) || !g.FirstSeen.Equal(t0.Add(time.Duration(w.first)*time.Hour)) || !g.LastSeen.Equal(t0.Add(time.Duration(w.last)*time.Hour)) {
					t.Errorf("run %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
	if err := s.RecordPools(ctx, time.Time{}, nil); err == nil {
		t.Error("zero time accepted")
	}
}
