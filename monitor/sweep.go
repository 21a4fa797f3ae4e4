package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/rules"
	"github.com/sgseq/sgseq/monitor/store"
)

// Log keys used by the monitor.
const (
	LogKeyScope    = "scope"
	LogKeyDate     = "date"
	LogKeyAccount  = "account"
	LogKeyError    = "error"
	LogKeyDetector = "detector"
)

// parentChunkDays bounds the date range of one parent scores call.
const parentChunkDays = 31

// subusersPageSize is the page size of subuser discovery (the API maximum).
const subusersPageSize = 500

// maxPendingBackoff caps the wait between two asks of a 202 date.
const maxPendingBackoff = 5 * time.Minute

// Detector is an extra detection step run after the rules at every sweep,
// such as the IP-pool outlier detector of package pools. It reads the store
// (already holding the sweep's scores) as of the sweep's latest complete
// day and returns firing alerts (State Firing, with stable keys) and
// proposed tier changes for the notification digest.
//
// A detector's alerts go through the same lifecycle as the rules' alerts:
// notified once, reminded after notify.repeat_interval, resolved when a
// later sweep no longer returns them.
type Detector interface {
	Detect(ctx context.Context, st store.Store, asOf client.Date) ([]alert.Alert, []alert.TierChange, error)
}

// SweepOptions adjusts one [Daemon.Sweep].
type SweepOptions struct {
	// Days, when positive, makes sure the last Days complete days (at most
	// 90) are fetched, as "sgseq backfill --days N" does. 0 fetches what a
	// scheduled run fetches: the gaps since the last stored date (the first
	// run: sweep.backfill_days).
	Days int
	// FetchOnly skips detection and notification.
	FetchOnly bool
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

// errPending marks a fetch answered 202.
var errPending = client.ErrScoresPending

// fetchTask is one unit of fetching: a day of subuser scores, or a range
// of parent scores.
type fetchTask struct {
	scope    string
	from, to client.Date
}

func (t fetchTask) String() string {
	if t.from == t.to {
		return t.scope + " " + t.from.String()
	}
	return t.scope + " " + t.from.String() + ".." + t.to.String()
}

// accountSet is the result of account discovery.
type accountSet struct {
	parent   bool
	subusers map[string]bool // monitored subusers
	names    []string        // every monitored account, sorted
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
		if err := d.detectAndNotify(ctx, accts, failedScopes, res); err != nil {
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

// discover lists the accounts to monitor: the parent (unless excluded)
// and the subusers passing the include/exclude globs and the disabled
// filter.
func (d *Daemon) discover(ctx context.Context) (*accountSet, error) {
	a := &accountSet{parent: d.cfg.Accounts.IncludeParent, subusers: map[string]bool{}}
	for sub, err := range d.client.Subusers(ctx, &client.SubusersOptions{Limit: subusersPageSize}) {
		if err != nil {
			return nil, fmt.Errorf("list subusers: %w", err)
		}
		if d.monitored(sub) {
			a.subusers[sub.Username] = true
		}
	}
	if a.parent {
		a.names = append(a.names, alert.ParentAccount)
	}
	for name := range a.subusers {
		a.names = append(a.names, name)
	}
	sort.Strings(a.names)
	return a, nil
}

// monitored applies the accounts section to one subuser.
func (d *Daemon) monitored(s client.Subuser) bool {
	ac := d.cfg.Accounts
	if s.Username == "" || (s.Disabled && !ac.IncludeDisabled) {
		return false
	}
	if len(ac.Include) > 0 && !matchAny(ac.Include, s.Username) {
		return false
	}
	return !matchAny(ac.Exclude, s.Username)
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// missing returns the days of scope in the fetch window that are not
// stored complete, ascending.
func (d *Daemon) missing(ctx context.Context, scope string, asOf client.Date, days int) ([]client.Date, error) {
	earliest := asOf.AddDays(-(MaxWindowDays - 1))
	all, err := d.store.CompletedDates(ctx, scope, earliest.AddDays(-10*365), asOf)
	if err != nil {
		return nil, fmt.Errorf("completed dates: %w", err)
	}
	var last, oldest client.Date // newest complete day; oldest in the window
	for dt := range all {
		if dt.After(last) {
			last = dt
		}
		if !dt.Before(earliest) && (oldest.IsZero() || dt.Before(oldest)) {
			oldest = dt
		}
	}
	var from client.Date
	switch {
	case days > 0: // explicit backfill
		from = asOf.AddDays(-(min(days, MaxWindowDays) - 1))
	case last.IsZero(): // first run
		from = asOf.AddDays(-(d.cfg.Sweep.BackfillDays - 1))
	default:
		// Every gap since the last stored day, and any hole left by an
		// earlier run (202s, failures, a sweep cancelled or killed while
		// later days were already stored) since the oldest stored day of
		// the window, or within the first-run window.
		from = asOf.AddDays(-(d.cfg.Sweep.BackfillDays - 1))
		if !oldest.IsZero() && oldest.Before(from) {
			from = oldest
		}
		if next := last.AddDays(1); next.Before(from) {
			from = next
		}
	}
	if from.Before(earliest) {
		from = earliest
	}
	// Days the retention would prune at the end of this sweep are not
	// fetched: fetching them would repeat at every run.
	if r := d.cfg.Store.RetentionDays; r > 0 {
		if keep := asOf.AddDays(-(r - 1)); from.Before(keep) {
			from = keep
		}
	}
	var out []client.Date
	for dt := from; !dt.After(asOf); dt = dt.AddDays(1) {
		if !all[dt] {
			out = append(out, dt)
		}
	}
	return out, nil
}

// cmpDate orders dates for min.
func cmpDate(a, b client.Date) int { return a.Compare(b) }

// fetch stores every missing day of both scopes. It returns the scopes
// with failed days (their error), and a non-nil error only when ctx ended
// or the store failed.
func (d *Daemon) fetch(ctx context.Context, opts SweepOptions, accts *accountSet, res *SweepResult) (map[string]error, error) {
	var tasks []fetchTask
	if accts.parent {
		days, err := d.missing(ctx, store.ScopeParent, res.AsOf, opts.Days)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, parentTasks(days)...)
	}
	if len(accts.subusers) > 0 {
		days, err := d.missing(ctx, store.ScopeSubusers, res.AsOf, opts.Days)
		if err != nil {
			return nil, err
		}
		for _, dt := range days {
			tasks = append(tasks, fetchTask{scope: store.ScopeSubusers, from: dt, to: dt})
		}
	}
	total := len(tasks)
	var (
		mu       sync.Mutex
		done     int
		fetched  = map[client.Date]bool{}
		failed   = map[string]error{}
		failDays = map[client.Date]bool{}
	)
	if opts.Progress != nil {
		opts.Progress(0, total)
	}
	backoff := d.cfg.Sweep.PendingBackoff
	for round := 0; len(tasks) > 0; round++ {
		if round > 0 {
			d.logger.LogAttrs(ctx, slog.LevelInfo, "scores not ready (202), asking again",
				slog.Int("tasks", len(tasks)), slog.Duration("wait", backoff), slog.Int("round", round))
			if err := sleepCtx(ctx, backoff); err != nil {
				return nil, err
			}
			backoff = min(backoff*2, maxPendingBackoff)
		}
		var pending []fetchTask
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(d.cfg.Sweep.Concurrency)
		for _, t := range tasks {
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error {
				dates, err := d.fetchTask(gctx, t, accts)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					for _, dt := range dates {
						fetched[dt] = true
					}
				case ctx.Err() != nil:
					return ctx.Err()
				case errors.Is(err, errPending):
					pending = append(pending, t)
					return nil
				case errors.Is(err, errStore):
					return err
				default:
					d.logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed", slog.String(LogKeyScope, t.scope),
						slog.String(LogKeyDate, t.String()), slog.Any(LogKeyError, err))
					if failed[t.scope] == nil {
						failed[t.scope] = fmt.Errorf("%s: %w", t, err)
					}
					for dt := t.from; !dt.After(t.to); dt = dt.AddDays(1) {
						failDays[dt] = true
					}
				}
				done++
				if opts.Progress != nil {
					opts.Progress(done, total)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			res.Fetched = sortedDates(fetched)
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			res.Fetched = sortedDates(fetched)
			return nil, err
		}
		tasks = pending
		if round >= d.cfg.Sweep.PendingRetries {
			break
		}
	}
	pendingDays := map[client.Date]bool{}
	for _, t := range tasks {
		for dt := t.from; !dt.After(t.to); dt = dt.AddDays(1) {
			pendingDays[dt] = true
		}
		done++
	}
	if opts.Progress != nil && len(tasks) > 0 {
		opts.Progress(done, total)
	}
	res.Fetched = sortedDates(fetched)
	res.Pending = sortedDates(pendingDays)
	res.Failed = sortedDates(failDays)
	if len(res.Pending) > 0 {
		d.logger.LogAttrs(ctx, slog.LevelInfo, "scores still not ready, left for the next run", slog.Int("days", len(res.Pending)))
	}
	return failed, nil
}

// maxNewSubuserFill bounds how many newly monitored subusers one sweep
// fills in one by one; beyond it a warning suggests a fresh store.
const maxNewSubuserFill = 100

// newSubusers returns the monitored subusers without any stored day while
// the subusers scope already has complete days, and those complete days:
// a subuser created, enabled or included since. The days are read before
// this sweep fetches anything.
func (d *Daemon) newSubusers(ctx context.Context, accts *accountSet, asOf client.Date) ([]string, []client.Date, error) {
	if len(accts.subusers) == 0 {
		return nil, nil, nil
	}
	done, err := d.store.CompletedDates(ctx, store.ScopeSubusers, asOf.AddDays(-(MaxWindowDays - 1)), asOf)
	if err != nil || len(done) == 0 {
		return nil, nil, err
	}
	known, err := d.store.Accounts(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: %w", err)
	}
	have := map[string]bool{}
	for _, a := range known {
		have[a] = true
	}
	var out []string
	for name := range accts.subusers {
		if !have[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, sortedDates(done), nil
}

// fillNewSubusers fetches, on behalf of each new subuser, its scores for
// the days the store already holds for the other subusers, so that its
// history has no hole. Failures are logged, not fatal: the account's
// history then starts with this sweep.
func (d *Daemon) fillNewSubusers(ctx context.Context, names []string, days []client.Date) error {
	if len(names) == 0 || len(days) == 0 {
		return nil
	}
	if len(names) > maxNewSubuserFill {
		d.logger.LogAttrs(ctx, slog.LevelWarn, "many newly monitored subusers: their history starts now (use a new store to refetch everything)",
			slog.Int("subusers", len(names)))
		return nil
	}
	chunks := parentTasks(days) // contiguous ranges of at most 31 days
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.cfg.Sweep.Concurrency)
	for _, name := range names {
		g.Go(func() error {
			for _, ch := range chunks {
				scores, err := d.client.Scores(gctx, ch.from, ch.to, client.AsSubuser(name), client.NoWait())
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					d.logger.LogAttrs(ctx, slog.LevelWarn, "could not fill the history of a newly monitored subuser",
						slog.String(LogKeyAccount, name), slog.String(LogKeyDate, fetchTask{scope: store.ScopeSubusers, from: ch.from, to: ch.to}.String()), slog.Any(LogKeyError, err))
					return nil
				}
				byDate := map[client.Date]client.Score{}
				for _, sc := range scores {
					byDate[sc.Date] = sc
				}
				now := d.now()
				for dt := ch.from; !dt.After(ch.to); dt = dt.AddDays(1) {
					sc, ok := byDate[dt]
					if !ok {
						sc = client.Score{Date: dt}
					}
					sc.Date = dt
					if err := d.store.SaveDay(gctx, store.ScopeSubusers, dt, []store.DayScore{store.FromScore(name, sc, now)}); err != nil {
						return fmt.Errorf("save %s %s: %w", name, dt, err)
					}
				}
			}
			d.logger.LogAttrs(ctx, slog.LevelInfo, "filled the history of a newly monitored subuser", slog.String(LogKeyAccount, name), slog.Int("days", len(days)))
			return nil
		})
	}
	return g.Wait()
}

// parentTasks groups days into contiguous ranges of at most
// parentChunkDays.
func parentTasks(days []client.Date) []fetchTask {
	var out []fetchTask
	for _, dt := range days {
		if n := len(out); n > 0 && out[n-1].to.AddDays(1) == dt && dt.DaysSince(out[n-1].from) < parentChunkDays {
			out[n-1].to = dt
			continue
		}
		out = append(out, fetchTask{scope: store.ScopeParent, from: dt, to: dt})
	}
	return out
}

// errStore marks a store failure, which stops the sweep.
var errStore = errors.New("store")

// fetchTask fetches one task and stores its days, each day in one
// transaction. It returns the days stored.
func (d *Daemon) fetchTask(ctx context.Context, t fetchTask, accts *accountSet) ([]client.Date, error) {
	fetchedAt := d.now()
	if t.scope == store.ScopeParent {
		scores, err := d.client.Scores(ctx, t.from, t.to, client.NoWait())
		if err != nil {
			return nil, err
		}
		byDate := map[client.Date]client.Score{}
		for _, s := range scores {
			byDate[s.Date] = s
		}
		var stored []client.Date
		for dt := t.from; !dt.After(t.to); dt = dt.AddDays(1) {
			s, ok := byDate[dt]
			if !ok {
				s = client.Score{Date: dt} // not returned: no score that day
			}
			day := store.FromScore(alert.ParentAccount, s, fetchedAt)
			if err := d.store.SaveDay(ctx, store.ScopeParent, dt, []store.DayScore{day}); err != nil {
				return stored, fmt.Errorf("%w: save %s %s: %w", errStore, t.scope, dt, err)
			}
			stored = append(stored, dt)
		}
		return stored, nil
	}
	var days []store.DayScore
	seen := map[string]bool{}
	opts := &client.SubuserScoresOptions{Limit: client.MaxSubuserScoresLimit}
	for {
		page, err := d.client.SubuserScoresPage(ctx, t.from, opts, client.NoWait())
		if err != nil {
			return nil, err
		}
		for _, s := range page.Scores {
			if !accts.subusers[s.Username] || seen[s.Username] {
				continue
			}
			seen[s.Username] = true
			s.Date = t.from
			days = append(days, store.FromScore(s.Username, s, fetchedAt))
		}
		if page.NextAfterKey == "" {
			break
		}
		opts = &client.SubuserScoresOptions{Limit: opts.Limit, AfterKey: page.NextAfterKey}
	}
	// A monitored subuser missing from the answer had no score that day.
	for name := range accts.subusers {
		if !seen[name] {
			days = append(days, store.DayScore{Account: name, Date: t.from, FetchedAt: fetchedAt})
		}
	}
	if err := d.store.SaveDay(ctx, store.ScopeSubusers, t.from, days); err != nil {
		return nil, fmt.Errorf("%w: save %s: %w", errStore, t, err)
	}
	return []client.Date{t.from}, nil
}

// detectAndNotify evaluates the rules and detectors, reconciles with the
// stored alert states, notifies, and stores the new states.
func (d *Daemon) detectAndNotify(ctx context.Context, accts *accountSet, failedScopes map[string]error, res *SweepResult) error {
	// Evaluate each scope as of its newest complete day, so that a day
	// still pending does not look like a day without a score.
	evalDate := map[string]client.Date{}
	for _, scope := range []string{store.ScopeParent, store.ScopeSubusers} {
		done, err := d.store.CompletedDates(ctx, scope, res.AsOf.AddDays(-(MaxWindowDays - 1)), res.AsOf)
		if err != nil {
			return fmt.Errorf("detect: %w", err)
		}
		for dt := range done {
			if dt.After(evalDate[scope]) {
				evalDate[scope] = dt
			}
		}
	}
	stored, err := d.store.Alerts(ctx)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	firing, evaluated, err := d.evaluateRules(ctx, accts, failedScopes, evalDate)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	// Accounts with stored alerts that are no longer monitored (deleted,
	// disabled or excluded): their alerts resolve.
	monitored := map[string]bool{}
	for _, n := range accts.names {
		monitored[n] = true
	}
	for i, r := range stored {
		if !monitored[r.Account] {
			evaluated[r.Account] = true
			if r.State == alert.Firing {
				// Its resolution says why: the score did not recover.
				stored[i].Message = "resolved: " + r.Account + ": " + alert.NotMonitored
			}
		}
	}
	var errs []error
	detected := map[alert.Rule]bool{}
	for _, det := range d.detectors {
		as, tcs, err := d.runDetector(ctx, det, evalDate[store.ScopeSubusers])
		if err != nil {
			errs = append(errs, err)
			// Keep the detector-owned alerts as they are rather than
			// resolving them: carry the stored ones over.
			for _, r := range stored {
				if !builtinRule(r.Rule) && r.State == alert.Firing && !detected[r.Rule] {
					firing = append(firing, r.Alert)
				}
			}
			continue
		}
		for _, a := range as {
			detected[a.Rule] = true
		}
		firing = append(firing, as...)
		res.TierChanges = append(res.TierChanges, tcs...)
	}
	firing = dedupeAlerts(firing)
	now := d.now()
	plan := rules.Reconcile(now, d.cfg.Notify.RepeatInterval, stored, firing, evaluated)
	res.Alerts = slices.Clone(plan.Notify)
	sort.Slice(res.Alerts, func(i, j int) bool { return res.Alerts[i].Key < res.Alerts[j].Key })
	delivered := map[string]bool{}
	// Proposed tier moves ride along with alerts; on their own they are
	// sent only when they changed since the last delivered message.
	tcKey := fmt.Sprint(res.TierChanges)
	newTiers := len(res.TierChanges) > 0 && tcKey != d.lastTierChanges
	if len(plan.Notify) > 0 || newTiers {
		keys, err := d.notifier.Notify(ctx, notify.Message{Date: res.AsOf, Alerts: plan.Notify, TierChanges: res.TierChanges})
		for _, k := range keys {
			delivered[k] = true
		}
		res.Delivered = len(keys)
		if err != nil {
			what := fmt.Sprintf("%d of %d alert(s) not delivered", len(plan.Notify)-len(keys), len(plan.Notify))
			if len(plan.Notify) == 0 {
				what = "proposed IP-pool moves not delivered"
			}
			errs = append(errs, fmt.Errorf("notify (%s): %s, sent again by the next run: %w", d.notifier.Name(), what, err))
		} else {
			d.lastTierChanges = tcKey
		}
	}
	upsert, del := plan.Commit(delivered)
	// The notification went out: record it even if ctx ends now, so that
	// it is not sent twice.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.store.SaveAlerts(sctx, upsert, del); err != nil {
		return errors.Join(append(errs, fmt.Errorf("save alerts: %w", err))...)
	}
	for _, a := range plan.Notify {
		if a.State == alert.Resolved {
			res.Resolved++
		}
	}
	res.Firing = len(plan.Firing())
	return errors.Join(errs...)
}

// evaluateRules evaluates the rules on every monitored account as of the
// newest complete day of its scope, skipping the scopes whose fetch failed
// or that have no complete day. It returns the firing alerts and the
// accounts evaluated. The history is read in two bulk reads: every
// account's last sweep.lookback_days, and every account's newest scored
// day, which is added when it is older than that window, so that an account
// without a score for longer than the window still counts its unscored days
// from that day (its eligibility alert keeps firing instead of looking
// resolved).
func (d *Daemon) evaluateRules(ctx context.Context, accts *accountSet, failedScopes map[string]error, evalDate map[string]client.Date) ([]alert.Alert, map[string]bool, error) {
	lookback := max(d.cfg.Sweep.LookbackDays, 1)
	var lo, hi client.Date
	for scope, asOf := range evalDate {
		if asOf.IsZero() || failedScopes[scope] != nil {
			continue
		}
		if from := asOf.AddDays(-(lookback - 1)); lo.IsZero() || from.Before(lo) {
			lo = from
		}
		if asOf.After(hi) {
			hi = asOf
		}
	}
	evaluated := map[string]bool{}
	if hi.IsZero() {
		return nil, evaluated, nil
	}
	all, err := d.store.HistoryAll(ctx, lo, hi)
	if err != nil {
		return nil, nil, err
	}
	scoredDays, err := d.store.LatestScored(ctx)
	if err != nil {
		return nil, nil, err
	}
	lastScored := make(map[string]store.DayScore, len(scoredDays))
	for _, ds := range scoredDays {
		lastScored[ds.Account] = ds
	}
	var firing []alert.Alert
	hist := make([]store.DayScore, 0, lookback+1)
	for _, name := range accts.names {
		scope := store.ScopeSubusers
		if name == alert.ParentAccount {
			scope = store.ScopeParent
		}
		asOf := evalDate[scope]
		if failedScopes[scope] != nil || asOf.IsZero() {
			continue // alerts of this account stay as they are
		}
		from := asOf.AddDays(-(lookback - 1))
		hist = hist[:0]
		if ls, ok := lastScored[name]; ok && ls.Date.Before(from) {
			hist = append(hist, ls)
		}
		for _, day := range all[name] {
			if !day.Date.Before(from) && !day.Date.After(asOf) {
				hist = append(hist, day)
			}
		}
		firing = append(firing, rules.EvaluateAt(d.cfg.Rules, name, hist, asOf)...)
		evaluated[name] = true
	}
	return firing, evaluated, nil
}

// runDetector calls one detector, turning a panic into an error so that a
// faulty detector cannot stop the sweep's bookkeeping.
func (d *Daemon) runDetector(ctx context.Context, det Detector, asOf client.Date) (as []alert.Alert, tcs []alert.TierChange, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("detector %T panicked: %v", det, p)
		}
	}()
	if asOf.IsZero() {
		return nil, nil, nil
	}
	as, tcs, err = det.Detect(ctx, d.store, asOf)
	if err != nil {
		err = fmt.Errorf("detector %T: %w", det, err)
	}
	return as, tcs, err
}

func builtinRule(r alert.Rule) bool {
	switch r {
	case alert.RuleDrop, alert.RuleBaseline, alert.RuleFloor, alert.RuleMetric, alert.RuleEligibility:
		return true
	}
	return false
}

// dedupeAlerts keeps one alert per key (the most severe).
func dedupeAlerts(as []alert.Alert) []alert.Alert {
	byKey := map[string]int{}
	out := as[:0:0]
	for _, a := range as {
		if a.Key == "" {
			a.Key = alert.Key(a.Account, a.Rule, a.Metric)
		}
		if i, ok := byKey[a.Key]; ok {
			if a.Severity.Rank() > out[i].Severity.Rank() {
				out[i] = a
			}
			continue
		}
		byKey[a.Key] = len(out)
		out = append(out, a)
	}
	return out
}

func sortedDates(m map[client.Date]bool) []client.Date {
	out := make([]client.Date, 0, len(m))
	for dt := range m {
		out = append(out, dt)
	}
	slices.SortFunc(out, cmpDate)
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
