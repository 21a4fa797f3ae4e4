package pools

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// PlanVersion is the version of the plan JSON format written by this
// package; [Plan.Check] refuses other versions.
const PlanVersion = 1

// Flags set on a [SubuserPlan].
const (
	// FlagIneligible: no score on the subuser's latest stored day, or none
	// in the window. The subuser stays where it is.
	FlagIneligible = "ineligible"
	// FlagTooNew: fewer than Config.MinScoredDays scored days stored. The
	// subuser stays where it is.
	FlagTooNew = "too_new"
	// FlagNoPool: the subuser has no IP in any pool. It is not moved.
	FlagNoPool = "no_pool"
	// FlagMultiplePools: the subuser's IPs are in more than one pool. It is
	// not moved.
	FlagMultiplePools = "multiple_pools"
	// FlagOutlier: the subuser is an underperforming sender in a pool it
	// shares (see [Outlier]). The flag does not stop a move.
	FlagOutlier = "outlier"
)

// lowMetric is the metric value at or below which a metric is always
// listed as weak.
const lowMetric = 2

// weakMetrics returns the metrics of m that pull score down: those below
// score, and those at or below lowMetric, lowest first (ties in the
// documented order of client.AllMetrics).
func weakMetrics(m client.Metrics, score float64) []MetricValue {
	out := []MetricValue{}
	for _, metric := range client.AllMetrics {
		if v, _ := m.Get(metric); v < score-eps || v <= lowMetric+eps {
			out = append(out, MetricValue{Metric: metric, Value: v})
		}
	}
	slices.SortStableFunc(out, func(a, b MetricValue) int {
		switch {
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	return out
}

// metricList formats metric values as "spam_rate 1, open_rate 3".
func metricList(vs []MetricValue) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s %s", v.Metric, fmtScore(v.Value))
	}
	return strings.Join(parts, ", ")
}

// Plan is a proposed grouping of subusers in IP pools. Its JSON form is the
// documented, stable output of "sgseq pools plan -o json" and the input of
// "sgseq pools apply": fields may be added, never renamed.
type Plan struct {
	// Version is PlanVersion.
	Version int `json:"version"`
	// GeneratedAt is when the plan was made.
	GeneratedAt time.Time `json:"generated_at"`
	// AsOf is the last day of history the plan considers.
	AsOf client.Date `json:"as_of"`
	// WindowDays, HoldDays and MinScoredDays are the settings the plan was
	// made with.
	WindowDays    int `json:"window_days"`
	HoldDays      int `json:"hold_days"`
	MinScoredDays int `json:"min_scored_days"`
	// Tiers are the configured tiers, best first, with the state of their
	// pools in the account.
	Tiers []PlanTier `json:"tiers"`
	// Subusers holds one entry per subuser, sorted by username.
	Subusers []SubuserPlan `json:"subusers"`
	// Summary holds one entry per tier, in the order of Tiers.
	Summary []TierSummary `json:"summary"`
	// Outliers lists the underperforming senders on AsOf.
	Outliers []Outlier `json:"outliers"`
	// StateFingerprint identifies the pool layout the plan was made from
	// (see [State.Fingerprint]).
	StateFingerprint string `json:"state_fingerprint"`
	// Blockers are the target pools of the moves that the account lacks
	// or that hold no IP: "sgseq pools apply" refuses the plan while there
	// is any. [] for none.
	Blockers []Blocker `json:"blockers"`
	// SuggestedTiers and PoolRanking are set only when none of the tiers'
	// pools exists in the account. PoolRanking lists the account's pools
	// that hold IPs, ranked by the median of their senders' current median
	// scores; SuggestedTiers maps the tiers, best first, onto the best
	// ranked of them (one pool per distinct median, the pools with the
	// most senders when there are more than tiers), each min_score halfway
	// between the medians of consecutive pools. nil when fewer than two
	// pools have scored senders.
	SuggestedTiers []Tier     `json:"suggested_tiers,omitempty"`
	PoolRanking    []PoolRank `json:"pool_ranking,omitempty"`
}

// NoTierPool reports whether none of the plan's tiers' pools existed in
// the account when the plan was made.
func (p *Plan) NoTierPool() bool {
	for _, t := range p.Tiers {
		if t.PoolExists {
			return false
		}
	}
	return len(p.Tiers) > 0
}

// ConfigTiers returns the plan's tiers without their pools' state.
func (p *Plan) ConfigTiers() []Tier {
	out := make([]Tier, len(p.Tiers))
	for i, t := range p.Tiers {
		out[i] = t.Tier
	}
	return out
}

// SubuserPlan is the proposal for one subuser.
type SubuserPlan struct {
	// Username is the subuser.
	Username string `json:"username"`
	// CurrentPools are the pools its IPs are in now, sorted; [] for none.
	CurrentPools []string `json:"current_pools"`
	// MedianScore is the median of its scored days in the trailing window
	// ending at AsOf; null when it has none.
	MedianScore *float64 `json:"median_score"`
	// Tier is the tier its score history places it in (after hysteresis);
	// "" when it is too new to be placed.
	Tier string `json:"tier"`
	// TargetPool is the pool it should send through: the tier's pool, or
	// its current pool when it stays where it is; "" when it has no single
	// current pool and is not moved.
	TargetPool string `json:"target_pool"`
	// Move is true when apply should assign it TargetPool's IPs.
	Move bool `json:"move"`
	// Reason explains the proposal in one line.
	Reason string `json:"reason"`
	// Flags are FlagIneligible, FlagTooNew, FlagNoPool,
	// FlagMultiplePools and FlagOutlier; [] for none.
	Flags []string `json:"flags"`

	// CurrentTier is the tier whose pool is its only current pool; "" when
	// its current pool is not a tier's pool.
	CurrentTier string `json:"current_tier"`
	// LatestScore is its score on its latest stored day; null when that
	// day was not scored.
	LatestScore *float64 `json:"latest_score"`
	// Trend is the least-squares slope of the window's scores, in points
	// per day; null with fewer than two scored days.
	Trend *float64 `json:"trend"`
	// ScoredDays is the number of scored days in the window.
	ScoredDays int `json:"scored_days"`
	// TierSince is the first day of the streak that put it in Tier.
	TierSince client.Date `json:"tier_since,omitzero"`
	// DaysHeld is the number of days from TierSince to AsOf, inclusive.
	DaysHeld int `json:"days_held"`
	// WeakMetrics are the window's metric medians that pull the score
	// down: those below MedianScore and those at or below 2, lowest first.
	WeakMetrics []MetricValue `json:"weak_metrics"`
}

// MetricValue is one metric's value.
type MetricValue struct {
	Metric client.Metric `json:"metric"`
	Value  float64       `json:"value"`
}

// TierSummary counts one tier's subusers once the plan is applied.
type TierSummary struct {
	// Tier and Pool name the tier and its pool.
	Tier string `json:"tier"`
	Pool string `json:"pool"`
	// Subusers is the number of subusers whose target pool is Pool.
	Subusers int `json:"subusers"`
	// MovesIn and MovesOut count the moves into and out of Pool.
	MovesIn  int `json:"moves_in"`
	MovesOut int `json:"moves_out"`
	// MedianScore is the median of those subusers' median scores; null
	// when none has one.
	MedianScore *float64 `json:"median_score"`
}

// WriteJSON writes the plan as indented JSON (the "sgseq pools plan -o
// json" format), without HTML escaping.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("pools: write plan: %w", err)
	}
	return nil
}

// Moves returns the subusers the plan moves, in plan order.
func (p *Plan) Moves() []SubuserPlan {
	var out []SubuserPlan
	for _, s := range p.Subusers {
		if s.Move {
			out = append(out, s)
		}
	}
	return out
}

// Subuser returns the entry of username, and false when there is none.
func (p *Plan) Subuser(username string) (SubuserPlan, bool) {
	for _, s := range p.Subusers {
		if s.Username == username {
			return s, true
		}
	}
	return SubuserPlan{}, false
}

// TierChanges returns the plan's moves between two tiers (a subuser whose
// current pool is a tier's pool and whose tier is another one), for the
// monitor's digest. Moves out of pools that belong to no tier are not tier
// changes and are left out.
func (p *Plan) TierChanges() []alert.TierChange {
	var out []alert.TierChange
	for _, s := range p.Subusers {
		if !s.Move || s.CurrentTier == "" || s.CurrentTier == s.Tier {
			continue
		}
		out = append(out, alert.TierChange{
			Username: s.Username, FromTier: s.CurrentTier, ToTier: s.Tier,
			FromPool: s.CurrentPools[0], ToPool: s.TargetPool, Reason: s.Reason,
		})
	}
	return out
}

// NewPlan computes the plan as of asOf from the current pool layout st and
// the stored history of each subuser (keyed by username; the parent
// account, alert.ParentAccount, is ignored). It is a pure function of its
// arguments: now only fills GeneratedAt. The subusers are those of st and
// those with history. It returns an error only for an invalid cfg or a
// zero asOf.
func NewPlan(cfg Config, st *State, history map[string][]Day, asOf client.Date, now time.Time) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pools: invalid config: %w", err)
	}
	if asOf.IsZero() {
		return nil, errors.New("pools: plan: no as-of date")
	}
	if st == nil {
		st = NewState(nil, nil)
	}
	users := map[string]bool{}
	for u := range st.Subusers {
		users[u] = true
	}
	for u := range history {
		users[u] = true
	}
	delete(users, alert.ParentAccount)
	delete(users, "")
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)

	ser := make(map[string]series, len(names))
	dates := replayDates(asOf, ReplayDays)
	for _, u := range names {
		ser[u] = newSeriesOver(history[u], dates)
	}
	last := ReplayDays - 1
	outliers := newOutlierFinder(cfg, st, ser).find(last)
	outlierOf := map[string]Outlier{}
	for _, o := range outliers {
		outlierOf[o.Username] = o
	}

	p := &Plan{
		Version: PlanVersion, GeneratedAt: now.UTC(), AsOf: asOf,
		WindowDays: cfg.WindowDays, HoldDays: cfg.HoldDays, MinScoredDays: cfg.MinScoredDays,
		Tiers: tierStates(cfg.Tiers, st), Subusers: make([]SubuserPlan, 0, len(names)),
		Outliers: outliers, StateFingerprint: st.Fingerprint(),
	}
	if p.Outliers == nil {
		p.Outliers = []Outlier{}
	}
	for _, u := range names {
		o, isOutlier := outlierOf[u]
		var op *Outlier
		if isOutlier {
			op = &o
		}
		p.Subusers = append(p.Subusers, planSubuser(cfg, u, st.PoolsOf(u), ser[u], op))
	}
	p.Summary = summarize(cfg, p.Subusers)
	p.Blockers = blockers(cfg.Tiers, st, p.Subusers)
	if noTierPool(cfg.Tiers, st) {
		p.SuggestedTiers, p.PoolRanking = suggestTiers(cfg.Tiers, st, p.Subusers)
	}
	return p, nil
}

// planSubuser makes the proposal for one subuser.
func planSubuser(cfg Config, u string, cur []string, s series, out *Outlier) SubuserPlan {
	last := s.last()
	w := s.window(last, cfg.WindowDays)
	sp := SubuserPlan{Username: u, CurrentPools: cur, Flags: []string{}, WeakMetrics: []MetricValue{}, ScoredDays: w.scored}
	if w.scored > 0 {
		sp.MedianScore = client.Float(w.median)
	}
	if w.scored >= 2 {
		sp.Trend = client.Float(round2(w.trend))
	}
	latest := -1
	for i := last; i >= 0; i-- {
		if s.present[i] {
			latest = i
			break
		}
	}
	if latest >= 0 && s.days[latest].Score != nil {
		sp.LatestScore = client.Float(*s.days[latest].Score)
	}
	if m, ok := s.metricMedians(last, cfg.WindowDays); ok && w.scored > 0 {
		sp.WeakMetrics = weakMetrics(m, w.median)
	}
	if len(cur) == 1 {
		if i := cfg.poolTier(cur[0]); i >= 0 {
			sp.CurrentTier = cfg.Tiers[i].Name
		}
	}

	total := s.scored()
	tooNew := total < cfg.MinScoredDays
	ineligible := !tooNew && (w.scored == 0 || latest < 0 || s.days[latest].Score == nil)
	curTier := -1
	if len(cur) == 1 {
		curTier = cfg.poolTier(cur[0])
	}
	var d decision
	if !tooNew {
		d = decide(cfg, s, curTier)
		if d.tier >= 0 {
			sp.Tier = cfg.Tiers[d.tier].Name
		}
		if d.since >= 0 {
			sp.TierSince = s.dates[d.since]
			sp.DaysHeld = last - d.since + 1
		}
	}
	switch {
	case tooNew:
		sp.Flags = append(sp.Flags, FlagTooNew)
	case ineligible:
		sp.Flags = append(sp.Flags, FlagIneligible)
	}
	switch {
	case len(cur) == 0:
		sp.Flags = append(sp.Flags, FlagNoPool)
	case len(cur) > 1:
		sp.Flags = append(sp.Flags, FlagMultiplePools)
	}
	if out != nil {
		sp.Flags = append(sp.Flags, FlagOutlier)
	}

	stay := tooNew || ineligible || len(cur) != 1 || d.tier < 0
	if stay {
		if len(cur) == 1 {
			sp.TargetPool = cur[0]
		}
	} else {
		sp.TargetPool = cfg.Tiers[d.tier].Pool
		sp.Move = sp.TargetPool != cur[0]
	}

	// Reason.
	var r []string
	where := "stays where it is"
	if len(cur) == 1 {
		where = "stays in pool " + cur[0]
	}
	switch {
	case tooNew && total == 0:
		r = append(r, fmt.Sprintf("too new: no score stored in the last %d days (needs %d scored days); %s",
			ReplayDays, cfg.MinScoredDays, where))
	case tooNew:
		r = append(r, fmt.Sprintf("too new: %d scored day%s in the last %d (needs %d); %s",
			total, plural(total), ReplayDays, cfg.MinScoredDays, where))
	case ineligible:
		if w.scored == 0 {
			r = append(r, fmt.Sprintf("ineligible: no score in the last %d days; %s", cfg.WindowDays, where))
		} else {
			r = append(r, fmt.Sprintf("ineligible: no score on %s (open tracking off or under 1,000 messages in 30 days); %s",
				s.dates[latest], where))
		}
	default:
		r = append(r, decisionReason(cfg, sp, d, s.dates))
		switch {
		case len(cur) == 0:
			r = append(r, fmt.Sprintf("sends through no IP pool; not moved (tier pool %s)", cfg.Tiers[d.tier].Pool))
		case len(cur) > 1:
			r = append(r, fmt.Sprintf("sends through %d pools (%s); not moved (tier pool %s)",
				len(cur), strings.Join(cur, ", "), cfg.Tiers[d.tier].Pool))
		case sp.Move && sp.CurrentTier == "":
			r = append(r, fmt.Sprintf("move from pool %s, which is no tier's pool, to the tier of its current median "+
				"(hysteresis only delays leaving a tier's pool)", cur[0]))
		case sp.Move:
			r = append(r, fmt.Sprintf("move from pool %s (tier %s)", cur[0], sp.CurrentTier))
		}
	}
	if len(sp.WeakMetrics) > 0 && !tooNew {
		r = append(r, "weak metrics: "+metricList(sp.WeakMetrics))
	}
	if out != nil {
		r = append(r, fmt.Sprintf("underperforming sender in pool %s: score %s vs pool median %s since %s",
			out.Pool, fmtScore(out.Score), fmtScore(out.PoolMedian), out.Since))
	}
	sp.Reason = strings.Join(r, "; ")
	return sp
}

// decisionReason explains a placed, eligible subuser's tier: its median
// and trend, the tier with its range and since when the median has been
// in it, and which case of [decide] applied.
func decisionReason(cfg Config, sp SubuserPlan, d decision, dates []client.Date) string {
	var b strings.Builder
	if sp.MedianScore != nil {
		fmt.Fprintf(&b, "median %s over %d days", fmtScore(*sp.MedianScore), cfg.WindowDays)
		if sp.ScoredDays < cfg.WindowDays {
			fmt.Fprintf(&b, " (%d scored)", sp.ScoredDays)
		}
	}
	if sp.Trend != nil && math.Abs(*sp.Trend) >= 0.005 {
		fmt.Fprintf(&b, ", trend %+.2f/day", *sp.Trend)
	}
	fmt.Fprintf(&b, "; tier %s (%s)", sp.Tier, tierRange(cfg, d.tier))
	if d.since >= 0 {
		fmt.Fprintf(&b, " for %d day%s (since %s)", sp.DaysHeld, plural(sp.DaysHeld), sp.TierSince)
	}
	switch d.kind {
	case caseHeld:
		fmt.Fprintf(&b, ", the tier of its pool; median in tier %s for %d of %d days needed: hysteresis keeps it in its pool until then",
			cfg.Tiers[d.raw].Name, d.streak, cfg.HoldDays)
	case caseBlocked:
		fmt.Fprintf(&b, ", the tier of its pool; median in tier %s for %d days but not promoted while the score falls (trend below %+.1f/day)",
			cfg.Tiers[d.raw].Name, d.streak, promoteMinTrend)
	case caseChanged:
		dir, ref := "went below", cfg.Tiers[d.cur].MinScore
		if d.raw < d.cur {
			dir, ref = "reached", cfg.Tiers[d.cur-1].MinScore
		}
		fmt.Fprintf(&b, ", the tier its current median falls in; changed tier: its median %s %s, out of tier %s of its pool, on %s and stayed out %d day%s (%d required)",
			dir, fmtScore(ref), cfg.Tiers[d.cur].Name, dates[d.streakStart], d.streak, plural(d.streak), cfg.HoldDays)
	}
	return b.String()
}

// tierRange describes the median scores of tier i: "≥4" for the first
// tier, "3–4" for a middle one, "<3" for the last (which takes every score
// below the tier above it).
func tierRange(cfg Config, i int) string {
	t := cfg.Tiers[i]
	switch {
	case len(cfg.Tiers) == 1:
		return "any score"
	case i == 0:
		return "≥" + fmtScore(t.MinScore)
	case i == len(cfg.Tiers)-1:
		return "<" + fmtScore(cfg.Tiers[i-1].MinScore)
	}
	return fmtScore(t.MinScore) + "–" + fmtScore(cfg.Tiers[i-1].MinScore)
}

// summarize counts each tier's subusers and moves.
func summarize(cfg Config, subs []SubuserPlan) []TierSummary {
	out := make([]TierSummary, len(cfg.Tiers))
	meds := make([][]float64, len(cfg.Tiers))
	for i, t := range cfg.Tiers {
		out[i] = TierSummary{Tier: t.Name, Pool: t.Pool}
	}
	for _, s := range subs {
		if i := cfg.poolTier(s.TargetPool); i >= 0 {
			out[i].Subusers++
			if s.MedianScore != nil {
				meds[i] = append(meds[i], *s.MedianScore)
			}
			if s.Move {
				out[i].MovesIn++
			}
		}
		if s.Move && len(s.CurrentPools) == 1 {
			if i := cfg.poolTier(s.CurrentPools[0]); i >= 0 {
				out[i].MovesOut++
			}
		}
	}
	for i := range out {
		if m, ok := median(meds[i]); ok {
			out[i].MedianScore = client.Float(m)
		}
	}
	return out
}

// poolTier returns the index of the tier whose pool is pool, or -1.
func (c Config) poolTier(pool string) int {
	for i, t := range c.Tiers {
		if t.Pool == pool {
			return i
		}
	}
	return -1
}

// fmtScore formats a score with at most two decimals: 4, 3.5, 2.33.
func fmtScore(v float64) string {
	return strconv.FormatFloat(round2(v), 'f', -1, 64)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
