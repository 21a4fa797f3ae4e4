package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/sgseq/sgseq/monitor/history"
)

// SQLite is the [history.Store] kept in one SQLite file. It is safe for concurrent
// use: writes are serialised on one connection (each in an immediate
// transaction) while reads use a small pool of read-only connections, which
// WAL lets run beside a write.
type SQLite struct {
	path string
	w    *sql.DB // one connection, every write
	r    *sql.DB // read-only connections
}

var _ history.Store = (*SQLite)(nil)

// readConns bounds the read-only connection pool.
const readConns = 4

// Open opens (creating it if needed) the store at path and brings its schema
// up to date. Missing parent directories are created with mode 0700 and a
// new file with mode 0600. It fails with an error wrapping [ErrNotDatabase]
// for a file that is not a SQLite database, and [ErrSchemaTooNew] for a
// database written by a newer sgseq.
func Open(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		return nil, fmt.Errorf("store: open: empty path: %w", ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// Create the file ourselves so that it gets mode 0600 (SQLite would use
	// 0644); the -wal and -shm files inherit the database file's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}

	s := &SQLite{path: abs}
	if s.w, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.w.SetConnMaxLifetime(0)
	if err := s.w.PingContext(ctx); err != nil {
		s.w.Close()
		return nil, openError(abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, openError(abs, err)
	}
	if s.r, err = sql.Open("sqlite", dsn(abs, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	s.r.SetMaxOpenConns(readConns)
	s.r.SetMaxIdleConns(readConns)
	if err := s.r.PingContext(ctx); err != nil {
		s.Close()
		return nil, openError(abs, err)
	}
	return s, nil
}

// dsn builds the modernc.org/sqlite DSN for path. Write connections begin
// their transactions IMMEDIATE, so that a writer waits (busy_timeout) for
// the write lock at BEGIN instead of failing with SQLITE_BUSY when it
// upgrades a read lock mid-transaction.
func dsn(path string, readOnly bool) string {
	u := url.URL{Path: path}
	var b strings.Builder
	b.WriteString("file:")
	b.WriteString(u.EscapedPath())
	// Every pragma is set on each new connection of the pool. WAL with
	// synchronous NORMAL syncs only at checkpoints, not at each commit.
	b.WriteString("?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	b.WriteString("&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16384)") // 16 MiB page cache
	if readOnly {
		b.WriteString("&_pragma=query_only(1)")
	} else {
		// A checkpoint (two syncs) every ~16 MB of WAL rather than every 4 MB:
		// one day of 10,000 subusers writes ~1.5 MB.
		b.WriteString("&_pragma=wal_autocheckpoint(4000)&_txlock=immediate")
	}
	return b.String()
}

// SQLite result codes recognised by openError.
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// openError turns an error met while opening path into a clear one.
func openError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteCorrupt, sqliteNotADB:
			return fmt.Errorf("store: open %s: %w (%w)", path, ErrNotDatabase, err)
		}
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// Path returns the absolute path of the database file.
func (s *SQLite) Path() string { return s.path }

// Close closes the database. It is safe to call more than once.
func (s *SQLite) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// withTx runs fn in one write transaction, committing when it returns nil.
func (s *SQLite) withTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// nanos stores an instant as Unix nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos; times come back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nullFloat(p *float64) sql.NullFloat64 {
	if p == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *p, Valid: true}
}

func floatPtr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.Float64
	return &v
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
