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
	"github.com/sgseq/sgseq/monitor/history"
)

// parentChunkDays bounds the date range of one parent scores call.
const parentChunkDays = 31

// subusersPageSize is the page size of subuser discovery (the API maximum).
const subusersPageSize = 500

// maxPendingBackoff caps the wait between two asks of a 202 date.
const maxPendingBackoff = 5 * time.Minute

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
		days, err := d.missing(ctx, history.ScopeParent, res.AsOf, opts.Days)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, parentTasks(days)...)
	}
	if len(accts.subusers) > 0 {
		days, err := d.missing(ctx, history.ScopeSubusers, res.AsOf, opts.Days)
		if err != nil {
			return nil, err
		}
		for _, dt := range days {
			tasks = append(tasks, fetchTask{scope: history.ScopeSubusers, from: dt, to: dt})
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
	done, err := d.store.CompletedDates(ctx, history.ScopeSubusers, asOf.AddDays(-(MaxWindowDays - 1)), asOf)
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
						slog.String(LogKeyAccount, name), slog.String(LogKeyDate, fetchTask{scope: history.ScopeSubusers, from: ch.from, to: ch.to}.String()), slog.Any(LogKeyError, err))
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
func parentTasks(days []client.Date) []fetchTask {
	var out []fetchTask
	for _, dt := range days {
		if n := len(out); n > 0 && out[n-1].to.AddDays(1) == dt && dt.DaysSince(out[n-1].from) < parentChunkDays {
			out[n-1].to = dt
			continue
		}
		out = append(out, fetchTask{scope: history.ScopeParent, from: dt, to: dt})
	}
	return out
}

// errStore marks a store failure, which stops the sweep.
var errStore = errors.New("store")

// fetchTask fetches one task and stores its days, each day in one
// transaction. It returns the days stored.
func (d *Daemon) fetchTask(ctx context.Context, t fetchTask, accts *accountSet) ([]client.Date, error) {
	fetchedAt := d.now()
	if t.scope == history.ScopeParent {
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
			day := history.FromScore(alert.ParentAccount, s, fetchedAt)
			if err := d.store.SaveDay(ctx, history.ScopeParent, dt, []history.DayScore{day}); err != nil {
				return stored, fmt.Errorf("%w: save %s %s: %w", errStore, t.scope, dt, err)
			}
			stored = append(stored, dt)
		}
		return stored, nil
	}
	var days []history.DayScore
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
			days = append(days, history.FromScore(s.Username, s, fetchedAt))
		}
		if page.NextAfterKey == "" {
			break
		}
		opts = &client.SubuserScoresOptions{Limit: opts.Limit, AfterKey: page.NextAfterKey}
	}
	// A monitored subuser missing from the answer had no score that day.
	for name := range accts.subusers {
		if !seen[name] {
			days = append(days, history.DayScore{Account: name, Date: t.from, FetchedAt: fetchedAt})
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
