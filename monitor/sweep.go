package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// Log keys used by the monitor.
const (
	logKeyScope    = "scope"
	logKeyDate     = "date"
	logKeyAccount  = "account"
	logKeyError    = "error"
	logKeyDetector = "detector"
)

// SweepOptions adjusts one [Daemon.Sweep].
type SweepOptions struct {
	// Days, when positive, makes sure the last Days complete days (at most
	// 90) are fetched, as "sgseq backfill --days N" does. 0 fetches what a
	// scheduled run fetches: the gaps since the last stored date (the first
	// run: sweep.backfill_days).
	Days int
	// FetchOnly skips detection, notification and the refresh of the
	// per-account gauges of /metrics (the next full sweep refreshes them).
	FetchOnly bool
	// DryRun runs detection but notifies nobody and changes no stored
	// alert state ("sgseq check --dry-run"): the result's Alerts are what
	// would be notified, Firing and Resolved what would follow. Scores
	// are still fetched and stored.
	DryRun bool
	// Progress, when set, is called after each fetch task (one date of
	// subuser scores, or one range of parent scores) is finished (stored,
	// or given up for this run) with the number done and the total. It is
	// called from several goroutines, one at a time.
	Progress func(done, total int)
	// OnPending, when set, is called each time a date answered 202 (scores
	// not ready) is about to be asked again, with the wait, so that a
	// command can say what it is waiting for. It must return quickly.
	OnPending func(PendingWait)
}

// PendingWait is one wait of a sweep for a date answered 202.
type PendingWait struct {
	// Scope is "parent" or "subusers".
	Scope string
	// Date is the day ("2026-12-03"), or a range of parent days
	// ("2026-11-27..2026-12-03").
	Date string
	// Attempt is the number of 202 answers so far.
	Attempt int
	// Wait is how long the sweep waits before asking again; other dates
	// are fetched meanwhile.
	Wait time.Duration
}

// Reasons of a [MissingDay].
const (
	// MissingPending: SendGrid kept answering 202 until the sweep's
	// pending wait (sweep.pending_retries, sweep.pending_max_wait) ran out.
	MissingPending = "pending"
	// MissingFailed: the fetch failed after the client's retries and the
	// sweep's own (sweep.retries), or the subusers could not be listed.
	MissingFailed = "failed"
)

// MissingDay is one (scope, day) a sweep left missing. The next sweep
// asks for it again.
type MissingDay struct {
	// Scope is "parent" or "subusers".
	Scope string `json:"scope"`
	// Date is the day.
	Date client.Date `json:"date"`
	// Reason is [MissingPending] or [MissingFailed].
	Reason string `json:"reason"`
	// Error says what happened last (the API error, or how many 202s).
	Error string `json:"error,omitempty"`
}

// SweepResult describes one sweep.
type SweepResult struct {
	// AsOf is the latest complete UTC day the sweep asked for.
	AsOf client.Date `json:"as_of"`
	// Accounts is the number of accounts monitored (parent included).
	Accounts int `json:"accounts"`
	// Fetched lists the days stored by this sweep (either scope), ascending.
	Fetched []client.Date `json:"fetched"`
	// Pending lists the days still answered 202 at the end of the sweep;
	// the next sweep asks again.
	Pending []client.Date `json:"pending"`
	// Failed lists the days whose fetch failed with an error other than
	// 202, after the retries; the next sweep asks again.
	Failed []client.Date `json:"failed"`
	// Missing details every (scope, day) left missing, pending or failed,
	// by date then scope; empty when the window is complete.
	Missing []MissingDay `json:"missing,omitempty"`
	// Retried is the number of times a fetch was asked again within the
	// sweep, after a 202 or a failure (the client's own HTTP retries are
	// counted in Requests only).
	Retried int `json:"retried"`
	// Alerts holds the alerts that fired, were reminded or resolved in this
	// sweep (whether or not delivery succeeded), sorted by key.
	Alerts []alert.Alert `json:"alerts"`
	// TierChanges holds the detectors' proposed tier changes.
	TierChanges []alert.TierChange `json:"tier_changes,omitempty"`
	// Delivered is the number of those alerts the notifier delivered.
	Delivered int `json:"delivered"`
	// Firing is the number of alerts firing after the sweep, notified now
	// or earlier.
	Firing int `json:"firing"`
	// Resolved is the number of alerts resolved by this sweep.
	Resolved int `json:"resolved"`
	// Requests is the number of HTTP attempts made (retries included).
	Requests int64 `json:"requests"`
	// Duration is the sweep's wall time.
	Duration time.Duration `json:"duration"`
}

// Sweep runs one sweep: it discovers the accounts, fetches and stores
// every missing complete day, evaluates the rules and the detectors, and
// notifies what fired, is due a reminder, or resolved. Sweeps of one Daemon
// never overlap: a second call waits for the first.
//
// Scores are fetched from the start, while the subusers are being listed;
// a date, page, range or account that fails does not stop the others:
// everything else is fetched and stored, the failed pieces are asked again
// within the sweep with bounded backoff (sweep.retries, sweep.retry_backoff;
// 202s: sweep.pending_*), and what is still missing is listed in
// [SweepResult.Missing] and fetched by the next sweep.
//
// A sweep stopped by ctx leaves the store consistent (each day is stored in
// one transaction) and sends nothing; the next sweep resumes. The error is
// non-nil when any day failed for a reason other than 202 (it matches
// [ErrIncomplete] when every failure may pass, see [IsIncomplete]), when
// discovery or notification failed, or when ctx ended; the result is
// filled as far as the sweep got. When the subusers cannot be listed, the
// parent's days are still fetched and stored but nothing is detected or
// notified.
func (d *Daemon) Sweep(ctx context.Context, opts SweepOptions) (*SweepResult, error) {
	d.sweepMu.Lock()
	defer d.sweepMu.Unlock()
	start := d.now()
	reqs0 := d.requests.Load()
	res := &SweepResult{AsOf: client.DateOf(start).AddDays(-1)}
	id, err := d.store.BeginSweep(ctx, start)
	if err != nil {
		err = fmt.Errorf("sweep: %w", err)
		// Logged here: a scheduled run has no caller to report to.
		d.logger.LogAttrs(ctx, slog.LevelError, "sweep failed", slog.Any(logKeyError, err))
		return res, err
	}
	defer func() {
		// Record a panicking sweep as failed, then let the panic go on to
		// the caller (the daemon's cron chain recovers and logs it).
		if p := recover(); p != nil {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if ferr := d.store.FinishSweep(fctx, id, d.now(), fmt.Errorf("panic: %v", p)); ferr != nil {
				d.logger.LogAttrs(fctx, slog.LevelError, "recording the panicked sweep failed", slog.Any(logKeyError, ferr))
			}
			panic(p)
		}
	}()
	err = d.sweep(ctx, opts, res)
	res.Requests = d.requests.Load() - reqs0
	res.Duration = d.now().Sub(start)
	// Record the outcome even when ctx ended. A sweep interrupted by
	// cancellation (SIGTERM, Ctrl-C) is left unfinished, like one whose
	// process was killed: it is not a failure, and /readyz keeps judging by
	// the sweep before it (the next sweep fetches what it left).
	interrupted := err != nil && errors.Is(ctx.Err(), context.Canceled) && errors.Is(err, context.Canceled)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !interrupted {
		if ferr := d.store.FinishSweep(fctx, id, d.now(), err); ferr != nil && err == nil {
			err = fmt.Errorf("sweep: %w", ferr)
		}
		d.metrics.observeSweep(res, err, d.now())
	}
	if !opts.FetchOnly {
		// A fetch-only sweep (backfill) leaves the per-account gauges to
		// the next full sweep: reading every account's latest day is
		// seconds of work on a large account.
		d.refreshGauges(fctx)
	}
	lvl, msg := slog.LevelInfo, "sweep finished"
	switch {
	case interrupted:
		msg = "sweep interrupted"
	case err != nil:
		lvl, msg = slog.LevelError, "sweep failed"
	}
	attrs := []slog.Attr{
		slog.String("as_of", res.AsOf.String()), slog.Int("accounts", res.Accounts),
		slog.Int("fetched", len(res.Fetched)), slog.Int("pending", len(res.Pending)), slog.Int("failed", len(res.Failed)), slog.Int("retried", res.Retried),
		slog.Int("notify", len(res.Alerts)), slog.Int("delivered", res.Delivered), slog.Int("firing", res.Firing), slog.Int("resolved", res.Resolved),
		slog.Int64("requests", res.Requests), slog.Duration("duration", res.Duration),
	}
	if err != nil {
		attrs = append(attrs, slog.Any(logKeyError, err))
	}
	d.logger.LogAttrs(fctx, lvl, msg, attrs...)
	return res, err
}

func (d *Daemon) sweep(ctx context.Context, opts SweepOptions, res *SweepResult) error {
	base, err := d.readBaseline(ctx, res.AsOf)
	if err != nil {
		return err
	}
	disc := d.startDiscovery(ctx)
	defer func() { <-disc.done }() // discovery ends with ctx
	failedScopes, err := d.fetch(ctx, opts, disc, base, res)
	if err != nil {
		return err
	}
	accts, err := disc.wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.cfg.Accounts.IncludeParent {
			res.Accounts = 1
		}
		err = fmt.Errorf("%w (subuser days not stored; nothing detected)", err)
		if transient(err) {
			err = &incompleteError{err: err}
		}
		errs := []error{err}
		if ferr := failedScopes[history.ScopeParent]; ferr != nil {
			errs = append(errs, fmt.Errorf("fetch %s: %w", history.ScopeParent, ferr))
		}
		return errors.Join(errs...)
	}
	res.Accounts = len(accts.names)
	d.setMonitoredAccounts(accts.names)
	if err := d.fillNewSubusers(ctx, newSubusers(accts, base), base.done); err != nil {
		return err
	}
	var errs []error
	for _, scope := range []string{history.ScopeParent, history.ScopeSubusers} {
		if ferr := failedScopes[scope]; ferr != nil {
			errs = append(errs, fmt.Errorf("fetch %s: %w", scope, ferr))
		}
	}
	if !opts.FetchOnly {
		if err := d.detectAndNotify(ctx, accts, failedScopes, res, opts.DryRun); err != nil {
			errs = append(errs, err)
		}
	} else if len(res.Fetched) > 1 {
		// A backfill that filled history (more than a day's catch-up):
		// the next check's alerts are standing conditions, and its digest
		// says so (history.Store.StandingCheck).
		if err := d.store.MarkBackfilled(ctx, d.now()); err != nil {
			errs = append(errs, err)
		}
	}
	if days := d.cfg.Store.RetentionDays; days > 0 {
		before := res.AsOf.AddDays(-days + 1)
		if n, err := d.store.Prune(ctx, before); err != nil {
			errs = append(errs, fmt.Errorf("prune: %w", err))
		} else if n > 0 {
			d.logger.LogAttrs(ctx, slog.LevelInfo, "pruned old history", slog.Int64("days", n), slog.String("before", before.String()))
		}
	}
	return errors.Join(errs...)
}
