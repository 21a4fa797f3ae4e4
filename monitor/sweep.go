package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// Log keys used by the monitor.
const (
	LogKeyScope    = "scope"
	LogKeyDate     = "date"
	LogKeyAccount  = "account"
	LogKeyError    = "error"
	LogKeyDetector = "detector"
)

// SweepOptions adjusts one [Daemon.Sweep].
type SweepOptions struct {
	// Days, when positive, makes sure the last Days complete days (at most
	// 90) are fetched, as "sgseq backfill --days N" does. 0 fetches what a
	// scheduled run fetches: the gaps since the last stored date (the first
	// run: sweep.backfill_days).
	Days int
	// FetchOnly skips detection and notification.
	FetchOnly bool
	// DryRun runs detection but notifies nobody and changes no stored
	// alert state ("sgseq check --dry-run"): the result's Alerts are what
	// would be notified, Firing and Resolved what would follow. Scores
	// are still fetched and stored.
	DryRun bool
	// Progress, when set, is called after each fetch task (one date of
	// subuser scores, or one range of parent scores) with the number done
	// and the total. It is called from several goroutines, one at a time.
	Progress func(done, total int)
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
	// 202; the next sweep asks again.
	Failed []client.Date `json:"failed"`
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
// A sweep stopped by ctx leaves the store consistent (each day is stored in
// one transaction) and sends nothing; the next sweep resumes. The error is
// non-nil when any day failed for a reason other than 202, when discovery
// or notification failed, or when ctx ended; the result is filled as far as
// the sweep got.
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
		d.logger.LogAttrs(ctx, slog.LevelError, "sweep failed", slog.Any(LogKeyError, err))
		return res, err
	}
	defer func() {
		// Record a panicking sweep as failed, then let the panic go on to
		// the caller (the daemon's cron chain recovers and logs it).
		if p := recover(); p != nil {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if ferr := d.store.FinishSweep(fctx, id, d.now(), fmt.Errorf("panic: %v", p)); ferr != nil {
				d.logger.LogAttrs(fctx, slog.LevelError, "recording the panicked sweep failed", slog.Any(LogKeyError, ferr))
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
	d.refreshGauges(fctx)
	lvl, msg := slog.LevelInfo, "sweep finished"
	switch {
	case interrupted:
		msg = "sweep interrupted"
	case err != nil:
		lvl, msg = slog.LevelError, "sweep failed"
	}
	attrs := []slog.Attr{
		slog.String("as_of", res.AsOf.String()), slog.Int("accounts", res.Accounts),
		slog.Int("fetched", len(res.Fetched)), slog.Int("pending", len(res.Pending)), slog.Int("failed", len(res.Failed)),
		slog.Int("notify", len(res.Alerts)), slog.Int("delivered", res.Delivered), slog.Int("firing", res.Firing), slog.Int("resolved", res.Resolved),
		slog.Int64("requests", res.Requests), slog.Duration("duration", res.Duration),
	}
	if err != nil {
		attrs = append(attrs, slog.Any(LogKeyError, err))
	}
	d.logger.LogAttrs(fctx, lvl, msg, attrs...)
	return res, err
}

func (d *Daemon) sweep(ctx context.Context, opts SweepOptions, res *SweepResult) error {
	accts, err := d.discover(ctx)
	if err != nil {
		return err
	}
	res.Accounts = len(accts.names)
	d.setMonitoredAccounts(accts.names)
	newSubs, doneBefore, err := d.newSubusers(ctx, accts, res.AsOf)
	if err != nil {
		return err
	}
	failedScopes, err := d.fetch(ctx, opts, accts, res)
	if err != nil {
		return err
	}
	if err := d.fillNewSubusers(ctx, newSubs, doneBefore); err != nil {
		return err
	}
	var errs []error
	for scope, ferr := range failedScopes {
		errs = append(errs, fmt.Errorf("fetch %s: %w", scope, ferr))
	}
	if !opts.FetchOnly {
		if err := d.detectAndNotify(ctx, accts, failedScopes, res, opts.DryRun); err != nil {
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
