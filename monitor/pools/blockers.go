package pools

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
)

// PlanTier is one tier of a [Plan] with the state of its pool in the
// account when the plan was made. Its JSON form adds pool_exists and
// pool_ips to the tier's name, min_score and pool.
type PlanTier struct {
	Tier
	// PoolExists reports whether the account has the tier's pool.
	PoolExists bool `json:"pool_exists"`
	// PoolIPs is the number of IPs in the tier's pool; 0 when it does not
	// exist.
	PoolIPs int `json:"pool_ips"`
}

// Problems of a [Blocker].
const (
	// ProblemNoPool: the account has no pool of that name.
	ProblemNoPool = "no_pool"
	// ProblemNoIPs: the pool exists but holds no IP, so no subuser can
	// send through it.
	ProblemNoIPs = "no_ips"
)

// Blocker is a target pool of a plan's moves that stops "sgseq pools
// apply": the account lacks it, or it has no IP. Apply refuses a plan with
// blockers before its first call.
type Blocker struct {
	// Pool is the target pool and Tier the tier whose pool it is.
	Pool string `json:"pool"`
	Tier string `json:"tier"`
	// Problem is ProblemNoPool or ProblemNoIPs.
	Problem string `json:"problem"`
	// Moves is the number of the plan's moves into Pool.
	Moves int `json:"moves"`
}

// String describes the blocker: "pool high-reputation (tier high) does
// not exist; 3 moves wait for it".
func (b Blocker) String() string {
	what := "does not exist"
	if b.Problem == ProblemNoIPs {
		what = "has no IPs"
	}
	return fmt.Sprintf("pool %s (tier %s) %s; %d move%s wait%s for it", b.Pool, b.Tier, what, b.Moves, plural(b.Moves), pluralVerb(b.Moves))
}

// PoolRank is one of the account's pools with the current median scores
// of the subusers sending through it, as ranked for a suggested mapping of
// the tiers (see [Plan.SuggestedTiers]).
type PoolRank struct {
	// Pool is the pool and IPs the number of its IPs.
	Pool string `json:"pool"`
	IPs  int    `json:"ips"`
	// Senders is the number of subusers sending through Pool that have a
	// current median score.
	Senders int `json:"senders"`
	// MedianScore is the median of their current median scores; null when
	// none has one.
	MedianScore *float64 `json:"median_score"`
	// Tier is the tier the suggestion maps onto Pool; "" when none.
	Tier string `json:"tier"`
}

// tierStates returns the tiers with the state of their pools in st.
func tierStates(tiers []Tier, st *State) []PlanTier {
	out := make([]PlanTier, len(tiers))
	for i, t := range tiers {
		ips, ok := st.Pools[t.Pool]
		out[i] = PlanTier{Tier: t, PoolExists: ok, PoolIPs: len(ips)}
	}
	return out
}

// blockers returns the target pools of the moves in subs that are missing
// from st or hold no IP, in the order of tiers (then by name, for a
// target pool that is no tier's pool).
func blockers(tiers []Tier, st *State, subs []SubuserPlan) []Blocker {
	moves := map[string]int{}
	for _, s := range subs {
		if s.Move {
			moves[s.TargetPool]++
		}
	}
	tierOf := func(pool string) (int, string) {
		for i, t := range tiers {
			if t.Pool == pool {
				return i, t.Name
			}
		}
		return len(tiers), ""
	}
	out := []Blocker{}
	for pool, n := range moves {
		b := Blocker{Pool: pool, Moves: n}
		_, b.Tier = tierOf(pool)
		switch ips, ok := st.Pools[pool]; {
		case !ok:
			b.Problem = ProblemNoPool
		case len(ips) == 0:
			b.Problem = ProblemNoIPs
		default:
			continue
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Blocker) int {
		ia, _ := tierOf(a.Pool)
		ib, _ := tierOf(b.Pool)
		return cmp.Or(cmp.Compare(ia, ib), strings.Compare(a.Pool, b.Pool))
	})
	return out
}

// noTierPool reports whether none of the tiers' pools exists in st.
func noTierPool(tiers []Tier, st *State) bool {
	for _, t := range tiers {
		if _, ok := st.Pools[t.Pool]; ok {
			return false
		}
	}
	return true
}

// suggestTiers maps tiers onto the account's own pools. It ranks the
// pools of st that hold IPs by the median of the current median scores of
// the subusers in subs sending through them (best first; ties: more
// senders, then by name), keeps one pool per distinct median (the one with
// the most senders) and, when there are more such pools than tiers, the
// len(tiers) pools with the most senders. The k-th best of those becomes
// the pool of the k-th tier (with fewer pools than tiers, the first tiers
// and the last one are kept), and each min_score lies halfway between the
// medians of consecutive pools, so that every pool's senders fall in its
// tier. It returns the ranking of every pool with IPs, and nil suggested
// tiers when fewer than two pools have scored senders.
func suggestTiers(tiers []Tier, st *State, subs []SubuserPlan) ([]Tier, []PoolRank) {
	medians := map[string][]float64{}
	for _, s := range subs {
		if s.MedianScore == nil {
			continue
		}
		for _, p := range s.CurrentPools {
			medians[p] = append(medians[p], *s.MedianScore)
		}
	}
	ranks := []PoolRank{}
	for pool, ips := range st.Pools {
		if len(ips) == 0 {
			continue
		}
		r := PoolRank{Pool: pool, IPs: len(ips), Senders: len(medians[pool])}
		if m, ok := median(medians[pool]); ok {
			r.MedianScore = client.Float(m)
		}
		ranks = append(ranks, r)
	}
	slices.SortFunc(ranks, func(a, b PoolRank) int {
		switch {
		case a.MedianScore == nil && b.MedianScore != nil:
			return 1
		case a.MedianScore != nil && b.MedianScore == nil:
			return -1
		case a.MedianScore != nil && *a.MedianScore != *b.MedianScore:
			return cmp.Compare(*b.MedianScore, *a.MedianScore)
		}
		return cmp.Or(cmp.Compare(b.Senders, a.Senders), strings.Compare(a.Pool, b.Pool))
	})

	// One pool per distinct median, the one with the most senders (the
	// first of its median in rank order).
	var cands []int // indices into ranks
	for i, r := range ranks {
		if r.MedianScore == nil {
			break
		}
		if len(cands) > 0 && *ranks[cands[len(cands)-1]].MedianScore == *r.MedianScore {
			continue
		}
		cands = append(cands, i)
	}
	if len(cands) > len(tiers) {
		bySenders := slices.Clone(cands)
		slices.SortStableFunc(bySenders, func(a, b int) int { return cmp.Compare(ranks[b].Senders, ranks[a].Senders) })
		cands = bySenders[:len(tiers)]
		slices.Sort(cands)
	}
	if len(cands) < 2 {
		return nil, ranks
	}
	names := make([]string, 0, len(cands))
	for i := range len(cands) - 1 {
		names = append(names, tiers[i].Name)
	}
	names = append(names, tiers[len(tiers)-1].Name)
	out := make([]Tier, len(cands))
	for k, i := range cands {
		r := ranks[i]
		t := Tier{Name: names[k], Pool: r.Pool}
		if k < len(cands)-1 {
			t.MinScore = round2((*r.MedianScore + *ranks[cands[k+1]].MedianScore) / 2)
		} else {
			t.MinScore = min(tiers[len(tiers)-1].MinScore, *r.MedianScore)
		}
		out[k] = t
		ranks[i].Tier = t.Name
	}
	if (Config{Tiers: out, WindowDays: 1, HoldDays: 1, OutlierGap: 1, OutlierMinMembers: 2, MinScoredDays: 1}).Validate() != nil {
		// Medians too close to be told apart at two decimals.
		for _, i := range cands {
			ranks[i].Tier = ""
		}
		return nil, ranks
	}
	return out, ranks
}

// TiersYAML formats tiers as the "pools:" section of a monitor config.
func TiersYAML(tiers []Tier) string {
	var b strings.Builder
	b.WriteString("pools:\n  tiers:\n")
	for _, t := range tiers {
		fmt.Fprintf(&b, "    - {name: %s, min_score: %s, pool: %s}\n", yamlString(t.Name), fmtScore(t.MinScore), yamlString(t.Pool))
	}
	return b.String()
}

// yamlString returns s as a YAML flow scalar: plain when it is made of
// letters, digits and "-_." only, double-quoted otherwise.
func yamlString(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			plain = false
			break
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~":
		plain = false
	}
	if plain {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			plain = false
		}
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}

func pluralVerb(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}
