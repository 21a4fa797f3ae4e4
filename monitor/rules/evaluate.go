package rules

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// eps absorbs floating-point noise in threshold comparisons (4.6 - 3.6 is
// 0.9999999999999996).
const eps = 1e-9

func geq(a, b float64) bool { return a >= b-eps }
func leq(a, b float64) bool { return a <= b+eps }

// point is one scored (eligible) day.
type point struct {
	date    client.Date
	score   float64
	metrics *client.Metrics
}

// Evaluate returns the alerts (State Firing) whose conditions hold on the
// newest day of history, which holds one account's days in ascending date
// order (it is sorted defensively). It is [EvaluateAt] with asOf the newest
// day of history.
func Evaluate(cfg Config, account string, hist []history.DayScore) []alert.Alert {
	return EvaluateAt(cfg, account, hist, client.Date{})
}

// EvaluateAt is like [Evaluate] but evaluates as of the given day: days of
// history after asOf are ignored, and days between the newest stored day and
// asOf count as missing (unscored), which is how the eligibility rule sees an
// account that SendGrid stopped returning. A zero asOf means the newest day
// of history.
//
// The score rules (drop, baseline, floor, metric) are evaluated on the
// account's scored days; an ineligible or missing day neither breaks nor
// extends a run. While the newest days are unscored the alerts of the newest
// scored day carry over, until the account has gone eligibility.days days
// without a score: then only the eligibility rule speaks for it.
func EvaluateAt(cfg Config, account string, hist []history.DayScore, asOf client.Date) []alert.Alert {
	days := make([]history.DayScore, 0, len(hist))
	for _, d := range hist {
		if d.Date.IsZero() || (!asOf.IsZero() && d.Date.After(asOf)) {
			continue
		}
		days = append(days, d)
	}
	sort.SliceStable(days, func(i, j int) bool { return days[i].Date.Before(days[j].Date) })
	if len(days) == 0 {
		return nil
	}
	if asOf.IsZero() {
		asOf = days[len(days)-1].Date
	}
	var pts []point
	for i, d := range days {
		if i+1 < len(days) && days[i+1].Date == d.Date {
			continue // duplicate date: the last one wins
		}
		if d.Score == nil || !finite(*d.Score) {
			continue
		}
		p := point{date: d.Date, score: *d.Score}
		if d.Metrics != nil && finiteMetrics(*d.Metrics) {
			m := *d.Metrics
			p.metrics = &m
		}
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		return nil // never scored: nothing to compare with
	}
	e := evaluator{cfg: cfg, account: account, asOf: asOf, pts: pts}
	return e.run()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func finiteMetrics(m client.Metrics) bool {
	for _, metric := range client.AllMetrics {
		if v, _ := m.Get(metric); !finite(v) {
			return false
		}
	}
	return true
}

type evaluator struct {
	cfg     Config
	account string
	asOf    client.Date
	pts     []point
}

func forDays(n int) int { return max(n, 1) }

func (e *evaluator) run() []alert.Alert {
	var out []alert.Alert
	last := e.pts[len(e.pts)-1]
	unscored := e.asOf.DaysSince(last.date)
	eligDays := e.cfg.Eligibility.Days
	if eligDays < 1 {
		eligDays = DefaultConfig().Eligibility.Days
	}
	if unscored >= eligDays {
		if e.cfg.Eligibility.Enabled {
			out = append(out, e.eligibility(last, unscored, eligDays))
		}
		return out
	}
	if e.cfg.Drop.Enabled && e.cfg.Drop.MinDrop > 0 {
		if a, ok := e.drop(); ok {
			out = append(out, a)
		}
	}
	if e.cfg.Baseline.Enabled && e.cfg.Baseline.BelowMedian > 0 && e.cfg.Baseline.WindowDays > 0 {
		if a, ok := e.baseline(); ok {
			out = append(out, a)
		}
	}
	if e.cfg.Floor.Enabled {
		if a, ok := e.floor(); ok {
			out = append(out, a)
		}
	}
	if e.cfg.Metric.Enabled && (e.cfg.Metric.MaxValue > 0 || e.cfg.Metric.MinDrop > 0) {
		for _, m := range client.AllMetrics {
			if a, ok := e.metric(m); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// runStart returns the index where the run of consecutive true values
// ending at the last index starts, and false if the last value is false.
func runStart(holds []bool) (int, bool) {
	n := len(holds)
	if n == 0 || !holds[n-1] {
		return 0, false
	}
	i := n - 1
	for i > 0 && holds[i-1] {
		i--
	}
	return i, true
}

// fallTracker follows the "drop holds until recovery" state over a series:
// a fall of at least minDrop against the previous value starts an episode
// whose reference is the pre-fall value; it ends when a value reaches the
// reference again. Further falls during an episode keep the first reference.
type fallTracker struct {
	minDrop float64
	active  bool
	ref     float64
	refIdx  int // index of the pre-fall value
}

func (t *fallTracker) step(i int, prev, cur float64, hasPrev bool) bool {
	if t.active && geq(cur, t.ref) {
		t.active = false
	}
	if !t.active && hasPrev && geq(prev-cur, t.minDrop) {
		t.active, t.ref, t.refIdx = true, prev, i-1
	}
	return t.active
}

// base fills the fields every score alert shares.
func (e *evaluator) base(rule alert.Rule, metric client.Metric, since client.Date) alert.Alert {
	return alert.Alert{
		Key:     alert.Key(e.account, rule, metric),
		Account: e.account,
		Rule:    rule,
		Metric:  metric,
		State:   alert.Firing,
		Date:    e.pts[len(e.pts)-1].date,
		Since:   since,
	}
}

func (e *evaluator) drop() (alert.Alert, bool) {
	cfg := e.cfg.Drop
	t := fallTracker{minDrop: cfg.MinDrop}
	holds := make([]bool, len(e.pts))
	for i, p := range e.pts {
		var prev float64
		if i > 0 {
			prev = e.pts[i-1].score
		}
		holds[i] = t.step(i, prev, p.score, i > 0)
	}
	start, ok := runStart(holds)
	if !ok || len(holds)-start < forDays(cfg.ForDays) {
		return alert.Alert{}, false
	}
	cur := e.pts[len(e.pts)-1]
	fall := t.ref - cur.score
	a := e.base(alert.RuleDrop, "", e.pts[start].date)
	a.From, a.To = client.Float(t.ref), client.Float(cur.score)
	a.Severity = severity(fall, cfg.MinDrop, cur.score)
	changes := fallenMetrics(e.pts[t.refIdx].metrics, cur.metrics)
	a.Message = fmt.Sprintf("%s: score fell %s → %s %s %s (drop of %s%s)", e.account,
		num(t.ref), num(cur.score), onSince(a), a.Since, num(fall), changesText(changes))
	a.Advice = scoreAdvice(alert.RuleDrop, changes, cur.metrics)
	return a, true
}

func (e *evaluator) baseline() (alert.Alert, bool) {
	cfg := e.cfg.Baseline
	need := min(minBaseline, cfg.WindowDays)
	holds := make([]bool, len(e.pts))
	medians := make([]float64, len(e.pts))
	window := make([]float64, 0, cfg.WindowDays)
	for i, p := range e.pts {
		lo := max(0, i-cfg.WindowDays)
		if i-lo < need {
			continue
		}
		window = window[:0]
		for _, q := range e.pts[lo:i] {
			window = append(window, q.score)
		}
		medians[i] = median(window)
		holds[i] = leq(p.score, medians[i]-cfg.BelowMedian)
	}
	start, ok := runStart(holds)
	if !ok || len(holds)-start < forDays(cfg.ForDays) {
		return alert.Alert{}, false
	}
	n := len(e.pts) - 1
	cur, med := e.pts[n], medians[n]
	below := med - cur.score
	a := e.base(alert.RuleBaseline, "", e.pts[start].date)
	a.From, a.To = client.Float(med), client.Float(cur.score)
	a.Severity = severity(below, cfg.BelowMedian, cur.score)
	var before *client.Metrics
	if start > 0 {
		before = e.pts[start-1].metrics
	}
	changes := fallenMetrics(before, cur.metrics)
	a.Message = fmt.Sprintf("%s: score %s is %s below its %d-day median of %s since %s%s", e.account,
		num(cur.score), num(below), cfg.WindowDays, num(med), a.Since, parenChanges(changes))
	a.Advice = scoreAdvice(alert.RuleBaseline, changes, cur.metrics)
	return a, true
}

func (e *evaluator) floor() (alert.Alert, bool) {
	cfg := e.cfg.Floor
	holds := make([]bool, len(e.pts))
	for i, p := range e.pts {
		holds[i] = leq(p.score, cfg.MaxScore)
	}
	start, ok := runStart(holds)
	if !ok || len(holds)-start < forDays(cfg.ForDays) {
		return alert.Alert{}, false
	}
	cur := e.pts[len(e.pts)-1]
	a := e.base(alert.RuleFloor, "", e.pts[start].date)
	a.To = client.Float(cur.score)
	a.Severity = alert.Warning
	if leq(cur.score, 1) {
		a.Severity = alert.Critical
	}
	var before *client.Metrics
	var details []string
	if start > 0 {
		a.From = client.Float(e.pts[start-1].score)
		before = e.pts[start-1].metrics
		details = append(details, "was "+num(e.pts[start-1].score))
	}
	changes := fallenMetrics(before, cur.metrics)
	if len(changes) > 0 {
		details = append(details, strings.TrimPrefix(changesText(changes), "; "))
	}
	a.Message = fmt.Sprintf("%s: score %s at or below the floor of %s since %s", e.account,
		num(cur.score), num(cfg.MaxScore), a.Since)
	if len(details) > 0 {
		a.Message += " (" + strings.Join(details, "; ") + ")"
	}
	a.Advice = scoreAdvice(alert.RuleFloor, changes, cur.metrics)
	return a, true
}

func (e *evaluator) metric(m client.Metric) (alert.Alert, bool) {
	cfg := e.cfg.Metric
	type mp struct {
		date client.Date
		v    float64
	}
	var series []mp
	for _, p := range e.pts {
		if p.metrics == nil {
			continue
		}
		v, _ := p.metrics.Get(m)
		series = append(series, mp{p.date, v})
	}
	if len(series) == 0 {
		return alert.Alert{}, false
	}
	t := fallTracker{minDrop: cfg.MinDrop}
	holds := make([]bool, len(series))
	dropping := false
	for i, p := range series {
		var prev float64
		if i > 0 {
			prev = series[i-1].v
		}
		dropping = cfg.MinDrop > 0 && t.step(i, prev, p.v, i > 0)
		low := cfg.MaxValue > 0 && leq(p.v, cfg.MaxValue)
		holds[i] = dropping || low
	}
	start, ok := runStart(holds)
	if !ok || len(holds)-start < forDays(cfg.ForDays) {
		return alert.Alert{}, false
	}
	cur := series[len(series)-1]
	a := e.base(alert.RuleMetric, m, series[start].date)
	a.Date = cur.date
	a.To = client.Float(cur.v)
	a.Advice = Advice(m)
	name := metricName(m)
	if dropping {
		fall := t.ref - cur.v
		a.From = client.Float(t.ref)
		a.Severity = severity(fall, cfg.MinDrop, cur.v)
		a.Message = fmt.Sprintf("%s: %s fell %s → %s %s %s (drop of %s)", e.account, name,
			num(t.ref), num(cur.v), onSince(a), a.Since, num(fall))
		return a, true
	}
	a.Severity = alert.Warning
	if leq(cur.v, 1) {
		a.Severity = alert.Critical
	}
	was := ""
	if start > 0 {
		a.From = client.Float(series[start-1].v)
		was = " (was " + num(series[start-1].v) + ")"
	}
	a.Message = fmt.Sprintf("%s: %s %s at or below %s since %s%s", e.account, name,
		num(cur.v), num(cfg.MaxValue), a.Since, was)
	return a, true
}

func (e *evaluator) eligibility(last point, unscored, days int) alert.Alert {
	a := alert.Alert{
		Key:      alert.Key(e.account, alert.RuleEligibility, ""),
		Account:  e.account,
		Rule:     alert.RuleEligibility,
		Severity: alert.Info,
		State:    alert.Firing,
		Date:     e.asOf,
		// The first day without a score: the condition's run starts there,
		// as for the other rules with for_days (it fires on the days-th).
		Since:  last.date.AddDays(1),
		From:   client.Float(last.score),
		Advice: AdviceFor(alert.RuleEligibility),
	}
	if unscored >= 2*days {
		a.Severity = alert.Warning
	}
	a.Message = fmt.Sprintf("%s: no score for %d days since %s (last score %s on %s); "+
		"open tracking off or under 1,000 messages in 30 days?", e.account, unscored, last.date.AddDays(1), num(last.score), last.date)
	return a
}

// severity scales with the size of a fall: Critical when it is at least one
// more than the rule's threshold (2 for the default drop of 1) or the value
// reached 1, Warning otherwise.
func severity(fall, threshold, value float64) alert.Severity {
	if geq(fall, threshold+1) || leq(value, 1) {
		return alert.Critical
	}
	return alert.Warning
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// num formats a value without trailing zeros, rounded to 2 decimals.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// onSince reads "on" when the alert fired on its first day, else "since".
func onSince(a alert.Alert) string {
	if a.Date == a.Since {
		return "on"
	}
	return "since"
}

// metricChange is one metric that fell between two days.
type metricChange struct {
	metric   client.Metric
	from, to float64
}

// fallenMetrics lists the metrics lower in now than in before, largest fall
// first (then in SendGrid's order).
func fallenMetrics(before, now *client.Metrics) []metricChange {
	if before == nil || now == nil {
		return nil
	}
	var out []metricChange
	for _, m := range client.AllMetrics {
		b, _ := before.Get(m)
		n, _ := now.Get(m)
		if n < b-eps {
			out = append(out, metricChange{m, b, n})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].from-out[i].to > out[j].from-out[j].to })
	return out
}

func changesText(cs []metricChange) string {
	if len(cs) == 0 {
		return ""
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %s → %s", metricName(c.metric), num(c.from), num(c.to))
	}
	return "; " + strings.Join(parts, ", ")
}

func parenChanges(cs []metricChange) string {
	if len(cs) == 0 {
		return ""
	}
	return " (" + strings.TrimPrefix(changesText(cs), "; ") + ")"
}

// scoreAdvice picks the advice for a score alert: that of the metric that
// fell most, else of the lowest metric below 5, else the rule's general
// advice.
func scoreAdvice(rule alert.Rule, changes []metricChange, now *client.Metrics) string {
	if len(changes) > 0 {
		return Advice(changes[0].metric)
	}
	if now != nil {
		low, lowV := client.Metric(""), 5-eps
		for _, m := range client.AllMetrics {
			if v, _ := now.Get(m); v < lowV {
				low, lowV = m, v
			}
		}
		if low != "" {
			return Advice(low)
		}
	}
	return AdviceFor(rule)
}
