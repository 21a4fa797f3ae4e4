package pools

import (
	"slices"

	"github.com/sgseq/sgseq/client"
)

// Outlier is an underperforming sender: a subuser whose score is at least
// Config.OutlierGap below the median score of a pool it shares with other
// scored subusers.
type Outlier struct {
	// Username is the subuser.
	Username string `json:"username"`
	// Pool is the shared pool.
	Pool string `json:"pool"`
	// Score is the subuser's score on Date.
	Score float64 `json:"score"`
	// PoolMedian is the median score of the pool's scored members on Date,
	// the subuser included.
	PoolMedian float64 `json:"pool_median"`
	// Members is the number of scored members of the pool on Date.
	Members int `json:"members"`
	// Date is the as-of day of the plan.
	Date client.Date `json:"date"`
	// Since is the first day of the run of consecutive days, ending at
	// Date, on which the subuser was an outlier in Pool.
	Since client.Date `json:"since"`
	// Metrics are the subuser's metrics on Date, when known.
	Metrics *client.Metrics `json:"metrics,omitempty"`
}

// outlierFinder compares subusers with the median of their pools day by
// day, memoising pool medians.
type outlierFinder struct {
	cfg     Config
	series  map[string]series
	members map[string][]string // pool -> sorted member usernames
	memo    map[poolDay]poolMedian
}

type poolDay struct {
	pool string
	day  int
}

type poolMedian struct {
	median float64
	n      int
}

func newOutlierFinder(cfg Config, st *State, ser map[string]series) *outlierFinder {
	f := &outlierFinder{cfg: cfg, series: ser, members: map[string][]string{}, memo: map[poolDay]poolMedian{}}
	for u, ps := range st.Subusers {
		for _, p := range ps {
			f.members[p] = append(f.members[p], u)
		}
	}
	for _, m := range f.members {
		slices.Sort(m)
	}
	return f
}

// poolMedian returns the median score of pool's members scored on day i.
func (f *outlierFinder) poolMedian(pool string, i int) poolMedian {
	k := poolDay{pool, i}
	if m, ok := f.memo[k]; ok {
		return m
	}
	var vs []float64
	for _, u := range f.members[pool] {
		if s, ok := f.series[u]; ok && s.days[i].Score != nil {
			vs = append(vs, *s.days[i].Score)
		}
	}
	med, _ := median(vs)
	m := poolMedian{median: med, n: len(vs)}
	f.memo[k] = m
	return m
}

// check reports whether u is an outlier in pool on day i.
func (f *outlierFinder) check(u, pool string, i int) (score float64, pm poolMedian, ok bool) {
	s, has := f.series[u]
	if !has || s.days[i].Score == nil {
		return 0, pm, false
	}
	score = *s.days[i].Score
	pm = f.poolMedian(pool, i)
	if pm.n < f.cfg.OutlierMinMembers {
		return score, pm, false
	}
	return score, pm, pm.median-score >= f.cfg.OutlierGap-eps
}

// find returns, for each subuser that is an outlier on day last in at
// least one of its pools, the outlier in the pool where its gap is the
// largest (ties: the first pool by name), sorted by username.
func (f *outlierFinder) find(last int) []Outlier {
	best := map[string]Outlier{}
	pools := make([]string, 0, len(f.members))
	for p := range f.members {
		pools = append(pools, p)
	}
	slices.Sort(pools)
	for _, p := range pools {
		for _, u := range f.members[p] {
			score, pm, ok := f.check(u, p, last)
			if !ok {
				continue
			}
			since := last
			for since > 0 {
				if _, _, ok := f.check(u, p, since-1); !ok {
					break
				}
				since--
			}
			s := f.series[u]
			o := Outlier{Username: u, Pool: p, Score: score, PoolMedian: pm.median, Members: pm.n,
				Date: s.dates[last], Since: s.dates[since]}
			if m := s.days[last].Metrics; m != nil {
				mc := *m
				o.Metrics = &mc
			}
			if prev, seen := best[u]; !seen || o.PoolMedian-o.Score > prev.PoolMedian-prev.Score+eps {
				best[u] = o
			}
		}
	}
	out := make([]Outlier, 0, len(best))
	for _, o := range best {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Outlier) int {
		if a.Username < b.Username {
			return -1
		}
		if a.Username > b.Username {
			return 1
		}
		return 0
	})
	return out
}
