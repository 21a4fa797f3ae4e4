// Package monitor is sgseq's monitoring daemon: it sweeps SendGrid
// Engagement Quality (SEQ) scores of a parent account and its subusers into
// a store, detects drops with package rules (and extra [Detector]s such as
// the IP-pool outlier detector), and notifies Slack through package notify.
//
// Build a [Daemon] from a [Config] (YAML via [Load], or [DefaultConfig]) with
// [New]; [Daemon.Run] runs it on its cron schedule with an HTTP server for
// /healthz, /readyz and /metrics, and [Daemon.Sweep] runs once ("sgseq
// check", "sgseq backfill").
//
// # Sweep
//
// Each sweep lists the subusers (filtered by the accounts section), then
// fetches every day not yet stored completely, up to the latest complete
// UTC day (yesterday): on the first run the last sweep.backfill_days days,
// afterwards every gap since the last stored day, within SendGrid's 90-day
// window. Subusers come from the subusers-scores endpoint (one call per day
// and page), the parent from the scores endpoint (one call per range of up
// to 31 days). Each (scope, day) is stored in one transaction, so a sweep
// stopped at any point leaves the store consistent and the next resumes.
//
// Scores are fetched from the start, while the subusers are listed (their
// offset pages in parallel); a fetched subuser day waits for the list only
// to be filtered and stored. A day answered 202 (scores not computed yet) is
// not stored: it is asked again up to sweep.pending_retries times in the same
// sweep after a jittered wait doubling from sweep.pending_backoff (capped by
// sweep.pending_max_backoff, sweep.pending_max_wait in all) while other days
// go on, then left for the next sweep. A day, range or listing that fails in
// a way that may pass is asked again sweep.retries times; nothing but the
// store stops a sweep, and what is missing is listed in SweepResult.Missing
// and fetched by the next. Calls run sweep.concurrency at a time per
// endpoint through one client, whose rate limiter holds requests once the
// X-RateLimit budget is spent.
//
// # Alerts
//
// After fetching, each account's recent history is evaluated as of the
// newest complete day of its scope. The firing alerts go through
// rules.Reconcile with the stored alert states: a new alert is notified
// once, a still-firing one again after notify.repeat_interval, a cleared one
// once as resolved. Only the alerts the notifier reports delivered are
// marked notified, so a failed notification is retried next sweep. Each
// Slack message's alerts are saved as soon as Slack accepted it, and a
// message in flight when the sweep's context ends finishes and is saved:
// delivery is at-least-once, a crash repeats at most the message in flight,
// a graceful stop none. Proposed IP-pool moves delivered, and whether the
// store had its first check, are kept in the store too.
//
// # Configuration
//
// See examples/sgseq.yaml for every key. Errors name the file, line and
// field ([FieldError]); ${VAR} and ${VAR:-default} are expanded from the
// environment; credentials are secret.Secret values that never print.
package monitor
