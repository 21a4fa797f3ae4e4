package pools

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
)

var asOf = client.MustParseDate("2026-11-24")

// na marks an ineligible day in hist.
var na = math.NaN()

// hist returns a history ending at asOf with one day per score (oldest
// first); na gives an ineligible day. Metrics are all equal to the score.
func hist(scores ...float64) []Day {
	h := make([]Day, len(scores))
	start := asOf.AddDays(-(len(scores) - 1))
	for i, v := range scores {
		h[i].Date = start.AddDays(i)
		if !math.IsNaN(v) {
			h[i].Score = client.Float(v)
			h[i].Metrics = &client.Metrics{EngagementRecency: v, OpenRate: v, BounceClassification: v, BounceRate: v, SpamRate: v}
		}
	}
	return h
}

// rep returns n copies of v.
func rep(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// cat concatenates score runs.
func cat(runs ...[]float64) []float64 {
	var out []float64
	for _, r := range runs {
		out = append(out, r...)
	}
	return out
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want float64
		ok   bool
	}{
		{"empty", nil, 0, false},
		{"one", []float64{3}, 3, true},
		{"odd", []float64{5, 1, 3}, 3, true},
		{"even", []float64{4, 1, 3, 5}, 3.5, true},
		{"ties", []float64{4, 4, 4, 2}, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := append([]float64(nil), tt.in...)
			got, ok := median(in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("median(%v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("median modified its input: %v", in)
				}
			}
		})
	}
}

func TestSlope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		xs, ys []float64
		want   float64
	}{
		{"none", nil, nil, 0},
		{"one point", []float64{1}, []float64{4}, 0},
		{"flat", []float64{0, 1, 2}, []float64{4, 4, 4}, 0},
		{"rising", []float64{0, 1, 2, 3}, []float64{1, 2, 3, 4}, 1},
		{"falling with gap", []float64{0, 2, 4}, []float64{5, 4, 3}, -0.5},
		{"last day drop", []float64{0, 1, 2, 3, 4, 5, 6}, []float64{5, 5, 5, 5, 5, 5, 4}, -3.0 / 28},
		{"same x", []float64{2, 2}, []float64{1, 5}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := slope(tt.xs, tt.ys); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("slope = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSeriesWindow(t *testing.T) {
	t.Parallel()
	s := newSeries(hist(cat(rep(5, 10), []float64{3, na, 3, 2})...), asOf, 20)
	if got := s.scored(); got != 13 {
		t.Errorf("scored() = %d, want 13", got)
	}
	w := s.window(s.last(), 7)
	// Window: 5 5 5 3 na 3 2 -> sorted 2 3 3 5 5 5 -> median 4.
	if w.scored != 6 || w.median != 4 || w.trend >= 0 {
		t.Errorf("window = %+v, want 6 scored, median 4, falling", w)
	}
	if w := s.window(2, 7); w.scored != 0 {
		t.Errorf("window before history = %+v, want no scored day", w)
	}
	m, ok := s.metricMedians(s.last(), 7)
	if !ok || m.SpamRate != 4 {
		t.Errorf("metricMedians = %+v, %v; want spam_rate 4", m, ok)
	}
	// Out-of-range and zero dates are ignored.
	s = newSeries([]Day{{Date: asOf.AddDays(1), Score: client.Float(1)}, {Score: client.Float(1)}}, asOf, 5)
	if s.scored() != 0 {
		t.Errorf("out-of-range days were kept")
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig() // high ≥4, mid ≥3, low <3; hold 3
	cfg.WindowDays = 1     // daily medians equal the score, to make streaks explicit
	const high, mid, low, none = 0, 1, 2, -1
	kinds := []string{"no tier pool", "in tier", "held", "blocked", "changed"}
	tests := []struct {
		name   string
		scores []float64
		cur    int // tier of its pool
		kind   int
		tier   int
		streak int
		since  int // days before asOf its tier run started; -1: none
	}{
		{"stable high in high", rep(5, 30), high, caseInTier, high, 0, 29},
		{"1-day dip is held", cat(rep(5, 20), rep(3, 1)), high, caseHeld, high, 1, 20},
		{"2-day dip is held", cat(rep(5, 20), rep(3, 2)), high, caseHeld, high, 2, 21},
		{"3-day dip moves", cat(rep(5, 20), rep(3, 3)), high, caseChanged, mid, 3, 2},
		{"2-day dip then recovery", cat(rep(5, 20), rep(3, 2), rep(5, 5)), high, caseInTier, high, 0, 26},
		{"dip interrupted by a day without median", cat(rep(5, 20), []float64{3, 3, na, 3, 3}), high, caseHeld, high, 2, 24},
		// A fall through two tiers moves to the tier of the current median,
		// not to the one in between.
		{"mixed lower tiers: to the current median's tier", cat(rep(5, 20), []float64{3, 2, 2}), high, caseChanged, low, 3, 1},
		{"straight to low", cat(rep(4, 20), rep(1, 5)), high, caseChanged, low, 5, 4},
		{"promotion after 3 days", cat(rep(2, 20), rep(4, 3)), low, caseChanged, high, 3, 2},
		{"no promotion on 2 days", cat(rep(2, 20), rep(4, 2)), low, caseHeld, low, 2, 21},
		// Outside every tier's pool there is no hysteresis: the current
		// median's tier, even on the first day of a fall.
		{"no tier pool: first day of a fall", cat(rep(5, 20), rep(1, 1)), none, caseNoTierPool, low, 0, 0},
		{"no tier pool: steady", rep(4, 20), none, caseNoTierPool, high, 0, 19},
		// The tier of its pool, not its history, anchors the hysteresis: a
		// sender whose history was high, placed in the low pool, stays there
		// until its median has been out of low for 3 days.
		{"anchored on the pool's tier", cat(rep(5, 20), rep(2, 2), rep(5, 2)), low, caseHeld, low, 2, 3},
		{"alternating sides never hold", cat(rep(3, 20), []float64{5, 2, 5, 2, 5}), mid, caseHeld, mid, 1, 24},
		{"no median today: in its pool's tier", cat(rep(5, 20), []float64{na}), high, caseInTier, high, 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSeries(hist(tt.scores...), asOf, ReplayDays)
			d := decide(cfg, s, tt.cur)
			since := -1
			if d.since >= 0 {
				since = s.last() - d.since
			}
			if d.kind != tt.kind || d.tier != tt.tier || d.streak != tt.streak || since != tt.since {
				t.Errorf("decide = %s, tier %d, streak %d, since %d days before; want %s, tier %d, streak %d, since %d",
					kinds[d.kind], d.tier, d.streak, since, kinds[tt.kind], tt.tier, tt.streak, tt.since)
			}
			if d.kind == caseChanged || d.kind == caseNoTierPool {
				if d.tier != d.raw {
					t.Errorf("a move targets tier %d, but the current median is in tier %d", d.tier, d.raw)
				}
			}
		})
	}
}

func TestDecideWindowedHysteresis(t *testing.T) {
	t.Parallel()
	// With the default 7-day median window a fall shows in the median only
	// once it covers 4 of the 7 days, and must then hold 3 days.
	cfg := DefaultConfig()
	tests := []struct {
		name     string
		lowDays  int
		wantKind int
		wantTier string
	}{
		{"3 low days: median still high", 3, caseInTier, "high"},
		{"5 low days: median low 2 days", 5, caseHeld, "high"},
		{"6 low days: median low 3 days", 6, caseChanged, "low"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := decide(cfg, newSeries(hist(cat(rep(5, 30), rep(2, tt.lowDays))...), asOf, ReplayDays), 0)
			if d.kind != tt.wantKind || cfg.Tiers[d.tier].Name != tt.wantTier {
				t.Errorf("decide = %+v, want kind %d tier %s", d, tt.wantKind, tt.wantTier)
			}
		})
	}
}

func TestDecideNoPromotionWhileFalling(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.WindowDays = 3
	cfg.MinScoredDays = 3
	tests := []struct {
		name   string
		scores []float64
		cur    int
		kind   int
		tier   int
	}{
		// Medians: 2 2 5 5 5 -> high for 3 days with a flat window: promoted.
		{"flat at the top", cat(rep(2, 20), []float64{5, 5, 5, 5}), 2, caseChanged, 0},
		// Windows (5,5,4.8): trend -0.1/day, just allowed.
		{"slight fall allowed", cat(rep(2, 20), []float64{5, 5, 5, 4.8}), 2, caseChanged, 0},
		// Windows (5,5,4.7) then (5,4.7,4.4): falling faster than 0.1/day.
		{"falling blocks", cat(rep(2, 20), []float64{5, 5, 5, 4.7, 4.4}), 2, caseBlocked, 2},
		// Demotions are never blocked by the trend.
		{"demotion", cat(rep(5, 20), []float64{2, 2, 2, 2}), 0, caseChanged, 2},
		// Outside every tier's pool the trend does not matter either.
		{"no tier pool, falling", cat(rep(2, 20), []float64{5, 5, 5, 4.7, 4.4}), -1, caseNoTierPool, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := decide(cfg, newSeries(hist(tt.scores...), asOf, ReplayDays), tt.cur)
			if d.kind != tt.kind || d.tier != tt.tier {
				t.Errorf("decide = %+v, want kind %d tier %d", d, tt.kind, tt.tier)
			}
		})
	}
}

func TestHeldSince(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  []int
		tier int
		want int
	}{
		{"all in tier", []int{0, 0, 0}, 0, 0},
		{"short excursion absorbed", []int{0, 0, 1, 1, 0}, 0, 0},
		{"excursion that held ends the run", []int{0, 1, 1, 1, 0, 0}, 0, 4},
		{"two worse tiers are one side", []int{0, 1, 2, 1, 0}, 0, 4},
		{"no median days are neutral", []int{-1, -1, 0, -1, 0}, 0, 2},
		{"never in tier", []int{1, 1}, 0, -1},
		{"sides alternate", []int{1, 0, 2, 0, 1}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := heldSince(tt.raw, tt.tier, 3); got != tt.want {
				t.Errorf("heldSince(%v) = %d, want %d", tt.raw, got, tt.want)
			}
		})
	}
}

func TestNewState(t *testing.T) {
	t.Parallel()
	st := NewState([]client.IP{
		{IP: "10.0.0.2", Pools: []string{"b", "a"}, Subusers: []string{"u1", "u2"}},
		{IP: "10.0.0.1", Pools: []string{"a"}, Subusers: []string{"u1", ""}},
		{IP: "10.0.0.3", Subusers: []string{"u3"}},
		{IP: "10.0.0.4", Pools: []string{"c"}},
	}, []string{"a", "empty", ""})
	check := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") || got == nil {
			t.Errorf("%s = %#v, want %v", what, got, want)
		}
	}
	check("u1 pools", st.PoolsOf("u1"), []string{"a", "b"})
	check("u2 pools", st.PoolsOf("u2"), []string{"a", "b"})
	check("u3 pools", st.PoolsOf("u3"), []string{})
	check("unknown pools", st.PoolsOf("nobody"), []string{})
	check("u1 IPs", st.SubuserIPs["u1"], []string{"10.0.0.1", "10.0.0.2"})
	check("pool a", st.Pools["a"], []string{"10.0.0.1", "10.0.0.2"})
	check("pool empty", st.Pools["empty"], []string{})
	check("pool c", st.Pools["c"], []string{"10.0.0.4"})
	if _, ok := st.Pools[""]; ok {
		t.Error("empty pool name kept")
	}
	if len(st.Subusers) != 3 {
		t.Errorf("subusers = %v", st.Subusers)
	}
	// The fingerprint depends on the pools of subusers only.
	other := NewState([]client.IP{
		{IP: "10.9.9.9", Pools: []string{"a", "b"}, Subusers: []string{"u1", "u2"}},
		{IP: "10.0.0.3", Subusers: []string{"u3"}},
	}, nil)
	if st.Fingerprint() != other.Fingerprint() {
		t.Error("equal pool layouts have different fingerprints")
	}
	other.Subusers["u3"] = []string{"a"}
	if st.Fingerprint() == other.Fingerprint() {
		t.Error("different pool layouts have equal fingerprints")
	}
}

func TestNewPlanErrorsAndEmpty(t *testing.T) {
	t.Parallel()
	bad := DefaultConfig()
	bad.HoldDays = 0
	if _, err := NewPlan(bad, nil, nil, asOf, time.Now()); err == nil || !strings.Contains(err.Error(), "pools.hold_days") {
		t.Errorf("invalid config: %v", err)
	}
	if _, err := NewPlan(DefaultConfig(), nil, nil, client.Date{}, time.Now()); err == nil {
		t.Error("zero asOf accepted")
	}
	p, err := NewPlan(DefaultConfig(), nil, map[string][]Day{"(parent)": hist(rep(5, 10)...)}, asOf, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Subusers) != 0 || len(p.Outliers) != 0 || len(p.Summary) != 3 || p.Moves() != nil || p.TierChanges() != nil {
		t.Errorf("empty plan = %+v", p)
	}
	var b strings.Builder
	if err := p.WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"subusers": []`) || !strings.Contains(b.String(), `"outliers": []`) {
		t.Errorf("empty plan JSON: %v\n%s", err, b.String())
	}
}

func TestWeakMetrics(t *testing.T) {
	t.Parallel()
	m := client.Metrics{EngagementRecency: 4, OpenRate: 3, BounceClassification: 5, BounceRate: 2, SpamRate: 1}
	tests := []struct {
		score float64
		want  string
	}{
		{5, "spam_rate 1, bounce_rate 2, open_rate 3, engagement_recency 4"},
		{4, "spam_rate 1, bounce_rate 2, open_rate 3"},
		{1, "spam_rate 1, bounce_rate 2"},
	}
	for _, tt := range tests {
		if got := metricList(weakMetrics(m, tt.score)); got != tt.want {
			t.Errorf("weak metrics at score %v = %q, want %q", tt.score, got, tt.want)
		}
	}
}
