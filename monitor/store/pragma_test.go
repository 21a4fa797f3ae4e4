package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmasOnEveryConnection checks that the DSN pragmas apply to every
// pooled connection, not only to the first one.
func TestPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string]string{
		"journal_mode": "wal",
		"synchronous":  "1", // NORMAL
		"busy_timeout": "5000",
		"temp_store":   "2", // MEMORY
		"cache_size":   "-16384",
	}
	check := func(name string, db *sql.DB, n int) {
		// Hold n connections at once so that the pool opens n of them.
		conns := make([]*sql.Conn, n)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		for i, c := range conns {
			for p, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", name, i, p, err)
				}
				if got != v {
					t.Errorf("%s conn %d: %s = %s, want %s", name, i, p, got, v)
				}
			}
			c.Close()
		}
	}
	check("read", s.r, readConns)
	check("write", s.w, 1)
	var ckpt string
	if err := s.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil || ckpt != "4000" {
		t.Errorf("writer wal_autocheckpoint = %s (%v), want 4000", ckpt, err)
	}
}
