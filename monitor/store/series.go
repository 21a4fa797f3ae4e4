package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sgseq/sgseq/client"
)

// EachScore calls fn with the score of every stored day in [from, to]
// (inclusive; a zero bound is open) of every account, ordered by date then
// account, in one read: score is nil on an ineligible day. It reads only
// what a sparkline needs, so it is faster than [SQLite.EachDay] over many
// accounts. account and score are only valid during the call (copy them to
// keep them). An error from fn stops the read and is returned (wrapped).
func (s *SQLite) EachScore(ctx context.Context, from, to client.Date, fn func(account []byte, date client.Date, score *float64) error) error {
	if err := s.eachScore(ctx, from, to, fn); err != nil {
		return fmt.Errorf("store: scores of all accounts %s..%s: %w", from, to, err)
	}
	return nil
}

func (s *SQLite) eachScore(ctx context.Context, from, to client.Date, fn func(account []byte, date client.Date, score *float64) error) error {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT date, account, score FROM scores
		WHERE date >= ? AND date <= ? ORDER BY date, account`, lo, hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		ds, acct, prev sql.RawBytes
		score          sql.NullFloat64
		date           client.Date
		v              float64
	)
	for rows.Next() {
		if err := rows.Scan(&ds, &acct, &score); err != nil {
			return err
		}
		// The rows come by date: parse each date once.
		if string(ds) != string(prev) {
			if date, err = client.ParseDate(string(ds)); err != nil {
				return fmt.Errorf("account %s: stored %w", acct, err)
			}
			prev = append(prev[:0], ds...)
		}
		var p *float64
		if score.Valid {
			v = score.Float64
			p = &v
		}
		if err := fn(acct, date, p); err != nil {
			return err
		}
	}
	return rows.Err()
}
