package web

import (
	"cmp"
	"context"
	"html/template"
	"net/url"
	"slices"
	"sync"
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

// PoolHistorySource is implemented by a [Source] that records which IP
// pools each subuser sent through; the account page lists it when the
// source has it.
type PoolHistorySource interface {
	// PoolHistory returns account's runs of readings with the same pools,
	// oldest first.
	PoolHistory(ctx context.Context, account string) ([]history.PoolPeriod, error)
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
	// key identifies the last sweep's state, for the overview cache.
	key sweepKey
}

// sweepKey is the state of the last sweep: every write of a sweep (and of
// backfill and check, which are sweeps) happens before it changes.
type sweepKey struct {
	id       int64
	finished time.Time
	err      string
}

func readSweep(ctx context.Context, src Source) (sweepInfo, error) {
	var si sweepInfo
	last, ok, err := src.LastSweep(ctx, false)
	if err != nil || !ok {
		return si, err
	}
	si.Found, si.Started, si.Finished, si.Err = true, last.Started, last.Finished, last.Err
	si.key = sweepKey{last.ID, last.Finished, last.Err}
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

// cell is a value of the overview, formatted, with its level class.
type cell struct {
	Text  string // "4", "3.5", "–"
	Level string // bad, fair, good, none (see level)
}

func cellOf(v float64, ok bool) cell {
	if !ok {
		return cell{Text: "–", Level: "none"}
	}
	return cell{Text: fmtValue(v), Level: level(&v)}
}

// overviewRow is one account on the overview, formatted in advance: the
// template only places strings (thousands of rows render fast).
type overviewRow struct {
	Account string
	Path    string
	// Numbers are the cells of the day, score, metrics and sparkline.
	Numbers  template.HTML
	Eligible bool
	score    float64 // for sorting; NaN when ineligible
	Alerts   []alert.Alert
	worst    alert.Severity
	Worst    string    // class of the most severe firing alert: critical, warning, info, none
	Pool     *poolInfo // nil when pools are off or the account is not in the plan
	StaleFor int       // days its newest stored day is behind the newest of any account
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
	// Metrics are the column headings of the five metrics.
	Metrics []metricHead
}

type metricHead struct{ Short, Title string }

// worstFirst orders rows: the most severe firing alert first, then the
// lowest score (ineligible after every score), then by name.
func worstFirst(a, b overviewRow) int {
	if c := cmp.Compare(b.worst.Rank(), a.worst.Rank()); c != 0 {
		return c
	}
	switch {
	case a.Eligible && b.Eligible:
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
	case a.Eligible:
		return -1
	case b.Eligible:
		return 1
	}
	return cmp.Compare(a.Account, b.Account)
}

// scoreReader is the fast path for the sparklines (monitor/store's
// SQLite has it); [history.Reader.EachDay] is used otherwise.
type scoreReader interface {
	EachScore(ctx context.Context, from, to client.Date, fn func(account []byte, date client.Date, score *float64) error) error
}

// sparkParts is how many concurrent reads fetch the sparklines (each a
// range of days, on its own read connection).
const sparkParts = 2

// readSparklines fills spark[i] (SparklineDays values each, [none] for a
// day without a score) for the accounts of idx, in a few concurrent bulk
// reads of a range of days each. Each read writes its own days' slots.
func (h *handler) readSparklines(ctx context.Context, idx map[string]int, spark [][]float64, start, end client.Date) error {
	put := func(account string, date client.Date, score *float64) {
		if i, ok := idx[account]; ok && score != nil {
			if j := date.DaysSince(start); j >= 0 && j < SparklineDays {
				spark[i][j] = *score
			}
		}
	}
	read := func(ctx context.Context, from, to client.Date) error {
		if sr, ok := h.src.(scoreReader); ok {
			return sr.EachScore(ctx, from, to, func(account []byte, date client.Date, score *float64) error {
				put(string(account), date, score)
				return nil
			})
		}
		return h.src.EachDay(ctx, from, to, func(d history.DayScore) error {
			put(d.Account, d.Date, d.Score)
			return nil
		})
	}
	g, gctx := errgroup.WithContext(ctx)
	per := (SparklineDays + sparkParts - 1) / sparkParts
	for from := start; !from.After(end); from = from.AddDays(per) {
		to := from.AddDays(per - 1)
		if to.After(end) {
			to = end
		}
		g.Go(func() error { return read(gctx, from, to) })
	}
	return g.Wait()
}

// overviewTTL bounds how long the overview's rows are reused while no
// sweep changes the store: they are read again after every sweep (its
// start and its end) and at least this often, for writers that record no
// sweep.
const overviewTTL = time.Minute

// overviewCache holds the last overview's rows.
type overviewCache struct {
	mu   sync.Mutex
	ov   *overview
	key  sweepKey
	made time.Time
}

// readOverview returns the overview's model: the rows read from the store
// (in a fixed number of bulk reads whatever the number of accounts), or
// those of the last request while the last sweep is the same one and they
// are younger than overviewTTL.
func (h *handler) readOverview(ctx context.Context) (*overview, error) {
	si, err := readSweep(ctx, h.src)
	if err != nil {
		return nil, err
	}
	c := &h.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ov != nil && c.key == si.key && time.Since(c.made) < overviewTTL {
		ov := *c.ov
		ov.page = h.newPage("Overview", si, h.plans != nil)
		ov.PoolsErr = c.ov.PoolsErr
		return &ov, nil
	}
	ov, err := h.readOverviewRows(ctx)
	if err != nil {
		return nil, err
	}
	c.ov, c.key, c.made = ov, si.key, time.Now()
	out := *ov
	out.page = h.newPage("Overview", si, h.plans != nil)
	out.PoolsErr = ov.PoolsErr
	return &out, nil
}

// readOverviewRows reads everything the overview shows in a fixed number
// of bulk reads, whatever the number of accounts.
func (h *handler) readOverviewRows(ctx context.Context) (*overview, error) {
	var (
		latest []history.DayScore
		recs   []alert.Record
		plan   *pools.Plan
		planEr error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { latest, err = h.src.Latest(gctx); return err })
	g.Go(func() (err error) { recs, err = h.src.Alerts(gctx); return err })
	if h.plans != nil {
		g.Go(func() error { plan, planEr = h.plans.Plan(gctx); return nil })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	end := status.NewestDate(latest)
	start := end.AddDays(-(SparklineDays - 1))
	idx := make(map[string]int, len(latest))
	spark := make([][]float64, len(latest))
	backing := make([]float64, len(latest)*SparklineDays)
	for i := range backing {
		backing[i] = none
	}
	for i, l := range latest {
		idx[l.Account] = i
		spark[i] = backing[i*SparklineDays : (i+1)*SparklineDays : (i+1)*SparklineDays]
	}
	if len(latest) > 0 {
		if err := h.readSparklines(ctx, idx, spark, start, end); err != nil {
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
	ov := &overview{End: end, Rows: make([]overviewRow, len(latest))}
	for _, m := range client.AllMetrics {
		ov.Metrics = append(ov.Metrics, metricHead{Short: metricShort[m], Title: metricTitles[m]})
	}
	for i, l := range latest {
		r := &ov.Rows[i]
		*r = overviewRow{Account: l.Account, Path: accountPath(l.Account), Eligible: l.Score != nil,
			score: none, Alerts: firing[l.Account], Worst: "none"}
		sc := cellOf(0, false)
		if l.Score != nil {
			r.score = *l.Score
			sc = cellOf(*l.Score, true)
		}
		var ms [5]cell
		for j, m := range client.AllMetrics {
			var v float64
			if l.Metrics != nil {
				v, _ = l.Metrics.Get(m)
			}
			ms[j] = cellOf(v, l.Metrics != nil)
		}
		r.Numbers = numbersHTML(l.Date, end.DaysSince(l.Date), sc, r.Eligible, ms, newSparkline(spark[i]))
		for _, a := range r.Alerts {
			if a.Severity.Rank() > r.worst.Rank() {
				r.worst, r.Worst = a.Severity, string(a.Severity)
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
	}
	slices.SortFunc(ov.Rows, worstFirst)
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
	// PoolRuns is the recorded pool history, newest first.
	PoolRuns []history.PoolPeriod
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
		hist     []history.DayScore
		recs     []alert.Record
		events   []alert.Event
		poolRuns []history.PoolPeriod
		si       sweepInfo
		plan     *pools.Plan
		planEr   error
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
		if ph, ok := h.src.(PoolHistorySource); ok {
			g.Go(func() (err error) { poolRuns, err = ph.PoolHistory(gctx, account); return err })
		}
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
	scores := make([]float64, p.Days)
	metrics := make([][]float64, len(client.AllMetrics))
	for i := range scores {
		scores[i] = none
	}
	for j := range metrics {
		metrics[j] = slices.Clone(scores)
	}
	for _, d := range hist {
		i := d.Date.DaysSince(p.First)
		if i < 0 || i >= p.Days {
			continue
		}
		if d.Score != nil {
			scores[i] = *d.Score
			p.Scored++
		}
		if d.Metrics != nil {
			for j, m := range client.AllMetrics {
				metrics[j][i], _ = d.Metrics.Get(m)
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
	p.PoolRuns = poolRuns
	slices.Reverse(p.PoolRuns)
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
