package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor/history"
)

// BeginSweep implements [history.Store.BeginSweep].
func (s *SQLite) BeginSweep(ctx context.Context, started time.Time) (int64, error) {
	if started.IsZero() {
		return 0, fmt.Errorf("store: begin sweep: zero start time: %w", ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO sweeps (started) VALUES (?)`, nanos(started))
	if err != nil {
		return 0, fmt.Errorf("store: begin sweep: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: begin sweep: %w", err)
	}
	return id, nil
}

// maxSweepErr bounds the stored text of a sweep error.
const maxSweepErr = 4096

// FinishSweep implements [history.Store.FinishSweep].
func (s *SQLite) FinishSweep(ctx context.Context, id int64, finished time.Time, sweepErr error) error {
	if finished.IsZero() {
		return fmt.Errorf("store: finish sweep %d: zero finish time: %w", id, ErrInvalid)
	}
	msg := ""
	if sweepErr != nil {
		msg = secret.ScrubCredentials(sweepErr.Error())
		if msg == "" {
			msg = "unknown error"
		}
		if len(msg) > maxSweepErr {
			msg = strings.ToValidUTF8(msg[:maxSweepErr], "") + "…"
		}
	}
	res, err := s.w.ExecContext(ctx, `UPDATE sweeps SET finished = ?, err = ? WHERE id = ?`,
		nanos(finished), msg, id)
	if err != nil {
		return fmt.Errorf("store: finish sweep %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: finish sweep %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: finish sweep %d: no such sweep: %w", id, ErrInvalid)
	}
	return nil
}

// LastSweep implements [history.Store.LastSweep].
func (s *SQLite) LastSweep(ctx context.Context, successfulOnly bool) (history.SweepRecord, bool, error) {
	q := `SELECT id, started, finished, err FROM sweeps ORDER BY id DESC LIMIT 1`
	if successfulOnly {
		q = `SELECT id, started, finished, err FROM sweeps
			WHERE finished IS NOT NULL AND err = '' ORDER BY id DESC LIMIT 1`
	}
	return s.lastSweep(ctx, q)
}

// LastFinishedSweep implements [history.Store.LastFinishedSweep].
func (s *SQLite) LastFinishedSweep(ctx context.Context) (history.SweepRecord, bool, error) {
	return s.lastSweep(ctx, `SELECT id, started, finished, err FROM sweeps
		WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1`)
}

func (s *SQLite) lastSweep(ctx context.Context, q string) (history.SweepRecord, bool, error) {
	var (
		r        history.SweepRecord
		started  int64
		finished sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, q).Scan(&r.ID, &started, &finished, &r.Err)
	if errors.Is(err, sql.ErrNoRows) {
		return history.SweepRecord{}, false, nil
	}
	if err != nil {
		return history.SweepRecord{}, false, fmt.Errorf("store: last sweep: %w", err)
	}
	r.Started = fromNanos(started)
	if finished.Valid {
		r.Finished = fromNanos(finished.Int64)
	}
	return r, true, nil
}
