package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sgseq/sgseq/client"
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

// maxRetryBackoff caps the wait before asking again for a piece that
// failed.
const maxRetryBackoff = time.Minute

// errPending marks a fetch answered 202.
var errPending = client.ErrScoresPending

// ErrIncomplete matches the error of a sweep that finished but left days
// missing because SendGrid kept failing in a way that may pass (5xx, 429,
// cut-off or reset bodies, timeouts, a failed subuser listing) after the
// client's retries and the sweep's own (sweep.retries). Everything else
// was fetched and stored; [SweepResult.Missing] lists what is missing, and
// the next sweep fetches it. See [IsIncomplete].
var ErrIncomplete = errors.New("some days could not be fetched")

// IsIncomplete reports whether err is only an incomplete fetch: every
// error joined in it matches [ErrIncomplete]. A sweep that also failed
// otherwise (store, notification, an API error that retrying cannot fix
// such as 401 or 403) is not merely incomplete.
func IsIncomplete(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case *incompleteError:
		return true
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, c := range errs {
			if !IsIncomplete(c) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return IsIncomplete(e.Unwrap())
	}
	return err == ErrIncomplete
}

// incompleteError marks a failure that may pass: it matches ErrIncomplete
// and unwraps to the cause.
type incompleteError struct{ err error }

func (e *incompleteError) Error() string        { return e.err.Error() }
func (e *incompleteError) Unwrap() error        { return e.err }
func (e *incompleteError) Is(target error) bool { return target == ErrIncomplete }

// transient reports whether a fetch error may pass if asked again later:
// not an invalid request, nor an API answer that says no (400, 401, 403,
// 404).
func transient(err error) bool {
	var ve *client.ValidationError
	if errors.As(err, &ve) {
		return false
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	return true // cut-off or non-JSON bodies, connection errors, timeouts
}

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

// accountSet is the result of account discovery.
type accountSet struct {
	parent   bool
	subusers map[string]bool // monitored subusers
	names    []string        // every monitored account, sorted
}

// discovery lists the subusers while the scores are being fetched: the
// subuser days fetched meanwhile wait for it only to be filtered and
// stored.
type discovery struct {
	done  chan struct{}
	accts *accountSet
	err   error
}

// startDiscovery lists the accounts to monitor in the background.
func (d *Daemon) startDiscovery(ctx context.Context) *discovery {
	disc := &discovery{done: make(chan struct{})}
	go func() {
		defer close(disc.done)
		disc.accts, disc.err = d.discover(ctx)
	}()
	return disc
}

// wait returns the discovered accounts once known.
func (disc *discovery) wait(ctx context.Context) (*accountSet, error) {
	select {
	case <-disc.done:
		return disc.accts, disc.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// failed reports the discovery error if discovery is over and failed.
func (disc *discovery) failed() error {
	select {
	case <-disc.done:
		return disc.err
	default:
		return nil
	}
}

// errDiscovery marks a subuser day that could not be stored because the
// subusers could not be listed.
var errDiscovery = errors.New("subusers not listed")

// discover lists the accounts to monitor: the parent (unless excluded)
// and the subusers passing the include/exclude globs and the disabled
// filter. The offset pages of the subuser list are fetched
// sweep.concurrency at a time; a listing that fails in a way that may pass
// is tried again (sweep.retries).
func (d *Daemon) discover(ctx context.Context) (*accountSet, error) {
	var subs []client.Subuser
	err := d.retrying(ctx, "list subusers", func() error {
		var err error
		subs, err = d.client.AllSubusers(ctx, &client.SubusersOptions{Limit: subusersPageSize}, d.cfg.Sweep.Concurrency)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list subusers: %w", err)
	}
	a := &accountSet{parent: d.cfg.Accounts.IncludeParent, subusers: map[string]bool{}}
	for _, sub := range subs {
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

// retryWait is the jittered wait before the n-th new attempt (n ≥ 1) of
// a piece that failed: sweep.retry_backoff doubling, capped at a minute.
func (d *Daemon) retryWait(n int) time.Duration {
	return jittered(d.cfg.Sweep.RetryBackoff, maxRetryBackoff, n-1)
}

// jittered returns a wait in [b/2, b] where b = base·2^step capped at
// maxWait.
func jittered(base, maxWait time.Duration, step int) time.Duration {
	b := base
	for i := 0; i < step && b < maxWait; i++ {
		b *= 2
	}
	b = min(b, maxWait)
	if b <= 1 {
		return b
	}
	half := b / 2
	return half + rand.N(b-half+1)
}

// retrying runs fn, and again after a failure that may pass, up to
// sweep.retries more times with a doubling wait from sweep.retry_backoff.
func (d *Daemon) retrying(ctx context.Context, what string, fn func() error) error {
	for n := 1; ; n++ {
		err := fn()
		if err == nil || ctx.Err() != nil || !transient(err) || n > d.cfg.Sweep.Retries {
			return err
		}
		wait := d.retryWait(n)
		d.logger.LogAttrs(ctx, slog.LevelWarn, what+" failed, trying again",
			slog.Int("attempt", n), slog.Duration("wait", wait), slog.Any(LogKeyError, err))
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
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

// fetchRun is the state of one sweep's fetching.
type fetchRun struct {
	d    *Daemon
	opts SweepOptions
	disc *discovery

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
func (d *Daemon) fetch(ctx context.Context, opts SweepOptions, disc *discovery, res *SweepResult) (map[string]error, error) {
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
		d: d, opts: opts, disc: disc,
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
			job, err = r.d.fetchSubuserDay(ctx, t, r.disc)
			if err == nil {
				// Stored by the store goroutine: this one goes on
				// fetching. The channel holds every task at most once.
				stores <- job
				continue
			}
		}
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
		case errors.Is(err, errPending):
			r.pending(ctx, t)
		default:
			r.fail(ctx, t, err)
		}
	}
}

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
		default:
			r.fail(ctx, job.t, err)
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
	wait := jittered(cfg.PendingBackoff, max(maxBackoff, cfg.PendingBackoff), t.asks-1)
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
		slog.String(LogKeyScope, t.scope), slog.String(LogKeyDate, dateText(t)), slog.Int("attempt", t.asks), slog.Duration("wait", wait))
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
		r.d.logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed, trying again", slog.String(LogKeyScope, t.scope),
			slog.String(LogKeyDate, dateText(t)), slog.Int("attempt", t.failures), slog.Duration("wait", wait), slog.Any(LogKeyError, err))
		r.requeue(t, wait)
		return
	}
	r.d.logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed, left for the next run", slog.String(LogKeyScope, t.scope),
		slog.String(LogKeyDate, dateText(t)), slog.Any(LogKeyError, err))
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

// maxNewSubuserFill bounds how many newly monitored subusers one sweep
// fills in one by one; beyond it a warning suggests a fresh store.
const maxNewSubuserFill = 100

// subuserBaseline is what the store holds for the subusers scope before
// the sweep fetches anything: its complete days in the window and the
// accounts it knows.
type subuserBaseline struct {
	done  []client.Date
	known map[string]bool
}

// readBaseline reads the subuser baseline as of asOf.
func (d *Daemon) readBaseline(ctx context.Context, asOf client.Date) (*subuserBaseline, error) {
	done, err := d.store.CompletedDates(ctx, history.ScopeSubusers, asOf.AddDays(-(MaxWindowDays - 1)), asOf)
	if err != nil {
		return nil, fmt.Errorf("completed dates: %w", err)
	}
	b := &subuserBaseline{done: sortedDates(done), known: map[string]bool{}}
	if len(done) == 0 {
		return b, nil
	}
	known, err := d.store.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	for _, a := range known {
		b.known[a] = true
	}
	return b, nil
}

// newSubusers returns the monitored subusers without any stored day while
// the subusers scope already had complete days before this sweep: a
// subuser created, enabled or included since.
func newSubusers(accts *accountSet, base *subuserBaseline) []string {
	if len(accts.subusers) == 0 || len(base.done) == 0 {
		return nil
	}
	var out []string
	for name := range accts.subusers {
		if !base.known[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// fillNewSubusers fetches, on behalf of each new subuser, its scores for
// the days the store already holds for the other subusers, so that its
// history has no hole. A fetch that fails in a way that may pass is tried
// again (sweep.retries); a failure is logged, not fatal: the account's
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
				var scores []client.Score
				err := d.retrying(gctx, "fill a newly monitored subuser", func() error {
					var err error
					scores, err = d.client.Scores(gctx, ch.from, ch.to, client.AsSubuser(name), client.NoWait())
					return err
				})
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					d.logger.LogAttrs(ctx, slog.LevelWarn, "could not fill the history of a newly monitored subuser",
						slog.String(LogKeyAccount, name), slog.String(LogKeyDate, dateText(ch)), slog.Any(LogKeyError, err))
					return nil
				}
				byDate := map[client.Date]client.Score{}
				for _, sc := range scores {
					byDate[sc.Date] = sc
				}
				now := d.now()
				for _, dt := range ch.days() {
					sc, ok := byDate[dt]
					if !ok {
						sc = client.Score{Date: dt}
					}
					sc.Date = dt
					if err := d.store.SaveDay(gctx, history.ScopeSubusers, dt, []history.DayScore{history.FromScore(name, sc, now)}); err != nil {
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
func (d *Daemon) fetchSubuserDay(ctx context.Context, t *fetchTask, disc *discovery) (storeJob, error) {
	job := storeJob{t: t, fetchedAt: d.now()}
	if err := disc.failed(); err != nil {
		return job, fmt.Errorf("%w: %w", errDiscovery, err)
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
