package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
)

func validScope(scope string) error {
	if scope != history.ScopeParent && scope != history.ScopeSubusers {
		return fmt.Errorf("unknown scope %q (want %q or %q): %w", scope, history.ScopeParent, history.ScopeSubusers, ErrInvalid)
	}
	return nil
}

// checkDay validates one history.DayScore for SaveDay and fills a zero Date.
func checkDay(d *history.DayScore, date client.Date) error {
	if d.Account == "" {
		return fmt.Errorf("score with empty account: %w", ErrInvalid)
	}
	if d.Date.IsZero() {
		d.Date = date
	} else if d.Date != date {
		return fmt.Errorf("account %s: score dated %s in a save for %s: %w", d.Account, d.Date, date, ErrInvalid)
	}
	if d.Score != nil && !finite(*d.Score) {
		return fmt.Errorf("account %s: non-finite score: %w", d.Account, ErrInvalid)
	}
	if m := d.Metrics; m != nil {
		for _, metric := range client.AllMetrics {
			if v, _ := m.Get(metric); !finite(v) {
				return fmt.Errorf("account %s: non-finite %s: %w", d.Account, metric, ErrInvalid)
			}
		}
	}
	return nil
}

// testHookSavedRow, when set by a test, runs for each row SaveDay wrote,
// after the INSERT of its batch, inside the transaction (the crash test
// kills the process there).
var testHookSavedRow func(history.DayScore)

// SaveDay implements [history.Store.SaveDay].
func (s *SQLite) SaveDay(ctx context.Context, scope string, date client.Date, scores []history.DayScore) error {
	err := s.saveDay(ctx, scope, date, scores)
	if err != nil {
		return fmt.Errorf("store: save %s %s: %w", scope, date, err)
	}
	return nil
}

// saveBatch is the number of rows one INSERT statement of SaveDay writes
// (9 variables a row; SQLite allows 32,766 a statement).
const saveBatch = 500

// upsertScores returns the INSERT statement writing n rows of scores.
func upsertScores(n int) string {
	var b strings.Builder
	// ?1 is the date, shared by every row; each row binds nine more.
	b.WriteString(`INSERT INTO scores (date, account, user_id, score, engagement_recency,
		open_rate, bounce_classification, bounce_rate, spam_rate, fetched_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?1,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (date, account) DO UPDATE SET
		user_id = excluded.user_id, score = excluded.score,
		engagement_recency = excluded.engagement_recency,
		open_rate = excluded.open_rate,
		bounce_classification = excluded.bounce_classification,
		bounce_rate = excluded.bounce_rate, spam_rate = excluded.spam_rate,
		fetched_at = excluded.fetched_at`)
	return b.String()
}

// updateLatest moves every account saved for a date (?1) to its newest
// date and newest scored date, in one set-based statement: never back,
// except that a re-saved day that lost its score gives the account's
// previous scored day back (a rare re-fetch; found by a scan). "WHERE true"
// keeps SQLite's parser from reading ON CONFLICT as a join constraint.
//
// With n > 0 only the n accounts bound as ?2.. are updated (a save of a
// few rows into a date that holds many); n == 0 updates every account of
// the date (a day's full save).
func updateLatest(n int) string {
	filter := ""
	if n > 0 {
		filter = " AND account IN (?" + strings.Repeat(",?", n-1) + ")"
	}
	return `INSERT INTO latest (account, date, scored)
	SELECT account, date, CASE WHEN score IS NOT NULL THEN date END
	FROM scores WHERE date = ?1` + filter + ` AND true
	ON CONFLICT (account) DO UPDATE SET
	 date = CASE WHEN excluded.date > latest.date THEN excluded.date ELSE latest.date END,
	 scored = CASE
	  WHEN excluded.scored IS NOT NULL THEN
	   CASE WHEN latest.scored IS NULL OR excluded.scored > latest.scored THEN excluded.scored ELSE latest.scored END
	  WHEN latest.scored = ?1 THEN
	   (SELECT max(s.date) FROM scores AS s WHERE s.account = latest.account AND s.score IS NOT NULL)
	  ELSE latest.scored END`
}

// fewRows is the largest save whose accounts updateLatest names one by one.
const fewRows = 100

func (s *SQLite) saveDay(ctx context.Context, scope string, date client.Date, scores []history.DayScore) error {
	if err := validScope(scope); err != nil {
		return err
	}
	if date.IsZero() {
		return fmt.Errorf("zero date: %w", ErrInvalid)
	}
	// Validate everything before taking the write lock.
	rows := make([]history.DayScore, len(scores))
	for i, d := range scores {
		if err := checkDay(&d, date); err != nil {
			return err
		}
		rows[i] = d
	}
	// In key order the B-tree appends instead of splitting pages; stable, so
	// that of two rows of one account the later still wins.
	slices.SortStableFunc(rows, func(a, b history.DayScore) int { return strings.Compare(a.Account, b.Account) })
	ds := date.String()
	return s.withTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, 1+9*min(len(rows), saveBatch))
		var full *sql.Stmt // the statement of saveBatch rows, prepared once
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		for lo := 0; lo < len(rows); lo += saveBatch {
			batch := rows[lo:min(lo+saveBatch, len(rows))]
			args = append(args[:0], ds)
			for _, d := range batch {
				// Plain values (nil for NULL) bind faster than sql.Null*.
				var score any
				if d.Score != nil {
					score = *d.Score
				}
				m := [5]any{}
				if d.Metrics != nil {
					m = [5]any{d.Metrics.EngagementRecency, d.Metrics.OpenRate,
						d.Metrics.BounceClassification, d.Metrics.BounceRate, d.Metrics.SpamRate}
				}
				args = append(args, d.Account, d.UserID, score,
					m[0], m[1], m[2], m[3], m[4], nanos(d.FetchedAt))
			}
			var err error
			if len(batch) == saveBatch {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, upsertScores(saveBatch)); err != nil {
						return err
					}
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, upsertScores(len(batch)), args...)
			}
			if err != nil {
				return fmt.Errorf("accounts %s..%s: %w", batch[0].Account, batch[len(batch)-1].Account, err)
			}
			if testHookSavedRow != nil {
				for _, d := range batch {
					testHookSavedRow(d)
				}
			}
		}
		latestArgs := []any{ds}
		if len(rows) <= fewRows {
			for _, d := range rows {
				latestArgs = append(latestArgs, d.Account)
			}
		}
		if _, err := tx.ExecContext(ctx, updateLatest(len(latestArgs)-1), latestArgs...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO completed_dates (scope, date, completed_at)
			VALUES (?, ?, ?) ON CONFLICT (scope, date) DO UPDATE SET completed_at = excluded.completed_at`,
			scope, ds, time.Now().UnixNano())
		return err
	})
}

// CompletedDates implements [history.Store.CompletedDates].
func (s *SQLite) CompletedDates(ctx context.Context, scope string, from, to client.Date) (map[client.Date]bool, error) {
	wrap := func(err error) error {
		return fmt.Errorf("store: completed dates %s %s..%s: %w", scope, from, to, err)
	}
	if err := validScope(scope); err != nil {
		return nil, wrap(err)
	}
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT date FROM completed_dates
		WHERE scope = ? AND date >= ? AND date <= ?`, scope, lo, hi)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := make(map[client.Date]bool)
	for rows.Next() {
		var ds string
		if err := rows.Scan(&ds); err != nil {
			return nil, wrap(err)
		}
		d, err := client.ParseDate(ds)
		if err != nil {
			return nil, wrap(err)
		}
		out[d] = true
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

// bounds turns an inclusive date range with open zero bounds into text
// bounds.
func bounds(from, to client.Date) (string, string) {
	lo, hi := "0000-00-00", "9999-99-99"
	if !from.IsZero() {
		lo = from.String()
	}
	if !to.IsZero() {
		hi = to.String()
	}
	return lo, hi
}

const scoreColumns = `account, date, user_id, score, engagement_recency, open_rate,
	bounce_classification, bounce_rate, spam_rate, fetched_at`

// scanDays reads rows of scoreColumns.
func scanDays(rows *sql.Rows) ([]history.DayScore, error) {
	var out []history.DayScore
	err := scanEach(rows, func(d history.DayScore) error {
		out = append(out, d)
		return nil
	})
	return out, err
}

// scanEach reads rows of scoreColumns, calling fn with each, and closes
// rows.
func scanEach(rows *sql.Rows, fn func(history.DayScore) error) error {
	defer rows.Close()
	for rows.Next() {
		var (
			d       history.DayScore
			ds      string
			score   sql.NullFloat64
			m       [5]sql.NullFloat64
			fetched int64
		)
		if err := rows.Scan(&d.Account, &ds, &d.UserID, &score, &m[0], &m[1], &m[2], &m[3], &m[4], &fetched); err != nil {
			return err
		}
		date, err := client.ParseDate(ds)
		if err != nil {
			return fmt.Errorf("account %s: stored %w", d.Account, err)
		}
		d.Date = date
		d.Score = floatPtr(score)
		if m[0].Valid {
			d.Metrics = &client.Metrics{
				EngagementRecency:    m[0].Float64,
				OpenRate:             m[1].Float64,
				BounceClassification: m[2].Float64,
				BounceRate:           m[3].Float64,
				SpamRate:             m[4].Float64,
			}
		}
		d.FetchedAt = fromNanos(fetched)
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// historyQuery reads one account's days with one primary-key lookup per
// day (scores is keyed by date first): the days run from the later of the
// lower bound and the oldest stored day to the earlier of the upper bound
// and the account's newest day. CROSS JOIN keeps the days as the outer loop.
const historyQuery = `WITH RECURSIVE
	b(lo, hi) AS (SELECT max(?1, (SELECT min(date) FROM scores)),
	                     min(?2, (SELECT date FROM latest WHERE account = ?3))),
	d(x) AS (SELECT lo FROM b WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi
	         UNION ALL SELECT date(x, '+1 day') FROM d, b WHERE x < b.hi)
	SELECT s.account, s.date, s.user_id, s.score, s.engagement_recency, s.open_rate,
	       s.bounce_classification, s.bounce_rate, s.spam_rate, s.fetched_at
	FROM d CROSS JOIN scores AS s ON s.date = d.x AND s.account = ?3
	ORDER BY s.date`

// History implements [history.Store.History].
func (s *SQLite) History(ctx context.Context, account string, from, to client.Date) ([]history.DayScore, error) {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, historyQuery, lo, hi, account)
	if err == nil {
		var out []history.DayScore
		if out, err = scanDays(rows); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: history %s %s..%s: %w", account, from, to, err)
}

// HistoryAll implements [history.Store.HistoryAll].
func (s *SQLite) HistoryAll(ctx context.Context, from, to client.Date) (map[string][]history.DayScore, error) {
	out, err := s.historyAll(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: history of all accounts %s..%s: %w", from, to, err)
	}
	return out, nil
}

// EachDay implements [history.Store.EachDay].
func (s *SQLite) EachDay(ctx context.Context, from, to client.Date, fn func(history.DayScore) error) error {
	if err := s.eachDay(ctx, from, to, fn); err != nil {
		return fmt.Errorf("store: days of all accounts %s..%s: %w", from, to, err)
	}
	return nil
}

func (s *SQLite) eachDay(ctx context.Context, from, to client.Date, fn func(history.DayScore) error) error {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT `+scoreColumns+` FROM scores
		WHERE date >= ? AND date <= ? ORDER BY date, account`, lo, hi)
	if err != nil {
		return err
	}
	return scanEach(rows, fn)
}

func (s *SQLite) historyAll(ctx context.Context, from, to client.Date) (map[string][]history.DayScore, error) {
	out := map[string][]history.DayScore{}
	err := s.eachDay(ctx, from, to, func(d history.DayScore) error {
		h := out[d.Account]
		if h == nil {
			// Account names repeat on every day: keep one copy.
			h = make([]history.DayScore, 0, 8)
		} else {
			d.Account = h[0].Account
		}
		out[d.Account] = append(h, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LatestScored implements [history.Store.LatestScored].
func (s *SQLite) LatestScored(ctx context.Context) ([]history.DayScore, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.account, s.date, s.user_id, s.score,
		s.engagement_recency, s.open_rate, s.bounce_classification, s.bounce_rate,
		s.spam_rate, s.fetched_at
		FROM latest AS l CROSS JOIN scores AS s ON s.date = l.scored AND s.account = l.account
		WHERE l.scored IS NOT NULL
		ORDER BY l.account`)
	if err == nil {
		var out []history.DayScore
		if out, err = scanDays(rows); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: latest scored days: %w", err)
}

// Latest implements [history.Store.Latest].
func (s *SQLite) Latest(ctx context.Context) ([]history.DayScore, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.account, s.date, s.user_id, s.score,
		s.engagement_recency, s.open_rate, s.bounce_classification, s.bounce_rate,
		s.spam_rate, s.fetched_at
		FROM latest AS l JOIN scores AS s ON s.account = l.account AND s.date = l.date
		ORDER BY l.account`)
	if err == nil {
		var out []history.DayScore
		if out, err = scanDays(rows); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: latest: %w", err)
}

// Accounts implements [history.Store.Accounts].
func (s *SQLite) Accounts(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT account FROM latest ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	return out, nil
}

// Prune implements [history.Store.Prune]. It also deletes finished sweep records
// that started before the date, keeping the latest successful one.
func (s *SQLite) Prune(ctx context.Context, before client.Date) (int64, error) {
	if before.IsZero() {
		return 0, nil
	}
	var n int64
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM scores WHERE date < ?`, before.String())
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		// An account whose newest day is pruned has no day left at all.
		// An account whose newest scored day is pruned has no scored day left.
		for _, q := range []string{`DELETE FROM completed_dates WHERE date < ?`, `DELETE FROM latest WHERE date < ?`,
			`UPDATE latest SET scored = NULL WHERE scored < ?`} {
			if _, err := tx.ExecContext(ctx, q, before.String()); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sweeps WHERE finished IS NOT NULL AND started < ?
			AND id <> coalesce((SELECT max(id) FROM sweeps WHERE finished IS NOT NULL AND err = ''), 0)`,
			before.Time().UnixNano())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune before %s: %w", before, err)
	}
	return n, nil
}
