// Package history holds the monitor's domain types for stored state: one
// account's score for one day ([DayScore]), a sweep ([SweepRecord]), and
// the [Store] interface a store backend implements (monitor/store is the
// SQLite one). Detection rules, the IP-pool planner and the notifiers
// depend on these types, never on a storage backend.
package history

import (
	"context"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// Scopes name the two SEQ endpoints whose dates are tracked separately in
// [Store].SaveDay and [Store].CompletedDates.
const (
	// ScopeParent is the parent account's scores endpoint.
	ScopeParent = "parent"
	// ScopeSubusers is the subusers' scores endpoint.
	ScopeSubusers = "subusers"
)

// DayScore is one account's stored result for one day.
type DayScore struct {
	// Account is the subuser's username, or alert.ParentAccount.
	Account string
	// UserID is SendGrid's user ID for the account, when known.
	UserID string
	// Date is the scored UTC day.
	Date client.Date
	// Score is the overall SEQ score, 1–5; nil when the account was not
	// eligible that day.
	Score *float64
	// Metrics holds the five component metrics; nil when ineligible.
	Metrics *client.Metrics
	// FetchedAt is when the score was fetched from SendGrid.
	FetchedAt time.Time
}

// Eligible reports whether the day carries a score.
func (d DayScore) Eligible() bool { return d.Score != nil }

// FromScore converts a client score into a DayScore for account, fetched at
// fetchedAt. account is usually s.Username, or alert.ParentAccount for the
// parent's own scores.
func FromScore(account string, s client.Score, fetchedAt time.Time) DayScore {
	d := DayScore{Account: account, UserID: s.UserID, Date: s.Date, FetchedAt: fetchedAt}
	if s.Score != nil {
		v := *s.Score
		d.Score = &v
	}
	if s.Metrics != nil {
		m := *s.Metrics
		d.Metrics = &m
	}
	return d
}

// SweepRecord is one sweep of the monitor.
type SweepRecord struct {
	// ID identifies the sweep; it grows with each sweep.
	ID int64
	// Started is when the sweep started.
	Started time.Time
	// Finished is when it finished; zero while running or if the process
	// died before finishing.
	Finished time.Time
	// Err is the sweep's error text; "" with Finished set means success.
	Err string
}

// Succeeded reports whether the sweep finished without error.
func (r SweepRecord) Succeeded() bool { return !r.Finished.IsZero() && r.Err == "" }

// PoolMove is a proposed IP-pool move as last delivered to Slack, so that
// the same proposal is not sent again every run.
type PoolMove struct {
	alert.TierChange
	// SentAt is when the message listing it was accepted.
	SentAt time.Time
}

// Same reports whether m proposes the same move as tc (same tiers and
// pools; the reason's wording, such as how many days it held, may differ).
func (m PoolMove) Same(tc alert.TierChange) bool {
	return m.Username == tc.Username && m.FromTier == tc.FromTier && m.ToTier == tc.ToTier &&
		m.FromPool == tc.FromPool && m.ToPool == tc.ToPool
}

// Reader reads the stored score history. Implementations are safe for
// concurrent use.
type Reader interface {
	// History returns account's stored days in [from, to] (inclusive; a zero
	// bound is open), ascending by date.
	History(ctx context.Context, account string, from, to client.Date) ([]DayScore, error)
	// HistoryAll returns the stored days in [from, to] (inclusive; a zero
	// bound is open) of every account, in one read: a map from account to
	// its days, ascending by date. Accounts without a day in the range are
	// absent.
	HistoryAll(ctx context.Context, from, to client.Date) (map[string][]DayScore, error)
	// EachDay calls fn with every stored day in [from, to] (inclusive; a zero
	// bound is open) of every account, in one read, ordered by date then
	// account, without holding them all in memory. An error from fn stops
	// the read and is returned (wrapped).
	EachDay(ctx context.Context, from, to client.Date, fn func(DayScore) error) error
	// Latest returns the newest stored day of every account (eligible or
	// not), sorted by account.
	Latest(ctx context.Context) ([]DayScore, error)
	// LatestScored returns the newest eligible (scored) stored day of every
	// account that has one, sorted by account: how the rules know how long
	// an account has gone without a score, however old that day is.
	LatestScored(ctx context.Context) ([]DayScore, error)
	// Accounts returns every account with stored days, sorted.
	Accounts(ctx context.Context) ([]string, error)
}

// Store is the monitor's persistent state: what a store backend (today
// the SQLite one in monitor/store) implements. Implementations are safe for
// concurrent use.
type Store interface {
	Reader
	// SaveDay atomically upserts the scores for one (scope, date) and marks
	// that pair complete. scope is ScopeParent or ScopeSubusers; a crash
	// mid-call leaves nothing half-written. A DayScore with a zero Date is
	// saved for date; one with another date, or an empty Account, fails the
	// whole call.
	SaveDay(ctx context.Context, scope string, date client.Date, scores []DayScore) error
	// CompletedDates returns the dates in [from, to] (inclusive) whose scope
	// was saved completely.
	CompletedDates(ctx context.Context, scope string, from, to client.Date) (map[client.Date]bool, error)
	// Alerts returns every stored alert state, sorted by key.
	Alerts(ctx context.Context) ([]alert.Record, error)
	// SaveAlerts upserts and deletes alert states in one transaction.
	SaveAlerts(ctx context.Context, upsert []alert.Record, deleteKeys []string) error
	// PoolMoves returns the proposed IP-pool moves last delivered, sorted
	// by username.
	PoolMoves(ctx context.Context) ([]PoolMove, error)
	// SavePoolMoves upserts (by username) and deletes delivered moves in
	// one transaction.
	SavePoolMoves(ctx context.Context, upsert []PoolMove, deleteUsers []string) error
	// FirstCheck returns when the first check (detection and notification)
	// on this store was recorded, zero when none was: a store new or filled
	// only by a backfill.
	FirstCheck(ctx context.Context) (time.Time, error)
	// MarkChecked records that a check completed at at: the first call's
	// time is kept as the first check, the latest as the last check.
	MarkChecked(ctx context.Context, at time.Time) error
	// MarkBackfilled records that a backfill stored days at at.
	MarkBackfilled(ctx context.Context, at time.Time) error
	// StandingCheck reports whether the next check finds standing
	// conditions rather than new events: it is the store's first check, or
	// the first since a backfill stored days.
	StandingCheck(ctx context.Context) (bool, error)
	// BeginSweep records the start of a sweep and returns its ID.
	BeginSweep(ctx context.Context, started time.Time) (int64, error)
	// FinishSweep records the end of sweep id; a nil sweepErr is success.
	FinishSweep(ctx context.Context, id int64, finished time.Time, sweepErr error) error
	// LastSweep returns the most recent sweep (the most recent successful
	// one when successfulOnly), and false when there is none.
	LastSweep(ctx context.Context, successfulOnly bool) (SweepRecord, bool, error)
	// LastFinishedSweep returns the most recent sweep that finished,
	// successfully or not (a sweep still running, or whose process died,
	// is skipped), and false when there is none.
	LastFinishedSweep(ctx context.Context) (SweepRecord, bool, error)
	// Prune deletes stored days (and completion marks) before the given date
	// and returns the number of days deleted. Retention policy is the
	// caller's: a zero date deletes nothing.
	Prune(ctx context.Context, before client.Date) (int64, error)
	// Close releases the store.
	Close() error
}
