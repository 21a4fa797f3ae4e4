package web

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/status"
)

// SparklineDays is the length of the overview's sparklines.
const SparklineDays = 30

// Source is what the pages read: the score history, the stored alert
// states and the sweeps. monitor/store's SQLite implements it (and
// [EventSource]).
type Source interface {
	status.Source
	// LastSweep returns the most recent sweep (the most recent successful
	// one when successfulOnly), and false when there is none.
	LastSweep(ctx context.Context, successfulOnly bool) (history.SweepRecord, bool, error)
}

// EventSource is implemented by a [Source] that records the history of
// alerts; the account page lists it when the source has it.
type EventSource interface {
	// AlertEvents returns account's alert history, oldest first.
	AlertEvents(ctx context.Context, account string) ([]alert.Event, error)
}

// accountPath is the page of account: /accounts/ and its path-escaped name.
func accountPath(account string) string { return "/accounts/" + url.PathEscape(account) }

// sweepInfo describes the last sweep for the top of the pages.
type sweepInfo struct {
	Found    bool
	Started  time.Time
	Finished time.Time // zero: running, or its process died
	Duration time.Duration
	Err      string
	// LastOK is the last successful sweep when the last one is not.
	LastOK      time.Time
	HasLastOK   bool
	LastOKIsNow bool // the last sweep is the last successful one
}

func readSweep(ctx context.Context, src Source) (sweepInfo, error) {
	var si sweepInfo
	last, ok, err := src.LastSweep(ctx, false)
	if err != nil || !ok {
		return si, err
	}
	si.Found, si.Started, si.Finished, si.Err = true, last.Started, last.Finished, last.Err
	if !last.Finished.IsZero() {
		si.Duration = last.Finished.Sub(last.Started)
	}
	if last.Succeeded() {
		si.LastOK, si.HasLastOK, si.LastOKIsNow = last.Finished, true, true
		return si, nil
	}
	good, ok, err := src.LastSweep(ctx, true)
	if err != nil {
		return si, err
	}
	if ok {
		si.LastOK, si.HasLastOK = good.Finished, true
	}
	return si, nil
}

// poolInfo is an account's place in the IP-pool plan.
type poolInfo struct {
	Pools      []string
	Tier       string // planned tier; "" when not placed
	TargetPool string
	Move       bool
	Flags      []string
	Reason     string
}

func poolInfoOf(sp pools.SubuserPlan) *poolInfo {
	return &poolInfo{Pools: sp.CurrentPools, Tier: sp.Tier, TargetPool: sp.TargetPool, Move: sp.Move, Flags: sp.Flags, Reason: sp.Reason}
}

// overviewRow is one account on the overview.
type overviewRow struct {
	Account  string
	Path     string
	Date     client.Date
	Score    *float64
	Metrics  *client.Metrics
	Spark    sparkline
	Alerts   []alert.Alert
	Worst    alert.Severity // most severe firing alert; "" when none
	Pool     *poolInfo      // nil when pools are off or the account is not in the plan
	StaleFor int            // days its newest stored day is behind the newest of any account
}

// overview is the model of the overview page.
type overview struct {
	page
	Rows       []overviewRow
	End        client.Date
	Firing     int
	Ineligible int
	Critical   int
	Warning    int
}

// worstFirst orders rows: the most severe firing alert first, then the
// lowest score (ineligible after every score), then by name.
func worstFirst(a, b overviewRow) int {
	if c := cmp.Compare(b.Worst.Rank(), a.Worst.Rank()); c != 0 {
		return c
	}
	switch {
	case a.Score != nil && b.Score != nil:
		if c := cmp.Compare(*a.Score, *b.Score); c != 0 {
			return c
		}
	case a.Score != nil:
		return -1
	case b.Score != nil:
		return 1
	}
	return cmp.Compare(a.Account, b.Account)
}

// readOverview reads everything the overview shows in a fixed number of
// bulk reads, whatever the number of accounts.
func (h *handler) readOverview(ctx context.Context) (*overview, error) {
	var (
		latest []history.DayScore
		recs   []alert.Record
		si     sweepInfo
		plan   *pools.Plan
		planEr error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { latest, err = h.src.Latest(gctx); return err })
	g.Go(func() (err error) { recs, err = h.src.Alerts(gctx); return err })
	g.Go(func() (err error) { si, err = readSweep(gctx, h.src); return err })
	if h.plans != nil {
		g.Go(func() error { plan, planEr = h.plans.Plan(gctx); return nil })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	end := status.NewestDate(latest)
	start := end.AddDays(-(SparklineDays - 1))
	idx := make(map[string]int, len(latest))
	spark := make([][]*float64, len(latest))
	for i, l := range latest {
		idx[l.Account] = i
		spark[i] = make([]*float64, SparklineDays)
	}
	if len(latest) > 0 {
		err := h.src.EachDay(ctx, start, end, func(d history.DayScore) error {
			if i, ok := idx[d.Account]; ok {
				if j := d.Date.DaysSince(start); j >= 0 && j < SparklineDays {
					spark[i][j] = d.Score
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	firing := status.FiringByAccount(recs)
	var planOf map[string]pools.SubuserPlan
	if plan != nil {
		planOf = make(map[string]pools.SubuserPlan, len(plan.Subusers))
		for _, sp := range plan.Subusers {
			planOf[sp.Username] = sp
		}
	}
	ov := &overview{End: end, Rows: make([]overviewRow, 0, len(latest))}
	for i, l := range latest {
		r := overviewRow{Account: l.Account, Path: accountPath(l.Account), Date: l.Date, Score: l.Score, Metrics: l.Metrics,
			Spark: newSparkline(spark[i]), Alerts: firing[l.Account], StaleFor: end.DaysSince(l.Date)}
		for _, a := range r.Alerts {
			if a.Severity.Rank() > r.Worst.Rank() {
				r.Worst = a.Severity
			}
			switch a.Severity {
			case alert.Critical:
				ov.Critical++
			case alert.Warning:
				ov.Warning++
			}
		}
		ov.Firing += len(r.Alerts)
		if l.Score == nil {
			ov.Ineligible++
		}
		if sp, ok := planOf[l.Account]; ok {
			r.Pool = poolInfoOf(sp)
		}
		ov.Rows = append(ov.Rows, r)
	}
	slices.SortFunc(ov.Rows, worstFirst)
	ov.page = h.newPage("Overview", si, plan != nil || h.plans != nil)
	if planEr != nil {
		ov.PoolsErr = planEr.Error()
	}
	return ov, nil
}

// tierPeriod is a run of days the planner placed an account in one tier.
type tierPeriod struct {
	Tier     string // "" = not placed (too few scored days)
	From, To client.Date
	Days     int
}

// metricChart is one chart of the account page.
type accountPage struct {
	page
	Account   string
	Path      string
	HistPath  string
	First     client.Date
	Last      client.Date
	Days      int
	Scored    int
	Latest    history.DayScore
	Charts    []chart
	Firing    []alert.Alert
	Pending   []alert.Alert // resolutions not delivered yet
	Events    []alert.Event
	HasEvents bool
	Pool      *poolInfo
	Tiers     []tierPeriod
	// Recent are the last days, newest first, as a table.
	Recent []history.DayScore
}

// metricTitles names the charts.
var metricTitles = map[client.Metric]string{
	client.MetricEngagementRecency:    "Engagement recency",
	client.MetricOpenRate:             "Open rate",
	client.MetricBounceClassification: "Bounce classification",
	client.MetricBounceRate:           "Bounce rate",
	client.MetricSpamRate:             "Spam rate",
}

// metricShort are the overview's column headings.
var metricShort = map[client.Metric]string{
	client.MetricEngagementRecency:    "Engagement",
	client.MetricOpenRate:             "Opens",
	client.MetricBounceClassification: "Bounce class",
	client.MetricBounceRate:           "Bounces",
	client.MetricSpamRate:             "Spam",
}

// errNoAccount is returned by readAccount for an account without stored
// days.
type errNoAccount struct{ account string }

func (e errNoAccount) Error() string { return "no stored history for " + e.account }

// recentDays is the number of days the account page lists as a table.
const recentDays = 14

func (h *handler) readAccount(ctx context.Context, account string) (*accountPage, error) {
	var (
		hist   []history.DayScore
		recs   []alert.Record
		events []alert.Event
		si     sweepInfo
		plan   *pools.Plan
		planEr error
	)
	evs, hasEvents := h.src.(EventSource)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { hist, err = h.src.History(gctx, account, client.Date{}, client.Date{}); return err })
	g.Go(func() (err error) { recs, err = h.src.Alerts(gctx); return err })
	g.Go(func() (err error) { si, err = readSweep(gctx, h.src); return err })
	if hasEvents {
		g.Go(func() (err error) { events, err = evs.AlertEvents(gctx, account); return err })
	}
	if h.plans != nil && account != alert.ParentAccount {
		g.Go(func() error { plan, planEr = h.plans.Plan(gctx); return nil })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(hist) == 0 {
		return nil, errNoAccount{account}
	}
	p := &accountPage{Account: account, Path: accountPath(account), HistPath: "/api/v1/accounts/" + url.PathEscape(account) + "/history",
		First: hist[0].Date, Last: hist[len(hist)-1].Date, Latest: hist[len(hist)-1], Events: events, HasEvents: hasEvents}
	p.Days = p.Last.DaysSince(p.First) + 1
	scores := make([]*float64, p.Days)
	metrics := make([][]*float64, len(client.AllMetrics))
	for i := range metrics {
		metrics[i] = make([]*float64, p.Days)
	}
	for _, d := range hist {
		i := d.Date.DaysSince(p.First)
		if i < 0 || i >= p.Days {
			continue
		}
		scores[i] = d.Score
		if d.Score != nil {
			p.Scored++
		}
		if d.Metrics != nil {
			for j, m := range client.AllMetrics {
				v, _ := d.Metrics.Get(m)
				metrics[j][i] = client.Float(v)
			}
		}
	}
	p.Charts = append(p.Charts, newChart("Score", p.First, scores))
	for j, m := range client.AllMetrics {
		p.Charts = append(p.Charts, newChart(metricTitles[m], p.First, metrics[j]))
	}
	for _, r := range recs {
		if r.Account != account {
			continue
		}
		if r.State == alert.Firing {
			p.Firing = append(p.Firing, r.Alert)
		} else {
			p.Pending = append(p.Pending, r.Alert)
		}
	}
	slices.Reverse(p.Events) // newest first
	for i := len(hist) - 1; i >= 0 && len(p.Recent) < recentDays; i-- {
		p.Recent = append(p.Recent, hist[i])
	}
	if plan != nil {
		if sp, ok := plan.Subuser(account); ok {
			p.Pool = poolInfoOf(sp)
			p.Tiers = h.tierHistory(account, sp.CurrentPools, hist)
		}
	}
	p.page = h.newPage(account, si, h.plans != nil)
	if planEr != nil {
		p.PoolsErr = planEr.Error()
	}
	return p, nil
}

// tierHistory replays the planner on every stored day of one subuser: the
// tier the plan would have given it that day (the planner is a pure
// function of the stored history), as runs of days.
func (h *handler) tierHistory(account string, cur []string, hist []history.DayScore) []tierPeriod {
	days := make([]pools.Day, len(hist))
	for i, d := range hist {
		days[i] = pools.Day{Date: d.Date, Score: d.Score, Metrics: d.Metrics}
	}
	st := &pools.State{Subusers: map[string][]string{account: cur}, SubuserIPs: map[string][]string{}, Pools: map[string][]string{}}
	var out []tierPeriod
	first, last := hist[0].Date, hist[len(hist)-1].Date
	lo := 0
	for d := first; !d.After(last); d = d.AddDays(1) {
		for lo < len(days) && days[lo].Date.Before(d.AddDays(-(pools.ReplayDays - 1))) {
			lo++
		}
		hi := lo
		for hi < len(days) && !days[hi].Date.After(d) {
			hi++
		}
		pl, err := pools.NewPlan(h.poolsCfg, st, map[string][]pools.Day{account: days[lo:hi]}, d, time.Time{})
		if err != nil {
			return nil
		}
		tier := ""
		if sp, ok := pl.Subuser(account); ok {
			tier = sp.Tier
		}
		if n := len(out); n > 0 && out[n-1].Tier == tier {
			out[n-1].To = d
			out[n-1].Days++
			continue
		}
		out = append(out, tierPeriod{Tier: tier, From: d, To: d, Days: 1})
	}
	slices.Reverse(out) // newest first
	return out
}

// poolsPage is the model of /pools.
type poolsPage struct {
	page
	Plan     *pools.Plan
	Moves    []pools.SubuserPlan
	Flags    []flagCount
	Subusers int
}

type flagCount struct {
	Flag  string
	Count int
}

func (h *handler) readPools(ctx context.Context) (*poolsPage, error) {
	var (
		si     sweepInfo
		plan   *pools.Plan
		planEr error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { si, err = readSweep(gctx, h.src); return err })
	g.Go(func() error { plan, planEr = h.plans.Plan(gctx); return nil })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	p := &poolsPage{Plan: plan}
	p.page = h.newPage("IP pools", si, true)
	if planEr != nil {
		p.PoolsErr = planEr.Error()
		return p, nil
	}
	p.Moves = plan.Moves()
	p.Subusers = len(plan.Subusers)
	counts := map[string]int{}
	for _, sp := range plan.Subusers {
		for _, f := range sp.Flags {
			counts[f]++
		}
	}
	for _, f := range []string{pools.FlagOutlier, pools.FlagIneligible, pools.FlagTooNew, pools.FlagNoPool, pools.FlagMultiplePools} {
		if counts[f] > 0 {
			p.Flags = append(p.Flags, flagCount{f, counts[f]})
		}
	}
	return p, nil
}
