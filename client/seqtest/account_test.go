package seqtest

import (
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
)

// detect applies the monitor's default rules, independently of the
// planting code, to one history and returns every event it sees: drop (fall
// ≥1 vs the previous scored day), floor (≤2, first day), metric (≤2 or a
// fall ≥2 vs the previous scored day, first day), eligibility (third
// consecutive ineligible day after having had scores).
func detect(name string, h []Day) []Planted {
	var out []Planted
	var prev *Day
	floor := false
	metricHeld := map[client.Metric]bool{}
	missing := 0
	for i := range h {
		d := h[i]
		if d.Score == nil {
			if prev != nil {
				missing++
				if missing == 3 {
					out = append(out, Planted{Account: name, Date: d.Date, Kind: KindEligibility, From: *prev.Score})
				}
			}
			continue
		}
		missing = 0
		if prev != nil && *prev.Score-*d.Score >= 1 {
			out = append(out, Planted{Account: name, Date: d.Date, Kind: KindDrop, From: *prev.Score, To: *d.Score})
		}
		if *d.Score <= 2 && !floor {
			from := 0.0
			if prev != nil {
				from = *prev.Score
			}
			out = append(out, Planted{Account: name, Date: d.Date, Kind: KindFloor, From: from, To: *d.Score})
		}
		floor = *d.Score <= 2
		for _, m := range client.AllMetrics {
			v, _ := d.Metrics.Get(m)
			from := v
			if prev != nil {
				from, _ = prev.Metrics.Get(m)
			}
			held := v <= 2 || from-v >= 2
			if held && !metricHeld[m] {
				out = append(out, Planted{Account: name, Date: d.Date, Kind: KindMetric, Metric: m, From: from, To: v})
			}
			metricHeld[m] = held
		}
		prev = &h[i]
	}
	return out
}

// detectOutliers finds, per day from first on, subusers whose score is ≥2
// below the median score of a pool they send through (first day only).
func detectOutliers(a *Account, first client.Date) []Planted {
	pools := map[string]map[string]bool{}
	for _, ip := range a.IPs {
		for _, p := range ip.Pools {
			if pools[p] == nil {
				pools[p] = map[string]bool{}
			}
			for _, s := range ip.Subusers {
				pools[p][s] = true
			}
		}
	}
	var out []Planted
	held := map[string]bool{}
	for d := first; !d.After(a.End); d = d.AddDays(1) {
		for _, members := range pools {
			var scores []float64
			by := map[string]float64{}
			for _, sub := range a.Subusers {
				if !members[sub.Username] || sub.Disabled {
					continue
				}
				if day, ok := dayAt(sub.History, d); ok && day.Score != nil {
					scores = append(scores, *day.Score)
					by[sub.Username] = *day.Score
				}
			}
			if len(scores) == 0 {
				continue
			}
			sort.Float64s(scores)
			med := scores[len(scores)/2]
			if len(scores)%2 == 0 {
				med = (scores[len(scores)/2-1] + med) / 2
			}
			for name, v := range by {
				h := med-v >= 2
				if h && !held[name] {
					out = append(out, Planted{Account: name, Date: d, Kind: KindOutlier, From: med, To: v})
				}
				held[name] = h
			}
		}
	}
	return out
}

func detectAll(a *Account, withOutliers bool) []Planted {
	got := detect(ParentAccount, a.Parent.History)
	for _, s := range a.Subusers {
		got = append(got, detect(s.Username, s.History)...)
	}
	if withOutliers {
		got = append(got, detectOutliers(a, a.Parent.History[0].Date)...)
	}
	sortPlanted(got)
	return got
}

func TestDemoAccountPlantedMatchesDefaultRules(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"2026-03-09", "2024-03-01", "2026-12-31"} {
		t.Run(end, func(t *testing.T) {
			a := DemoAccount(client.MustParseDate(end))
			want := a.Planted()
			if got := detectAll(a, true); !reflect.DeepEqual(got, want) {
				t.Fatalf("rules detect\n%v\nplanted\n%v", got, want)
			}
			for _, p := range want {
				if ago := a.End.DaysSince(p.Date); ago < 0 || ago >= 30 {
					t.Errorf("%v is not in the last 30 days", p)
				}
			}
		})
	}
}

func TestDemoAccountShape(t *testing.T) {
	t.Parallel()
	a := DemoAccount(testEnd)
	if len(a.Subusers) != 36 || len(a.IPs) != 8 || len(a.Pools) != 3 || a.End != testEnd {
		t.Fatalf("subusers %d ips %d pools %d end %v", len(a.Subusers), len(a.IPs), len(a.Pools), a.End)
	}
	names := map[string]bool{}
	disabled, eu := 0, 0
	for _, s := range append([]Subject{a.Parent}, a.Subusers...) {
		if names[s.Username] {
			t.Errorf("duplicate username %s", s.Username)
		}
		names[s.Username] = true
		if len(s.History) != 120 || s.History[0].Date != testEnd.AddDays(-119) || s.History[119].Date != testEnd {
			t.Errorf("%s: history %d days", s.Username, len(s.History))
		}
		if s.Disabled {
			disabled++
		}
		if s.Region == "eu" {
			eu++
		}
	}
	if disabled != 2 || eu != 1 {
		t.Errorf("disabled %d eu %d", disabled, eu)
	}
	// Tier variety early in the history: stable 5s, 4s and 3s.
	levels := map[float64]int{}
	for _, s := range a.Subusers {
		if v := s.History[0].Score; v != nil {
			levels[*v]++
		}
	}
	if levels[5] < 5 || levels[4] < 5 || levels[3] < 5 {
		t.Errorf("early levels %v", levels)
	}
	if !reflect.DeepEqual(DemoAccount(testEnd), a) {
		t.Error("DemoAccount is not deterministic")
	}
}

func TestGenerateAccount(t *testing.T) {
	t.Parallel()
	a := GenerateAccount(42, 2000, 90, testEnd)
	if len(a.Subusers) != 2000 || len(a.Subusers[0].History) != 90 || a.Subusers[1999].History[89].Date != testEnd {
		t.Fatalf("shape: %d subusers", len(a.Subusers))
	}
	if !reflect.DeepEqual(GenerateAccount(42, 2000, 90, testEnd).Planted(), a.Planted()) {
		t.Error("not deterministic")
	}
	if reflect.DeepEqual(GenerateAccount(43, 2000, 90, testEnd).Planted(), a.Planted()) {
		t.Error("seed ignored")
	}
	want := a.Planted()
	if len(want) < 200 {
		t.Fatalf("only %d planted events in 2000 subusers", len(want))
	}
	if got := detectAll(a, true); !reflect.DeepEqual(got, want) {
		t.Fatalf("detected %d events, planted %d", len(got), len(want))
	}
	kinds := map[string]int{}
	for _, p := range want {
		kinds[p.Kind]++
	}
	for _, k := range []string{KindDrop, KindMetric, KindEligibility} {
		if kinds[k] == 0 {
			t.Errorf("no %s events: %v", k, kinds)
		}
	}
	for _, tc := range []struct{ subusers, days int }{{0, 90}, {3, 1}, {5, 3}, {10, 5}} {
		g := GenerateAccount(1, tc.subusers, tc.days, testEnd)
		if len(g.Subusers) != tc.subusers || len(g.Parent.History) != tc.days {
			t.Errorf("%+v: got %d subusers, %d days", tc, len(g.Subusers), len(g.Parent.History))
		}
		if got := detectAll(g, true); !slices.Equal(got, g.Planted()) {
			t.Errorf("%+v: detected %v planted %v", tc, got, g.Planted())
		}
	}
}

func TestGenerateAccountIsFast(t *testing.T) {
	// Not a timing assertion: a sanity bound on allocations, which are
	// deterministic. Histories are shared, so 10,000 × 90 stays small.
	allocs := testing.AllocsPerRun(1, func() { GenerateAccount(1, 10000, 90, testEnd) })
	if allocs > 100000 {
		t.Errorf("%v allocations for 10,000 subusers", allocs)
	}
}

func TestServerDefaultsToDemoOfYesterday(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	if got := s.Account().End; got != client.DateOf(testNow).AddDays(-1) {
		t.Errorf("End %v", got)
	}
	_ = time.Now
}

func BenchmarkGenerateAccount(b *testing.B) {
	for b.Loop() {
		GenerateAccount(1, 10000, 90, testEnd)
	}
}
