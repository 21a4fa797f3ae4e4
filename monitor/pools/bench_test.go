package pools

import (
	"context"
	"testing"

	"github.com/sgseq/sgseq/client/seqtest"
)

// BenchmarkNewPlan plans 10,000 subusers × 90 days of generated history
// in three pools (the planning itself; state and history already read).
func BenchmarkNewPlan(b *testing.B) {
	a := seqtest.GenerateAccount(1, 10000, ReplayDays, asOf)
	srv := seqtest.NewServer(seqtest.WithAccount(a))
	b.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	state, err := LoadState(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	hist := accountHistory(a)
	cfg := DefaultConfig()
	cfg.Tiers = []Tier{{"high", 4.5, "high"}, {"mid", 3.5, "mid"}, {"low", 1, "low"}}
	b.ResetTimer()
	for b.Loop() {
		p, err := NewPlan(cfg, state, hist, asOf, genTime)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Subusers) != 10000 {
			b.Fatalf("%d subusers", len(p.Subusers))
		}
	}
}
