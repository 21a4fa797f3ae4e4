package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
)

// TestUpgradeFromVersion1 builds a database at schema version 1 with data
// in it, then opens it: the later migrations apply and backfill.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].version != 1 {
		t.Fatalf("migrations: %+v", ms)
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{ms[0].sql,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init', 0)`,
		`INSERT INTO scores (account, date, score, fetched_at) VALUES
			('a', '2026-11-01', 3, 1), ('a', '2026-11-03', NULL, 1), ('b', '2026-11-02', 5, 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := raw.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("version after upgrade %d (%v), want %d", v, err, SchemaVersion())
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range latest {
		got = append(got, d.Account+"@"+d.Date.String())
	}
	if want := []string{"a@2026-11-03", "b@2026-11-02"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Latest after upgrade = %v, want %v", got, want)
	}
	// Migration 3 rekeys scores by date and fills the newest scored day.
	scoredDays, err := s.LatestScored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, d := range scoredDays {
		got = append(got, d.Account+"@"+d.Date.String())
	}
	if want := []string{"a@2026-11-01", "b@2026-11-02"}; !reflect.DeepEqual(got, want) {
		t.Errorf("LatestScored after upgrade = %v, want %v", got, want)
	}
	if h, err := s.History(ctx, "a", client.Date{}, client.Date{}); err != nil || len(h) != 2 || h[1].Eligible() {
		t.Errorf("History(a) after upgrade = %+v, %v", h, err)
	}
	// SaveDay keeps it current; an older day does not move it back.
	d := client.MustParseDate("2026-11-05")
	old := client.MustParseDate("2026-10-01")
	if err := s.SaveDay(ctx, history.ScopeSubusers, d, []history.DayScore{{Account: "b", Score: client.Float(4), FetchedAt: time.Unix(2, 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDay(ctx, history.ScopeSubusers, old, []history.DayScore{{Account: "a", Score: client.Float(1), FetchedAt: time.Unix(2, 0)},
		{Account: "c", Score: client.Float(2), FetchedAt: time.Unix(2, 0)}}); err != nil {
		t.Fatal(err)
	}
	latest, _ = s.Latest(ctx)
	got = got[:0]
	for _, d := range latest {
		got = append(got, d.Account+"@"+d.Date.String())
	}
	if want := []string{"a@2026-11-03", "b@2026-11-05", "c@2026-10-01"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Latest after saves = %v, want %v", got, want)
	}
}
