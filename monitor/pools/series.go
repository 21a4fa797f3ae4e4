package pools

import (
	"slices"

	"github.com/sgseq/sgseq/client"
)

// Day is one stored day of a subuser's history. A nil Score means the
// subuser was not eligible for a score that day.
type Day struct {
	Date    client.Date
	Score   *float64
	Metrics *client.Metrics
}

// promoteMinTrend is the lowest trend (score points per day over the
// window) at which a subuser may be promoted to a better tier: a sender
// whose score is falling is not promoted even if its median qualifies.
const promoteMinTrend = -0.1

// median returns the median of vs and false when vs is empty. It does not
// modify vs.
func median(vs []float64) (float64, bool) {
	switch len(vs) {
	case 0:
		return 0, false
	case 1:
		return vs[0], true
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// slope returns the least-squares slope of ys against xs (points per unit
// of x), and 0 with fewer than two distinct xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var cov, vx float64
	for i := range xs {
		cov += (xs[i] - mx) * (ys[i] - my)
		vx += (xs[i] - mx) * (xs[i] - mx)
	}
	if vx == 0 {
		return 0
	}
	return cov / vx
}

// series is a subuser's history laid out one entry per calendar day over
// the replay range: days[i] is the day dates[i], with a nil Score when the
// day is missing or unscored. present[i] tells a stored day from a missing
// one. dates is shared by the series of one plan.
type series struct {
	dates   []client.Date
	days    []Day
	present []bool
}

// replayDates returns the n days ending at asOf, oldest first.
func replayDates(asOf client.Date, n int) []client.Date {
	start := asOf.AddDays(-(n - 1))
	out := make([]client.Date, n)
	t := start.Time()
	for i := range out {
		out[i] = client.DateOf(t.AddDate(0, 0, i))
	}
	return out
}

// newSeries lays history out over the n days ending at asOf.
func newSeries(history []Day, asOf client.Date, n int) series {
	return newSeriesOver(history, replayDates(asOf, n))
}

// newSeriesOver lays history out over dates (consecutive days). Days
// outside them are ignored; for duplicate dates the last one wins.
func newSeriesOver(history []Day, dates []client.Date) series {
	n := len(dates)
	s := series{dates: dates, days: make([]Day, n), present: make([]bool, n)}
	if n == 0 {
		return s
	}
	for _, d := range history {
		i := d.Date.DaysSince(dates[0])
		if d.Date.IsZero() || i < 0 || i >= n {
			continue
		}
		s.days[i] = d
		s.present[i] = true
	}
	return s
}

// last returns the index of asOf.
func (s series) last() int { return len(s.days) - 1 }

// scored returns the number of scored days in the series.
func (s series) scored() int {
	n := 0
	for _, d := range s.days {
		if d.Score != nil {
			n++
		}
	}
	return n
}

// window summarises the scored days of a trailing window.
type window struct {
	median float64 // median score; valid when scored > 0
	trend  float64 // least-squares slope, points per day; 0 when scored < 2
	scored int     // scored days in the window
}

// window returns the trailing window of w days ending at index i.
func (s series) window(i, w int) window {
	var sc windowScratch
	return s.windowWith(&sc, i, w)
}

// windowScratch holds buffers reused across windowWith calls.
type windowScratch struct {
	xs, ys []float64
}

// windowWith is window using sc's buffers instead of allocating.
func (s series) windowWith(sc *windowScratch, i, w int) window {
	xs, ys := sc.xs[:0], sc.ys[:0]
	for j := max(0, i-w+1); j <= i; j++ {
		if v := s.days[j].Score; v != nil {
			xs = append(xs, float64(j))
			ys = append(ys, *v)
		}
	}
	sc.xs, sc.ys = xs, ys
	out := window{trend: slope(xs, ys), scored: len(ys)}
	if len(ys) > 0 {
		slices.Sort(ys) // after slope: ys is scratch
		n := len(ys)
		out.median = ys[n/2]
		if n%2 == 0 {
			out.median = (ys[n/2-1] + ys[n/2]) / 2
		}
	}
	return out
}

// metricMedians returns, for each metric, the median over the scored days
// of the trailing window of w days ending at index i; ok is false when no
// day of the window carries metrics.
func (s series) metricMedians(i, w int) (m client.Metrics, ok bool) {
	vals := make([][]float64, len(client.AllMetrics))
	for j := max(0, i-w+1); j <= i; j++ {
		d := s.days[j]
		if d.Score == nil || d.Metrics == nil {
			continue
		}
		for k, metric := range client.AllMetrics {
			v, _ := d.Metrics.Get(metric)
			vals[k] = append(vals[k], v)
		}
	}
	if len(vals[0]) == 0 {
		return m, false
	}
	med := func(k int) float64 { v, _ := median(vals[k]); return v }
	return client.Metrics{
		EngagementRecency:    med(0),
		OpenRate:             med(1),
		BounceClassification: med(2),
		BounceRate:           med(3),
		SpamRate:             med(4),
	}, true
}

// placement is the outcome of replaying a subuser's daily medians.
type placement struct {
	placed bool // false: never had MinScoredDays scored days
	tier   int  // index into Config.Tiers
	// since is the index of the first day of the streak that put the
	// subuser in tier (or of its first placement).
	since int
	// prevTier is the tier before the last switch, -1 when the subuser has
	// been in tier since it was first placed.
	prevTier int
	// switchedAt is the index of the day of the last switch, -1 if none.
	switchedAt int
	// pendingTier and pendingDays describe a streak at the last day
	// towards another tier that has not yet held HoldDays days (or is
	// blocked by a falling trend); pendingTier is -1 when there is none.
	pendingTier int
	pendingDays int
	// blocked is true when a promotion has held long enough but the
	// score is falling.
	blocked bool
}

// replay places a subuser in a tier on each day of s, in order, and
// returns where it stands on the last day. A subuser is first placed on the
// first day it has cfg.MinScoredDays scored days, in the tier of that day's
// median. After that it changes tier only when its daily median has been
// on the same side of its current tier (all better or all worse) for
// cfg.HoldDays consecutive days; it then moves to the tier among those days
// closest to its current one, which is the tier that has held. Days without
// a score in the window interrupt a streak. A promotion also needs a trend
// of at least promoteMinTrend on the day it happens.
func replay(cfg Config, s series) placement {
	n := len(s.days)
	raw := make([]int, n) // tier of each day's median; -1 when none
	trend := make([]float64, n)
	cum := 0
	p := placement{tier: -1, prevTier: -1, switchedAt: -1, pendingTier: -1}
	var sc windowScratch
	for i := range n {
		if s.days[i].Score != nil {
			cum++
		}
		w := s.windowWith(&sc, i, cfg.WindowDays)
		raw[i] = -1
		if w.scored > 0 {
			raw[i] = cfg.tierFor(w.median)
			trend[i] = w.trend
		}
		if !p.placed {
			if cum >= cfg.MinScoredDays && raw[i] >= 0 {
				p.placed, p.tier, p.since = true, raw[i], i
			}
			continue
		}
		p.pendingTier, p.pendingDays, p.blocked = -1, 0, false
		side := sideOf(raw[i], p.tier)
		if side == 0 {
			continue
		}
		// Length of the streak on this side, ending today.
		k := 0
		for j := i; j >= 0 && sideOf(raw[j], p.tier) == side; j-- {
			k++
		}
		// Closest tier to the current one over the last min(k, HoldDays) days.
		target := raw[i]
		for j := i; j > i-min(k, cfg.HoldDays); j-- {
			if side > 0 {
				target = min(target, raw[j]) // worse tiers have larger indices
			} else {
				target = max(target, raw[j])
			}
		}
		if k < cfg.HoldDays {
			p.pendingTier, p.pendingDays = target, k
			continue
		}
		if side < 0 && trend[i] < promoteMinTrend-eps {
			p.pendingTier, p.pendingDays, p.blocked = target, k, true
			continue
		}
		p.prevTier, p.tier = p.tier, target
		p.since, p.switchedAt = i-cfg.HoldDays+1, i
		// Days of the streak beyond the new tier start the next one. They
		// cannot have held HoldDays days: one of the last HoldDays days is
		// in the new tier.
		if s := sideOf(raw[i], p.tier); s != 0 {
			k := 0
			p.pendingTier = raw[i]
			for j := i; j >= 0 && sideOf(raw[j], p.tier) == s; j-- {
				k++
				if s > 0 {
					p.pendingTier = min(p.pendingTier, raw[j])
				} else {
					p.pendingTier = max(p.pendingTier, raw[j])
				}
			}
			p.pendingDays = k
		}
	}
	return p
}

// sideOf returns +1 when tier raw is worse than cur, -1 when better, 0 when
// equal or when raw is -1 (no median that day).
func sideOf(raw, cur int) int {
	switch {
	case raw < 0 || raw == cur:
		return 0
	case raw > cur:
		return 1
	}
	return -1
}
