package pools

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client"
)

// mailTypeState is an account whose pools are named for the kind of mail,
// none of them a default tier's pool:
//
//	transactional   receipts, login-codes, invoices  5
//	                falling-tx                      5, then falls to 1 over the last 8 days
//	marketing       newsletter, promo, weekly       4
//	warmup          warm-sender                     3
//	                new-brand                       4 for 4 days: too new
//	low engagement  reengage, winback, lapsed       2
//	dedicated       (no IP)
func mailTypeState() *State {
	return NewState([]client.IP{
		{IP: "192.0.2.1", Pools: []string{"transactional"}, Subusers: []string{"receipts", "login-codes", "invoices", "falling-tx"}},
		{IP: "192.0.2.2", Pools: []string{"transactional"}, Subusers: []string{"receipts", "login-codes", "invoices", "falling-tx"}},
		{IP: "192.0.2.11", Pools: []string{"marketing"}, Subusers: []string{"newsletter", "promo", "weekly"}},
		{IP: "192.0.2.12", Pools: []string{"marketing"}, Subusers: []string{"newsletter", "promo", "weekly"}},
		{IP: "192.0.2.21", Pools: []string{"warmup"}, Subusers: []string{"warm-sender", "new-brand"}},
		{IP: "192.0.2.31", Pools: []string{"low engagement"}, Subusers: []string{"reengage", "winback", "lapsed"}},
	}, []string{"transactional", "marketing", "warmup", "low engagement", "dedicated"})
}

// mailTypeFall is falling-tx's last 10 days. With a 7-day window its
// median is 5 until asOf-5, then 4.5, 4, 3, 2 and 1 on asOf.
var mailTypeFall = []float64{5, 5, 4.5, 4, 3, 2, 1, 1, 1, 1}

// mailTypeHistory is the history of mailTypeState's subusers, 40 days
// ending at asOf.
func mailTypeHistory() map[string][]Day {
	return map[string][]Day{
		"receipts":    hist(rep(5, 40)...),
		"login-codes": hist(rep(5, 40)...),
		"invoices":    hist(rep(5, 40)...),
		"falling-tx":  hist(cat(rep(5, 30), mailTypeFall)...),
		"newsletter":  hist(rep(4, 40)...),
		"promo":       hist(rep(4, 40)...),
		"weekly":      hist(rep(4, 40)...),
		"warm-sender": hist(rep(3, 40)...),
		"new-brand":   hist(cat(rep(na, 36), rep(4, 4))...),
		"reengage":    hist(rep(2, 40)...),
		"winback":     hist(rep(2, 40)...),
		"lapsed":      hist(rep(2, 40)...),
	}
}

// mailTypeMapped maps the default tiers onto the account's pools, as the
// plan with the default tiers suggests.
func mailTypeMapped() Config {
	cfg := DefaultConfig()
	cfg.Tiers = []Tier{
		{Name: "high", MinScore: 4.5, Pool: "transactional"},
		{Name: "mid", MinScore: 3, Pool: "marketing"},
		{Name: "low", MinScore: 1, Pool: "low engagement"},
	}
	return cfg
}

// checkGolden compares the plan's JSON, without generated_at, with
// testdata/name (rewritten with -update).
func checkGolden(t *testing.T, name string, p *Plan) {
	t.Helper()
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`\n  "generated_at": "[^"]*",`).ReplaceAll(buf.Bytes(), nil)
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan differs from %s (run go test -update and review the diff):\n%s", golden, got)
	}
}

func TestPlanMailTypeGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		asOf   client.Date
		golden string
		// falling-tx: its tier, target pool, move, and a part of its reason.
		tier, target string
		move         bool
		reason       string
	}{
		// No tier's pool exists: every placed subuser goes to the tier of
		// its current median, hysteresis or not; the plan is blocked and
		// suggests the mapping below.
		{"default tiers", DefaultConfig(), asOf, "mailtype-default.golden.json",
			"low", "low-reputation", true, "move from pool transactional, which is no tier's pool, to the tier of its current median"},
		// Mapped onto the account's pools: falling-tx's median left high on
		// asOf-3; hysteresis holds it in transactional for 2 days...
		{"mapped, held", mailTypeMapped(), asOf.AddDays(-2), "mailtype-mapped-held.golden.json",
			"high", "transactional", false, "median in tier mid for 2 of 3 days needed: hysteresis keeps it in its pool until then"},
		// ...and on the third it moves, to the tier of its current median.
		{"mapped, moves", mailTypeMapped(), asOf.AddDays(-1), "mailtype-mapped-moves.golden.json",
			"low", "low engagement", true, "changed tier: its median went below 4.5, out of tier high of its pool, on 2026-11-21 and stayed out 3 days (3 required)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPlan(tt.cfg, mailTypeState(), mailTypeHistory(), tt.asOf, genTime)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, p)
			s, _ := p.Subuser("falling-tx")
			if s.Tier != tt.tier || s.TargetPool != tt.target || s.Move != tt.move || !strings.Contains(s.Reason, tt.reason) {
				t.Errorf("falling-tx: tier %s target %q move %v reason %q; want tier %s target %q move %v reason with %q",
					s.Tier, s.TargetPool, s.Move, s.Reason, tt.tier, tt.target, tt.move, tt.reason)
			}
			assertMovesFollowMedian(t, tt.cfg, p)
		})
	}
}

// assertMovesFollowMedian checks that no move targets a tier whose score
// range excludes the subuser's current median.
func assertMovesFollowMedian(t *testing.T, cfg Config, p *Plan) {
	t.Helper()
	for _, s := range p.Moves() {
		i := cfg.poolTier(s.TargetPool)
		if s.MedianScore == nil || i < 0 || cfg.tierFor(*s.MedianScore) != i {
			t.Errorf("%s (median %v) moves to %s, tier %d", s.Username, s.MedianScore, s.TargetPool, i)
		}
	}
}

// TestPlanMailTypeHysteresisDays follows falling-tx day by day in its
// tier's pool: in tier while its median is high, held for hold_days-1 days
// once it left, then moved to the tier of its current median; with
// another hold_days the move comes later.
func TestPlanMailTypeHysteresisDays(t *testing.T) {
	t.Parallel()
	hold5 := mailTypeMapped()
	hold5.HoldDays = 5
	tests := []struct {
		name string
		cfg  Config
		want []string // asOf-5 … asOf: "stay" or the target pool
	}{
		{"hold 3", mailTypeMapped(), []string{"stay", "stay", "stay", "stay", "low engagement", "low engagement"}},
		{"hold 5", hold5, []string{"stay", "stay", "stay", "stay", "stay", "stay"}},
		{"hold 1", func() Config { c := mailTypeMapped(); c.HoldDays = 1; return c }(),
			[]string{"stay", "stay", "marketing", "marketing", "low engagement", "low engagement"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for d := -5; d <= 0; d++ {
				p, err := NewPlan(tt.cfg, mailTypeState(), mailTypeHistory(), asOf.AddDays(d), genTime)
				if err != nil {
					t.Fatal(err)
				}
				s, _ := p.Subuser("falling-tx")
				if s.Move {
					got = append(got, s.TargetPool)
				} else {
					got = append(got, "stay")
				}
				assertMovesFollowMedian(t, tt.cfg, p)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("falling-tx from asOf-5 to asOf: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlanMailTypeSuggestion: with none of the tiers' pools in the account
// the plan ranks the account's pools with IPs by their senders' median
// and maps the tiers onto the three with the most senders.
func TestPlanMailTypeSuggestion(t *testing.T) {
	t.Parallel()
	p, err := NewPlan(DefaultConfig(), mailTypeState(), mailTypeHistory(), asOf, genTime)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NoTierPool() {
		t.Error("NoTierPool = false")
	}
	var ranks []string
	for _, r := range p.PoolRanking {
		ranks = append(ranks, r.Pool+":"+fmtScore(*r.MedianScore)+":"+r.Tier)
	}
	if got, want := strings.Join(ranks, " "), "transactional:5:high marketing:4:mid warmup:3.5: low engagement:2:low"; got != want {
		t.Errorf("ranking %q, want %q", got, want)
	}
	want := TiersYAML(mailTypeMapped().Tiers)
	if got := TiersYAML(p.SuggestedTiers); got != want {
		t.Errorf("suggested:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(want, `pool: "low engagement"}`) {
		t.Errorf("a pool name with a space is not quoted:\n%s", want)
	}
	// The suggestion, applied, plans no move into a pool without IPs.
	q, err := NewPlan(mailTypeMapped(), mailTypeState(), mailTypeHistory(), asOf, genTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Blockers) != 0 || q.NoTierPool() || q.SuggestedTiers != nil {
		t.Errorf("mapped plan: blockers %v, suggested %v", q.Blockers, q.SuggestedTiers)
	}
}
