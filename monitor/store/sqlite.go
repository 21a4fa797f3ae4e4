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
	"regexp"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// SQLite is the [Store] kept in one SQLite file. It is safe for concurrent
// use: writes are serialised on one connection (each in an immediate
// transaction) while reads use a small pool of read-only connections, which
// WAL lets run beside a write.
type SQLite struct {
	path string
	w    *sql.DB // one connection, every write
	r    *sql.DB // read-only connections
}

var _ Store = (*SQLite)(nil)

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

func validScope(scope string) error {
	if scope != ScopeParent && scope != ScopeSubusers {
		return fmt.Errorf("unknown scope %q (want %q or %q): %w", scope, ScopeParent, ScopeSubusers, ErrInvalid)
	}
	return nil
}

// checkDay validates one DayScore for SaveDay and fills a zero Date.
func checkDay(d *DayScore, date client.Date) error {
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
var testHookSavedRow func(DayScore)

// SaveDay implements [Store.SaveDay].
func (s *SQLite) SaveDay(ctx context.Context, scope string, date client.Date, scores []DayScore) error {
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

func (s *SQLite) saveDay(ctx context.Context, scope string, date client.Date, scores []DayScore) error {
	if err := validScope(scope); err != nil {
		return err
	}
	if date.IsZero() {
		return fmt.Errorf("zero date: %w", ErrInvalid)
	}
	// Validate everything before taking the write lock.
	rows := make([]DayScore, len(scores))
	for i, d := range scores {
		if err := checkDay(&d, date); err != nil {
			return err
		}
		rows[i] = d
	}
	// In key order the B-tree appends instead of splitting pages; stable, so
	// that of two rows of one account the later still wins.
	slices.SortStableFunc(rows, func(a, b DayScore) int { return strings.Compare(a.Account, b.Account) })
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

// CompletedDates implements [Store.CompletedDates].
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
func scanDays(rows *sql.Rows) ([]DayScore, error) {
	var out []DayScore
	err := scanEach(rows, func(d DayScore) error {
		out = append(out, d)
		return nil
	})
	return out, err
}

// scanEach reads rows of scoreColumns, calling fn with each, and closes
// rows.
func scanEach(rows *sql.Rows, fn func(DayScore) error) error {
	defer rows.Close()
	for rows.Next() {
		var (
			d       DayScore
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

// History implements [Store.History].
func (s *SQLite) History(ctx context.Context, account string, from, to client.Date) ([]DayScore, error) {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, historyQuery, lo, hi, account)
	if err == nil {
		var out []DayScore
		if out, err = scanDays(rows); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: history %s %s..%s: %w", account, from, to, err)
}

// HistoryAll implements [Store.HistoryAll].
func (s *SQLite) HistoryAll(ctx context.Context, from, to client.Date) (map[string][]DayScore, error) {
	out, err := s.historyAll(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: history of all accounts %s..%s: %w", from, to, err)
	}
	return out, nil
}

// EachDay implements [Store.EachDay].
func (s *SQLite) EachDay(ctx context.Context, from, to client.Date, fn func(DayScore) error) error {
	if err := s.eachDay(ctx, from, to, fn); err != nil {
		return fmt.Errorf("store: days of all accounts %s..%s: %w", from, to, err)
	}
	return nil
}

func (s *SQLite) eachDay(ctx context.Context, from, to client.Date, fn func(DayScore) error) error {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT `+scoreColumns+` FROM scores
		WHERE date >= ? AND date <= ? ORDER BY date, account`, lo, hi)
	if err != nil {
		return err
	}
	return scanEach(rows, fn)
}

func (s *SQLite) historyAll(ctx context.Context, from, to client.Date) (map[string][]DayScore, error) {
	out := map[string][]DayScore{}
	err := s.eachDay(ctx, from, to, func(d DayScore) error {
		h := out[d.Account]
		if h == nil {
			// Account names repeat on every day: keep one copy.
			h = make([]DayScore, 0, 8)
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

// LatestScored implements [Store.LatestScored].
func (s *SQLite) LatestScored(ctx context.Context) ([]DayScore, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.account, s.date, s.user_id, s.score,
		s.engagement_recency, s.open_rate, s.bounce_classification, s.bounce_rate,
		s.spam_rate, s.fetched_at
		FROM latest AS l CROSS JOIN scores AS s ON s.date = l.scored AND s.account = l.account
		WHERE l.scored IS NOT NULL
		ORDER BY l.account`)
	if err == nil {
		var out []DayScore
		if out, err = scanDays(rows); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: latest scored days: %w", err)
}

// Latest implements [Store.Latest].
func (s *SQLite) Latest(ctx context.Context) ([]DayScore, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.account, s.date, s.user_id, s.score,
		s.engagement_recency, s.open_rate, s.bounce_classification, s.bounce_rate,
		s.spam_rate, s.fetched_at
		FROM latest AS l JOIN scores AS s ON s.account = l.account AND s.date = l.date
		ORDER BY l.account`)
	if err == nil {
		var out []DayScore
		if out, err = scanDays(rows); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("store: latest: %w", err)
}

// Accounts implements [Store.Accounts].
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

// Alerts implements [Store.Alerts].
func (s *SQLite) Alerts(ctx context.Context) ([]AlertRecord, error) {
	out, err := s.alerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: alerts: %w", err)
	}
	return out, nil
}

func (s *SQLite) alerts(ctx context.Context) ([]AlertRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, account, rule, metric, severity, state,
		date, from_value, to_value, since, message, advice, first_fired, last_notified,
		notified_severity FROM alerts ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertRecord
	for rows.Next() {
		var (
			r               AlertRecord
			rule, metric    string
			sev, st, nsev   string
			date, since     string
			from, to        sql.NullFloat64
			first, notified int64
		)
		if err := rows.Scan(&r.Key, &r.Account, &rule, &metric, &sev, &st, &date, &from, &to,
			&since, &r.Message, &r.Advice, &first, &notified, &nsev); err != nil {
			return nil, err
		}
		r.Rule, r.Metric, r.Severity, r.State = alert.Rule(rule), client.Metric(metric), alert.Severity(sev), alert.State(st)
		r.NotifiedSeverity = alert.Severity(nsev)
		if err := r.Date.UnmarshalText([]byte(date)); err != nil {
			return nil, fmt.Errorf("alert %s: stored date: %w", r.Key, err)
		}
		if err := r.Since.UnmarshalText([]byte(since)); err != nil {
			return nil, fmt.Errorf("alert %s: stored since: %w", r.Key, err)
		}
		r.From, r.To = floatPtr(from), floatPtr(to)
		r.FirstFired, r.LastNotified = fromNanos(first), fromNanos(notified)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveAlerts implements [Store.SaveAlerts].
func (s *SQLite) SaveAlerts(ctx context.Context, upsert []AlertRecord, deleteKeys []string) error {
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		for _, r := range upsert {
			if r.Key == "" {
				return fmt.Errorf("alert with empty key: %w", ErrInvalid)
			}
			if r.State != alert.Firing && r.State != alert.Resolved {
				return fmt.Errorf("alert %s: state %q: %w", r.Key, r.State, ErrInvalid)
			}
			if (r.From != nil && !finite(*r.From)) || (r.To != nil && !finite(*r.To)) {
				return fmt.Errorf("alert %s: non-finite value: %w", r.Key, ErrInvalid)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (key, account, rule, metric,
				severity, state, date, from_value, to_value, since, message, advice,
				first_fired, last_notified, notified_severity)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET account = excluded.account,
				 rule = excluded.rule, metric = excluded.metric,
				 severity = excluded.severity, state = excluded.state,
				 date = excluded.date, from_value = excluded.from_value,
				 to_value = excluded.to_value, since = excluded.since,
				 message = excluded.message, advice = excluded.advice,
				 first_fired = excluded.first_fired,
				 last_notified = excluded.last_notified,
				 notified_severity = excluded.notified_severity`,
				r.Key, r.Account, string(r.Rule), string(r.Metric), string(r.Severity),
				string(r.State), r.Date.String(), nullFloat(r.From), nullFloat(r.To),
				r.Since.String(), r.Message, r.Advice, nanos(r.FirstFired),
				nanos(r.LastNotified), string(r.NotifiedSeverity)); err != nil {
				return fmt.Errorf("alert %s: %w", r.Key, err)
			}
		}
		for _, k := range deleteKeys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE key = ?`, k); err != nil {
				return fmt.Errorf("alert %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save alerts: %w", err)
	}
	return nil
}

// BeginSweep implements [Store.BeginSweep].
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

// credentialPatterns match credentials that must never be stored even if a
// library puts them in an error text: SendGrid API keys, Slack tokens and
// Slack incoming-webhook URLs.
var credentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`SG\.[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)?`),
	regexp.MustCompile(`xox[a-z]-[A-Za-z0-9\-]+`),
	regexp.MustCompile(`https://hooks\.slack(-gov)?\.com/[^\s"']+`),
}

// redact replaces credentials in text with REDACTED (defence in depth: the
// sweep's errors are meant to be free of them already).
func redact(text string) string {
	for _, re := range credentialPatterns {
		text = re.ReplaceAllString(text, "REDACTED")
	}
	return text
}

// maxSweepErr bounds the stored text of a sweep error.
const maxSweepErr = 4096

// FinishSweep implements [Store.FinishSweep].
func (s *SQLite) FinishSweep(ctx context.Context, id int64, finished time.Time, sweepErr error) error {
	if finished.IsZero() {
		return fmt.Errorf("store: finish sweep %d: zero finish time: %w", id, ErrInvalid)
	}
	msg := ""
	if sweepErr != nil {
		msg = redact(sweepErr.Error())
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

// LastSweep implements [Store.LastSweep].
func (s *SQLite) LastSweep(ctx context.Context, successfulOnly bool) (SweepRecord, bool, error) {
	q := `SELECT id, started, finished, err FROM sweeps ORDER BY id DESC LIMIT 1`
	if successfulOnly {
		q = `SELECT id, started, finished, err FROM sweeps
			WHERE finished IS NOT NULL AND err = '' ORDER BY id DESC LIMIT 1`
	}
	return s.lastSweep(ctx, q)
}

// LastFinishedSweep implements [Store.LastFinishedSweep].
func (s *SQLite) LastFinishedSweep(ctx context.Context) (SweepRecord, bool, error) {
	return s.lastSweep(ctx, `SELECT id, started, finished, err FROM sweeps
		WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1`)
}

func (s *SQLite) lastSweep(ctx context.Context, q string) (SweepRecord, bool, error) {
	var (
		r        SweepRecord
		started  int64
		finished sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, q).Scan(&r.ID, &started, &finished, &r.Err)
	if errors.Is(err, sql.ErrNoRows) {
		return SweepRecord{}, false, nil
	}
	if err != nil {
		return SweepRecord{}, false, fmt.Errorf("store: last sweep: %w", err)
	}
	r.Started = fromNanos(started)
	if finished.Valid {
		r.Finished = fromNanos(finished.Int64)
	}
	return r, true, nil
}

// Prune implements [Store.Prune]. It also deletes finished sweep records
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
