package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/store"
)

func TestPoolMoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "moves.db")
	s := mustOpenAt(t, path)
	if ms, err := s.PoolMoves(ctx); err != nil || len(ms) != 0 {
		t.Fatalf("new store: %v, %v", ms, err)
	}
	at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	a := history.PoolMove{TierChange: alert.TierChange{Username: "b-sender", FromTier: "high", ToTier: "low", FromPool: "p1", ToPool: "p3", Reason: "median 2"}, SentAt: at}
	b := history.PoolMove{TierChange: alert.TierChange{Username: "a-sender", ToTier: "mid", ToPool: "p2"}, SentAt: at}
	if err := s.SavePoolMoves(ctx, []history.PoolMove{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	a2 := a
	a2.ToTier, a2.SentAt = "mid", at.Add(time.Hour)
	if err := s.SavePoolMoves(ctx, []history.PoolMove{a2}, []string{"a-sender", "missing"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePoolMoves(ctx, []history.PoolMove{{}}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty username: %v, want ErrInvalid", err)
	}
	// Reopened, as the next cron run does.
	s2 := mustOpenAt(t, path)
	got, err := s2.PoolMoves(ctx)
	if err != nil || !reflect.DeepEqual(got, []history.PoolMove{a2}) {
		t.Errorf("PoolMoves = %+v, %v; want %+v", got, err, a2)
	}
	if !got[0].Same(alert.TierChange{Username: "b-sender", FromTier: "high", ToTier: "mid", FromPool: "p1", ToPool: "p3", Reason: "other words"}) ||
		got[0].Same(a.TierChange) {
		t.Error("Same compares tiers and pools, not the reason")
	}
}

func TestFirstCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	if at, err := s.FirstCheck(ctx); err != nil || !at.IsZero() {
		t.Fatalf("new store: first check %v, %v", at, err)
	}
	t1 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{t1, t1.Add(24 * time.Hour)} {
		if err := s.MarkChecked(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	if at, err := s.FirstCheck(ctx); err != nil || !at.Equal(t1) {
		t.Errorf("first check %v, %v; want %v (the first mark kept)", at, err, t1)
	}
}

// TestStandingCheck: the next check is standing on a new store and after
// a backfill newer than the last check, not otherwise.
func TestStandingCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	t0 := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"new store", func() error { return nil }, true},
		{"backfilled, never checked", func() error { return s.MarkBackfilled(ctx, t0) }, true},
		{"checked", func() error { return s.MarkChecked(ctx, t0.Add(time.Hour)) }, false},
		{"checked again", func() error { return s.MarkChecked(ctx, t0.Add(25*time.Hour)) }, false},
		{"backfilled after the last check", func() error { return s.MarkBackfilled(ctx, t0.Add(26*time.Hour)) }, true},
		{"checked after the backfill", func() error { return s.MarkChecked(ctx, t0.Add(27*time.Hour)) }, false},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got, err := s.StandingCheck(ctx); err != nil || got != st.want {
			t.Errorf("%s: StandingCheck = %v, %v; want %v", st.name, got, err, st.want)
		}
	}
}
