package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sgseq/sgseq/monitor/history"
)

// RecordPools records one reading of the IP-pool layout at at: for each
// subuser of pools (username → its pools), the run of its last reading is
// extended when its pools are the same, else a new run starts. Subusers
// absent from pools are left as they are (their last run ends at its last
// reading).
func (s *SQLite) RecordPools(ctx context.Context, at time.Time, pools map[string][]string) error {
	if at.IsZero() {
		return fmt.Errorf("store: record pools: zero time: %w", ErrInvalid)
	}
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		last := map[string]struct {
			first int64
			pools string
		}{}
		rows, err := tx.QueryContext(ctx, `SELECT account, first_seen, pools FROM pool_history AS p
			WHERE first_seen = (SELECT max(first_seen) FROM pool_history WHERE account = p.account)`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a, p string
			var f int64
			if err := rows.Scan(&a, &f, &p); err != nil {
				rows.Close()
				return err
			}
			last[a] = struct {
				first int64
				pools string
			}{f, p}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		now := nanos(at)
		for u, ps := range pools {
			ps = slices.Clone(ps)
			slices.Sort(ps)
			if ps == nil {
				ps = []string{}
			}
			b, err := json.Marshal(slices.Compact(ps))
			if err != nil {
				return err
			}
			if l, ok := last[u]; ok && l.pools == string(b) {
				_, err = tx.ExecContext(ctx, `UPDATE pool_history SET last_seen = max(last_seen, ?)
					WHERE account = ? AND first_seen = ?`, now, u, l.first)
			} else if !ok || now > l.first {
				_, err = tx.ExecContext(ctx, `INSERT INTO pool_history (account, first_seen, last_seen, pools)
					VALUES (?, ?, ?, ?) ON CONFLICT (account, first_seen) DO UPDATE SET pools = excluded.pools`, u, now, now, string(b))
			}
			if err != nil {
				return fmt.Errorf("account %s: %w", u, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record pools: %w", err)
	}
	return nil
}

// PoolHistory returns the runs of account's recorded pools, oldest first
// (none when the layout was never recorded for it).
func (s *SQLite) PoolHistory(ctx context.Context, account string) ([]history.PoolPeriod, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT first_seen, last_seen, pools FROM pool_history
		WHERE account = ? ORDER BY first_seen`, account)
	if err != nil {
		return nil, fmt.Errorf("store: pool history %s: %w", account, err)
	}
	defer rows.Close()
	var out []history.PoolPeriod
	for rows.Next() {
		var f, l int64
		var p string
		if err := rows.Scan(&f, &l, &p); err != nil {
			return nil, fmt.Errorf("store: pool history %s: %w", account, err)
		}
		pp := history.PoolPeriod{FirstSeen: fromNanos(f), LastSeen: fromNanos(l)}
		if err := json.Unmarshal([]byte(p), &pp.Pools); err != nil {
			return nil, fmt.Errorf("store: pool history %s: stored pools %q: %w", account, p, err)
		}
		out = append(out, pp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pool history %s: %w", account, err)
	}
	return out, nil
}
