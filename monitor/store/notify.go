package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sgseq/sgseq/monitor/history"
)

// PoolMoves implements [history.Store.PoolMoves].
func (s *SQLite) PoolMoves(ctx context.Context) ([]history.PoolMove, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT username, from_tier, to_tier, from_pool, to_pool,
		reason, sent_at FROM pool_moves ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("store: pool moves: %w", err)
	}
	defer rows.Close()
	var out []history.PoolMove
	for rows.Next() {
		var m history.PoolMove
		var sent int64
		if err := rows.Scan(&m.Username, &m.FromTier, &m.ToTier, &m.FromPool, &m.ToPool, &m.Reason, &sent); err != nil {
			return nil, fmt.Errorf("store: pool moves: %w", err)
		}
		m.SentAt = fromNanos(sent)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pool moves: %w", err)
	}
	return out, nil
}

// SavePoolMoves implements [history.Store.SavePoolMoves].
func (s *SQLite) SavePoolMoves(ctx context.Context, upsert []history.PoolMove, deleteUsers []string) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		for _, m := range upsert {
			if m.Username == "" {
				return fmt.Errorf("pool move with empty username: %w", ErrInvalid)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO pool_moves (username, from_tier, to_tier,
				from_pool, to_pool, reason, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (username) DO UPDATE SET from_tier = excluded.from_tier,
				 to_tier = excluded.to_tier, from_pool = excluded.from_pool,
				 to_pool = excluded.to_pool, reason = excluded.reason, sent_at = excluded.sent_at`,
				m.Username, m.FromTier, m.ToTier, m.FromPool, m.ToPool, m.Reason, nanos(m.SentAt)); err != nil {
				return fmt.Errorf("pool move %s: %w", m.Username, err)
			}
		}
		for _, u := range deleteUsers {
			if _, err := tx.ExecContext(ctx, `DELETE FROM pool_moves WHERE username = ?`, u); err != nil {
				return fmt.Errorf("pool move %s: %w", u, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save pool moves: %w", err)
	}
	return nil
}

// Names of the marks in monitor_marks.
const (
	markFirstCheck = "first_check"   // the first completed check
	markLastCheck  = "last_check"    // the latest completed check
	markBackfilled = "last_backfill" // the latest backfill that stored days
)

// FirstCheck implements [history.Store.FirstCheck].
func (s *SQLite) FirstCheck(ctx context.Context) (time.Time, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT at FROM monitor_marks WHERE name = ?`, markFirstCheck).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("store: first check: %w", err)
	}
	return fromNanos(at), nil
}

// MarkChecked implements [history.Store.MarkChecked].
func (s *SQLite) MarkChecked(ctx context.Context, at time.Time) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_marks (name, at) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, markFirstCheck, nanos(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO monitor_marks (name, at) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET at = excluded.at`, markLastCheck, nanos(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mark checked: %w", err)
	}
	return nil
}

// MarkBackfilled implements [history.Store.MarkBackfilled].
func (s *SQLite) MarkBackfilled(ctx context.Context, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO monitor_marks (name, at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET at = excluded.at`, markBackfilled, nanos(at))
	if err != nil {
		return fmt.Errorf("store: mark backfilled: %w", err)
	}
	return nil
}

// StandingCheck implements [history.Store.StandingCheck].
func (s *SQLite) StandingCheck(ctx context.Context) (bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, at FROM monitor_marks WHERE name IN (?, ?, ?)`,
		markFirstCheck, markLastCheck, markBackfilled)
	if err != nil {
		return false, fmt.Errorf("store: standing check: %w", err)
	}
	defer rows.Close()
	marks := map[string]int64{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			return false, fmt.Errorf("store: standing check: %w", err)
		}
		marks[name] = at
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: standing check: %w", err)
	}
	if _, ok := marks[markFirstCheck]; !ok {
		return true, nil
	}
	last, ok := marks[markLastCheck]
	if !ok {
		last = marks[markFirstCheck] // a store checked before last_check was kept
	}
	b, ok := marks[markBackfilled]
	return ok && b > last, nil
}
