package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// Alerts implements [history.Store.Alerts].
func (s *SQLite) Alerts(ctx context.Context) ([]alert.Record, error) {
	out, err := s.alerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: alerts: %w", err)
	}
	return out, nil
}

func (s *SQLite) alerts(ctx context.Context) ([]alert.Record, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, account, rule, metric, severity, state,
		date, from_value, to_value, since, message, advice, first_fired, last_notified,
		notified_severity FROM alerts ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alert.Record
	for rows.Next() {
		var (
			r               alert.Record
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

// SaveAlerts implements [history.Store.SaveAlerts].
func (s *SQLite) SaveAlerts(ctx context.Context, upsert []alert.Record, deleteKeys []string) error {
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
