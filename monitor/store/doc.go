// Package store keeps the monitor's state: every account's daily SEQ score
// and metrics, which (scope, date) pairs were fetched completely, the
// lifecycle state of every alert and a log of sweeps.
//
// [history.Store] (package monitor/history) is the interface the monitor
// codes against; [SQLite] implements it in one SQLite file
// (modernc.org/sqlite, no cgo) in WAL mode, with versioned schema migrations
// embedded in the binary.
//
// # Ineligible days
//
// SendGrid returns no score on days an account is not eligible (open tracking
// off, or under 1,000 messages in the previous 30 days). Such a day is stored
// with a NULL score and read back as a [history.DayScore] whose Score and Metrics are
// nil; it is never turned into 0.
//
// # Transactions
//
// Every write is one transaction: [history.Store.SaveDay] writes the scores of one
// (scope, date) and its completion mark together, so a crash or kill
// mid-sweep leaves either the whole day or nothing, and the next run fetches
// again exactly the dates that are not marked complete.
//
// # Layout and reads
//
// Scores are keyed by (date, account): a sweep saves one date for every
// account, and those rows are contiguous, so a day's save appends instead of
// rewriting pages all over the table. [history.Store.HistoryAll] reads a date range
// of every account in one query (what the rules and the IP-pool planner
// use); [history.Store.History] reads one account with one key lookup per day.
// [history.Store.Latest] and [history.Store.LatestScored] read a small per-account table
// that SaveDay keeps current.
//
// # Concurrency
//
// A [SQLite] is safe for concurrent use. Writes go through one connection,
// each in a BEGIN IMMEDIATE transaction, so concurrent savers queue in Go
// (honouring their contexts) instead of failing with SQLITE_BUSY; reads use
// a small pool of read-only connections that WAL lets run beside a write.
// Several processes (a daemon and "sgseq status") may share the file: a
// writer waits up to 5 s (busy_timeout) for another process's write lock.
//
// # Location
//
// [DefaultPath] is $XDG_STATE_HOME/sgseq/sgseq.db, or
// ~/.local/state/sgseq/sgseq.db when XDG_STATE_HOME is unset.
package store
