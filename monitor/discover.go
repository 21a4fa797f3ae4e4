package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

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

// result returns the discovered accounts if discovery is over and
// succeeded, else nil.
func (disc *discovery) result() *accountSet {
	select {
	case <-disc.done:
		return disc.accts
	default:
		return nil
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
						slog.String(logKeyAccount, name), slog.String(logKeyDate, dateText(ch)), slog.Any(logKeyError, err))
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
			d.logger.LogAttrs(ctx, slog.LevelInfo, "filled the history of a newly monitored subuser", slog.String(logKeyAccount, name), slog.Int("days", len(days)))
			return nil
		})
	}
	return g.Wait()
}
