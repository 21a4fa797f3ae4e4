package store

import (
	"context"
	"fmt"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// AlertEvents returns the recorded history of account's alerts (fired,
// reminded, escalated, resolved), oldest first. The events are recorded by
// the store itself (triggers of migration 0004) whenever [SQLite.SaveAlerts]
// saves a state that is a step in an alert's life; an account without
// alerts has none.
func (s *SQLite) AlertEvents(ctx context.Context, account string) ([]alert.Event, error) {
	out, err := s.alertEvents(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("store: alert events %s: %w", account, err)
	}
	return out, nil
}

func (s *SQLite) alertEvents(ctx context.Context, account string) ([]alert.Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, key, account, rule, metric, severity,
		date, at, message, advice FROM alert_events WHERE account = ? ORDER BY id`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alert.Event
	for rows.Next() {
		var (
			e                       alert.Event
			kind, rule, metric, sev string
			date                    string
			at                      int64
		)
		if err := rows.Scan(&e.ID, &kind, &e.Key, &e.Account, &rule, &metric, &sev, &date, &at, &e.Message, &e.Advice); err != nil {
			return nil, err
		}
		e.Kind, e.Rule, e.Metric, e.Severity = alert.EventKind(kind), alert.Rule(rule), client.Metric(metric), alert.Severity(sev)
		if date != "" {
			if err := e.Date.UnmarshalText([]byte(date)); err != nil {
				return nil, fmt.Errorf("event %d: stored date: %w", e.ID, err)
			}
		}
		e.At = fromNanos(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
