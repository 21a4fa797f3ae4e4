package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/retrywait"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// parentChunkDays bounds the date range of one parent scores call.
const parentChunkDays = 31

// subusersPageSize is the page size of subuser discovery (the API maximum).
const subusersPageSize = 500

// daysPerCall is how many fetch tasks (days) are in progress per call in
// flight (sweep.concurrency).
const daysPerCall = 2

// defaultPendingMaxBackoff is sweep.pending_max_backoff when unset.
const defaultPendingMaxBackoff = time.Minute

// errPending marks a fetch answered 202.
var errPending = client.ErrScoresPending

// fetchTask is one unit of fetching: a day of subuser scores, or a range
// of parent scores, with what happened to it so far in this sweep.
type fetchTask struct {
	scope    string
	from, to client.Date

	asks     int           // answers 202 so far
	waited   time.Duration // time spent waiting after 202s
	failures int           // failed attempts (after the client's retries)
}

func (t *fetchTask) String() string {
	if t.from == t.to {
		return t.scope + " " + t.from.String()
	}
	return t.scope + " " + t.from.String() + ".." + t.to.String()
}

// days returns the days of t.
func (t *fetchTask) days() []client.Date { return allDates(t.from, t.to) }

func allDates(from, to client.Date) []client.Date {
	var out []client.Date
	for dt := from; !dt.After(to); dt = dt.AddDays(1) {
		out = append(out, dt)
	}
	return out
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

// fetchRun is the state of one sweep's fetching.
type fetchRun struct {
	d    *Daemon
	opts SweepOptions
	disc *discovery
	// waitDiscovery: fetch subuser days only once the subusers are listed.
	waitDiscovery bool

	queue chan *fetchTask

	mu          sync.Mutex
	outstanding int // tasks not finished yet
	closed      bool
	timers      []*time.Timer
	done, total int
	fetched     map[client.Date]bool
	failed      map[string]error // scope -> first failure
	allFailed   map[string]bool  // scope -> every failure was transient
	missing     []MissingDay
	retried     int
}

// fetch stores every missing day of both scopes. Subuser days are fetched
// while discovery runs and stored once it is done. A day answered 202 is
// asked again after a jittered wait doubling from sweep.pending_backoff,
// while the other days go on; a day that fails in a way that may pass is
// asked again after sweep.retry_backoff (sweep.retries times). It returns
// the scopes with failed days (their error), and a non-nil error only when
// ctx ended or the store failed.
func (d *Daemon) fetch(ctx context.Context, opts SweepOptions, disc *discovery, base *subuserBaseline, res *SweepResult) (map[string]error, error) {
	// Subuser days are fetched before the subusers are listed, except when
	// earlier sweeps stored parent days but never a subuser day: an
	// account with no subuser to monitor, whose subuser days would be
	// fetched for nothing at every sweep.
	waitDiscovery := false
	if len(base.done) == 0 {
		done, err := d.store.CompletedDates(ctx, history.ScopeParent, res.AsOf.AddDays(-(MaxWindowDays - 1)), res.AsOf)
		if err != nil {
			return nil, fmt.Errorf("completed dates: %w", err)
		}
		waitDiscovery = len(done) > 0
	}
	var tasks []*fetchTask
	if d.cfg.Accounts.IncludeParent {
		days, err := d.missing(ctx, history.ScopeParent, res.AsOf, opts.Days)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, parentTasks(days)...)
	}
	days, err := d.missing(ctx, history.ScopeSubusers, res.AsOf, opts.Days)
	if err != nil {
		return nil, err
	}
	for _, dt := range days {
		tasks = append(tasks, &fetchTask{scope: history.ScopeSubusers, from: dt, to: dt})
	}
	run := &fetchRun{
		d: d, opts: opts, disc: disc, waitDiscovery: waitDiscovery,
		queue:       make(chan *fetchTask, len(tasks)),
		outstanding: len(tasks),
		total:       len(tasks),
		fetched:     map[client.Date]bool{},
		failed:      map[string]error{},
		allFailed:   map[string]bool{},
	}
	for _, t := range tasks {
		run.queue <- t
	}
	if len(tasks) == 0 {
		close(run.queue)
		run.closed = true
	}
	if opts.Progress != nil {
		opts.Progress(0, run.total)
	}
	// Up to daysPerCall × concurrency tasks at once: the client lets
	// sweep.concurrency requests out at a time, first come first served,
	// so the page walks of the days in progress take turns, and enough
	// days are in progress to keep the rate budget busy until the end.
	// One goroutine stores what the walkers fetched.
	g, gctx := errgroup.WithContext(ctx)
	stores := make(chan storeJob, len(tasks))
	var walkers sync.WaitGroup
	for range min(daysPerCall*d.cfg.Sweep.Concurrency, max(len(tasks), 1)) {
		walkers.Add(1)
		g.Go(func() error {
			defer walkers.Done()
			return run.work(gctx, stores)
		})
	}
	g.Go(func() error { return run.store(gctx, stores) })
	go func() {
		walkers.Wait()
		close(stores)
	}()
	err = g.Wait()
	run.mu.Lock()
	for _, t := range run.timers {
		t.Stop()
	}
	run.mu.Unlock()
	res.Fetched = sortedDates(run.fetched)
	res.Retried = run.retried
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(run.missing, func(i, j int) bool {
		a, b := run.missing[i], run.missing[j]
		if a.Date != b.Date {
			return a.Date.Before(b.Date)
		}
		return a.Scope < b.Scope
	})
	res.Missing = run.missing
	pending, failed := map[client.Date]bool{}, map[client.Date]bool{}
	for _, m := range run.missing {
		if m.Reason == MissingPending {
			pending[m.Date] = true
		} else {
			failed[m.Date] = true
		}
	}
	res.Pending, res.Failed = sortedDates(pending), sortedDates(failed)
	if len(res.Pending) > 0 {
		d.logger.LogAttrs(ctx, slog.LevelInfo, "scores still not ready, left for the next run", slog.Int("days", len(res.Pending)))
	}
	out := map[string]error{}
	for scope, ferr := range run.failed {
		if run.allFailed[scope] {
			ferr = &incompleteError{err: ferr}
		}
		out[scope] = ferr
	}
	return out, nil
}

// work runs tasks from the queue until it is closed or ctx ends.
func (r *fetchRun) work(ctx context.Context, stores chan<- storeJob) error {
	for {
		var t *fetchTask
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t, ok = <-r.queue:
			if !ok {
				return nil
			}
		}
		var dates []client.Date
		var err error
		if t.scope == history.ScopeParent {
			dates, err = r.d.fetchParent(ctx, t)
		} else {
			var job storeJob
			job, err = r.d.fetchSubuserDay(ctx, t, r.disc, r.waitDiscovery)
			if err == nil {
				// Stored by the store goroutine: this one goes on
				// fetching. The channel holds every task at most once.
				stores <- job
				continue
			}
		}
		if err := r.settle(ctx, t, dates, err, true); err != nil {
			return err
		}
	}
}

// settle records the outcome err of task t: nil finishes it with the
// dates it stored; the end of ctx or a store failure is returned, and ends
// the run; any other error fails the task (a retry may follow). For the
// outcome of a fetch, a 202 asks again later and no monitored subuser
// finishes the task; a store's outcome (fetched false) has neither.
func (r *fetchRun) settle(ctx context.Context, t *fetchTask, dates []client.Date, err error, fetched bool) error {
	switch {
	case err == nil:
		r.finish(func() {
			for _, dt := range dates {
				r.fetched[dt] = true
			}
		})
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, errStore):
		return err
	case fetched && errors.Is(err, errPending):
		r.pending(ctx, t)
	case fetched && errors.Is(err, errNoSubusers):
		r.finish(func() {})
	default:
		r.fail(ctx, t, err)
	}
	return nil
}

// errNoSubusers skips a subuser day when discovery found no subuser to
// monitor.
var errNoSubusers = errors.New("no monitored subusers")

// storeJob is a subuser day fetched whole, waiting to be stored.
type storeJob struct {
	t         *fetchTask
	scores    []client.Score
	fetchedAt time.Time
}

// store stores the subuser days the walkers fetched, one transaction
// each, in one goroutine (the store has one writer anyway), so that
// fetching never waits for a write.
func (r *fetchRun) store(ctx context.Context, jobs <-chan storeJob) error {
	for job := range jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dates, err := r.d.storeSubuserDay(ctx, job, r.disc)
		if err := r.settle(ctx, job.t, dates, err, false); err != nil {
			return err
		}
	}
	return nil
}

// pending schedules another ask of a task answered 202, or gives it up
// for this run.
func (r *fetchRun) pending(ctx context.Context, t *fetchTask) {
	cfg := r.d.cfg.Sweep
	t.asks++
	maxBackoff := cfg.PendingMaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = defaultPendingMaxBackoff
	}
	wait := retrywait.Jitter(cfg.PendingBackoff, max(maxBackoff, cfg.PendingBackoff), t.asks-1)
	if cfg.PendingMaxWait > 0 && t.waited+wait > cfg.PendingMaxWait {
		wait = cfg.PendingMaxWait - t.waited
	}
	if t.asks > cfg.PendingRetries || wait <= 0 && cfg.PendingBackoff > 0 {
		r.finish(func() {
			for _, dt := range t.days() {
				r.missing = append(r.missing, MissingDay{Scope: t.scope, Date: dt, Reason: MissingPending,
					Error: fmt.Sprintf("answered 202 %d time(s) over %s", t.asks, t.waited.Round(time.Millisecond))})
			}
		})
		return
	}
	t.waited += wait
	r.d.logger.LogAttrs(ctx, slog.LevelInfo, "scores not ready (202), asking again",
		slog.String(logKeyScope, t.scope), slog.String(logKeyDate, dateText(t)), slog.Int("attempt", t.asks), slog.Duration("wait", wait))
	if r.opts.OnPending != nil {
		r.opts.OnPending(PendingWait{Scope: t.scope, Date: dateText(t), Attempt: t.asks, Wait: wait})
	}
	r.requeue(t, wait)
}

// fail schedules another attempt of a failed task, or records the
// failure.
func (r *fetchRun) fail(ctx context.Context, t *fetchTask, err error) {
	t.failures++
	again := !errors.Is(err, errDiscovery) && transient(err) && t.failures <= r.d.cfg.Sweep.Retries
	if again {
		wait := r.d.retryWait(t.failures)
		r.d.logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed, trying again", slog.String(logKeyScope, t.scope),
			slog.String(logKeyDate, dateText(t)), slog.Int("attempt", t.failures), slog.Duration("wait", wait), slog.Any(logKeyError, err))
		r.requeue(t, wait)
		return
	}
	r.d.logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed, left for the next run", slog.String(logKeyScope, t.scope),
		slog.String(logKeyDate, dateText(t)), slog.Any(logKeyError, err))
	r.finish(func() {
		if r.failed[t.scope] == nil {
			r.failed[t.scope] = fmt.Errorf("%s: %w", t, err)
			r.allFailed[t.scope] = true
		}
		if !transient(err) {
			r.allFailed[t.scope] = false
		}
		for _, dt := range t.days() {
			r.missing = append(r.missing, MissingDay{Scope: t.scope, Date: dt, Reason: MissingFailed, Error: err.Error()})
		}
	})
}

// requeue puts t back on the queue after wait.
func (r *fetchRun) requeue(t *fetchTask, wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retried++
	// The queue holds every task at most once: this send never blocks.
	r.timers = append(r.timers, time.AfterFunc(wait, func() { r.queue <- t }))
}

// finish records a task's end (under the lock) and closes the queue after
// the last one.
func (r *fetchRun) finish(record func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	record()
	r.outstanding--
	r.done++
	if r.opts.Progress != nil {
		r.opts.Progress(r.done, r.total)
	}
	if r.outstanding == 0 && !r.closed {
		r.closed = true
		close(r.queue)
	}
}

// dateText is the date or range of t.
func dateText(t *fetchTask) string {
	if t.from == t.to {
		return t.from.String()
	}
	return t.from.String() + ".." + t.to.String()
}

// parentTasks groups days into contiguous ranges of at most
// parentChunkDays.
func parentTasks(days []client.Date) []*fetchTask {
	var out []*fetchTask
	for _, dt := range days {
		if n := len(out); n > 0 && out[n-1].to.AddDays(1) == dt && dt.DaysSince(out[n-1].from) < parentChunkDays {
			out[n-1].to = dt
			continue
		}
		out = append(out, &fetchTask{scope: history.ScopeParent, from: dt, to: dt})
	}
	return out
}

// errStore marks a store failure, which stops the sweep.
var errStore = errors.New("store")

// fetchParent fetches a range of parent scores and stores its days, each
// day in one transaction. It returns the days stored.
func (d *Daemon) fetchParent(ctx context.Context, t *fetchTask) ([]client.Date, error) {
	fetchedAt := d.now()
	scores, err := d.client.Scores(ctx, t.from, t.to, client.NoWait())
	if err != nil {
		return nil, err
	}
	byDate := map[client.Date]client.Score{}
	for _, s := range scores {
		byDate[s.Date] = s
	}
	var stored []client.Date
	for _, dt := range t.days() {
		s, ok := byDate[dt]
		if !ok {
			s = client.Score{Date: dt} // not returned: no score that day
		}
		day := history.FromScore(alert.ParentAccount, s, fetchedAt)
		if err := d.store.SaveDay(ctx, history.ScopeParent, dt, []history.DayScore{day}); err != nil {
			return stored, fmt.Errorf("%w: save %s %s: %w", errStore, t.scope, dt, err)
		}
		stored = append(stored, dt)
	}
	return stored, nil
}

// fetchSubuserDay fetches a day of subuser scores whole: every page,
// through the client's page walk. Nothing of a day is kept unless every
// page arrived.
func (d *Daemon) fetchSubuserDay(ctx context.Context, t *fetchTask, disc *discovery, waitDiscovery bool) (storeJob, error) {
	job := storeJob{t: t, fetchedAt: d.now()}
	if waitDiscovery {
		if _, err := disc.wait(ctx); err != nil && ctx.Err() != nil {
			return job, ctx.Err()
		}
	}
	if err := disc.failed(); err != nil {
		return job, fmt.Errorf("%w: %w", errDiscovery, err)
	}
	if accts := disc.result(); accts != nil && len(accts.subusers) == 0 {
		return job, errNoSubusers // nobody to fetch the day for
	}
	for s, err := range d.client.SubuserScores(ctx, t.from, client.NoWait()) {
		if err != nil {
			return storeJob{}, err
		}
		job.scores = append(job.scores, s)
	}
	return job, nil
}

// storeSubuserDay stores a fetched subuser day in one transaction, once
// discovery says which subusers are monitored: their scores, and a day
// without a score for a monitored subuser missing from the answer.
func (d *Daemon) storeSubuserDay(ctx context.Context, job storeJob, disc *discovery) ([]client.Date, error) {
	t := job.t
	accts, err := disc.wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", errDiscovery, err)
	}
	if len(accts.subusers) == 0 {
		return nil, nil // nobody to store the day for
	}
	var days []history.DayScore
	seen := map[string]bool{}
	for _, s := range job.scores {
		if !accts.subusers[s.Username] || seen[s.Username] {
			continue
		}
		seen[s.Username] = true
		s.Date = t.from
		days = append(days, history.FromScore(s.Username, s, job.fetchedAt))
	}
	// A monitored subuser missing from the answer had no score that day.
	for name := range accts.subusers {
		if !seen[name] {
			days = append(days, history.DayScore{Account: name, Date: t.from, FetchedAt: job.fetchedAt})
		}
	}
	if err := d.store.SaveDay(ctx, history.ScopeSubusers, t.from, days); err != nil {
		return nil, fmt.Errorf("%w: save %s: %w", errStore, t, err)
	}
	return []client.Date{t.from}, nil
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
