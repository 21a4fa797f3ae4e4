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

// How [decide] placed a subuser.
const (
	// caseNoTierPool: its pool is no tier's pool (or it has none or
	// several): it belongs in the tier of its current median.
	caseNoTierPool = iota
	// caseInTier: its current median is in the tier of its pool.
	caseInTier
	// caseHeld: its median has left the tier of its pool for fewer than
	// HoldDays days: hysteresis keeps it there.
	caseHeld
	// caseBlocked: its median has been in a better tier for HoldDays days,
	// but its score is falling: it is not promoted.
	caseBlocked
	// caseChanged: its median has been out of the tier of its pool, on the
	// same side, for HoldDays days: it moves to the tier of its current
	// median.
	caseChanged
)

// decision is where a subuser belongs on the last day of its series.
type decision struct {
	kind int // caseNoTierPool … caseChanged
	// tier is the tier it belongs in (an index into Config.Tiers), -1 when
	// it has no current median and no tier pool.
	tier int
	// raw is the tier of its current median, -1 when it has none; cur the
	// tier of its pool, -1 when its pool is no tier's pool.
	raw, cur int
	// streak is the number of days, ending on the last day, its median has
	// been on the same side of cur (caseHeld, caseBlocked, caseChanged);
	// streakStart the index of the first of them.
	streak, streakStart int
	// since is the index of the first day of the run during which its
	// median has been in tier (short excursions that did not hold
	// included), -1 when there is none in the series.
	since int
	// trend is the trend of its window on the last day.
	trend float64
}

// decide places a subuser whose pool is the pool of tier cur (-1: no
// tier's pool, or no single pool) on the last day of s.
//
// Hysteresis only delays leaving the tier of its current pool: a subuser
// in tier cur's pool stays there until its daily median has been on the
// same side of cur (all better or all worse) for cfg.HoldDays consecutive
// days, a day without a median breaking the streak; it then belongs in the
// tier its current median falls in. A promotion (to a better tier) also
// needs a trend of at least promoteMinTrend on the last day. A subuser
// outside every tier's pool belongs in the tier of its current median
// straight away. So a move always targets the tier whose range holds the
// subuser's current median.
func decide(cfg Config, s series, cur int) decision {
	n := len(s.days)
	raw := make([]int, n) // tier of each day's median; -1 when none
	var sc windowScratch
	var last window
	for i := range n {
		w := s.windowWith(&sc, i, cfg.WindowDays)
		raw[i] = -1
		if w.scored > 0 {
			raw[i] = cfg.tierFor(w.median)
		}
		last = w
	}
	d := decision{raw: -1, cur: cur, tier: -1, since: -1, streakStart: -1, trend: last.trend}
	if n == 0 {
		return d
	}
	d.raw = raw[n-1]
	switch {
	case cur < 0:
		d.kind, d.tier = caseNoTierPool, d.raw
	case d.raw < 0 || d.raw == cur:
		d.kind, d.tier = caseInTier, cur
	default:
		side := sideOf(d.raw, cur)
		for j := n - 1; j >= 0 && sideOf(raw[j], cur) == side; j-- {
			d.streak++
		}
		d.streakStart = n - d.streak
		switch {
		case d.streak < cfg.HoldDays:
			d.kind, d.tier = caseHeld, cur
		case side < 0 && last.trend < promoteMinTrend-eps:
			d.kind, d.tier = caseBlocked, cur
		default:
			d.kind, d.tier = caseChanged, d.raw
		}
	}
	if d.tier >= 0 {
		skip := 0
		if d.kind == caseBlocked {
			skip = d.streak
		}
		d.since = heldSince(raw[:n-skip], d.tier, cfg.HoldDays)
	}
	return d
}

// heldSince returns the index of the first day of the run, ending at the
// end of raw, during which the daily median has been in tier: going back
// from the end, the run takes the days in tier and the excursions out of
// it that did not hold (fewer than hold consecutive days on one side, or
// days without a median), and ends at the first excursion that held. It
// returns -1 when no day of that run is in tier.
func heldSince(raw []int, tier, hold int) int {
	since := -1
	side, k := 0, 0 // the current excursion: its side and length
	for j := len(raw) - 1; j >= 0; j-- {
		sd := sideOf(raw[j], tier)
		switch {
		case raw[j] == tier:
			since, side, k = j, 0, 0
			continue
		case sd == 0: // no median: neutral, breaks a streak
			side, k = 0, 0
			continue
		case sd == side:
			k++
		default:
			side, k = sd, 1
		}
		if k >= hold {
			break
		}
	}
	return since
}

// sideOf returns +1 when tier raw is worse than cur, -1 when better, 0 when
// equal or when raw or cur is -1 (no median that day, no tier).
func sideOf(raw, cur int) int {
	switch {
	case raw < 0 || cur < 0 || raw == cur:
		return 0
	case raw > cur:
		return 1
	}
	return -1
}
