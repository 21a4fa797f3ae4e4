package pools_test

import (
	"fmt"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/pools"
)

// A sender whose score fell from 5 to 2 ten days ago leaves the shared
// high pool for the low one; a steady sender stays.
func ExampleNewPlan() {
	asOf := client.MustParseDate("2026-11-24")
	history := func(scores ...float64) []pools.Day {
		days := make([]pools.Day, len(scores))
		for i, s := range scores {
			days[i] = pools.Day{Date: asOf.AddDays(i - len(scores) + 1), Score: client.Float(s)}
		}
		return days
	}
	steady := make([]float64, 30)
	fallen := make([]float64, 30)
	for i := range 30 {
		steady[i], fallen[i] = 5, 5
		if i >= 20 {
			fallen[i] = 2
		}
	}
	state := pools.NewState([]client.IP{
		{IP: "192.0.2.1", Pools: []string{"high-reputation"}, Subusers: []string{"newsletter", "receipts"}},
		{IP: "192.0.2.9", Pools: []string{"low-reputation"}},
	}, []string{"high-reputation", "low-reputation"})
	plan, err := pools.NewPlan(pools.DefaultConfig(), state,
		map[string][]pools.Day{"receipts": history(steady...), "newsletter": history(fallen...)},
		asOf, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range plan.Subusers {
		fmt.Printf("%s: median %v, tier %s, %v → %s, move %v\n", s.Username, *s.MedianScore, s.Tier, s.CurrentPools, s.TargetPool, s.Move)
	}
	// Output:
	// newsletter: median 2, tier low, [high-reputation] → low-reputation, move true
	// receipts: median 5, tier high, [high-reputation] → high-reputation, move false
}

// An account whose pools are named for the kind of mail has none of the
// default tiers' pools: the plan is blocked, and it suggests mapping the
// tiers onto the account's pools, ranked by their senders' median score.
func ExampleNewPlan_suggestedTiers() {
	asOf := client.MustParseDate("2026-11-24")
	steady := func(score float64) []pools.Day {
		days := make([]pools.Day, 14)
		for i := range days {
			days[i] = pools.Day{Date: asOf.AddDays(i - 13), Score: client.Float(score)}
		}
		return days
	}
	state := pools.NewState([]client.IP{
		{IP: "192.0.2.1", Pools: []string{"transactional"}, Subusers: []string{"receipts"}},
		{IP: "192.0.2.2", Pools: []string{"marketing"}, Subusers: []string{"newsletter"}},
		{IP: "192.0.2.3", Pools: []string{"low engagement"}, Subusers: []string{"winback"}},
	}, nil)
	plan, err := pools.NewPlan(pools.DefaultConfig(), state,
		map[string][]pools.Day{"receipts": steady(5), "newsletter": steady(4), "winback": steady(2)},
		asOf, time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range plan.Blockers {
		fmt.Println(b)
	}
	for _, r := range plan.PoolRanking {
		fmt.Printf("%s: median %v → %s\n", r.Pool, *r.MedianScore, r.Tier)
	}
	fmt.Print(pools.TiersYAML(plan.SuggestedTiers))
	// Output:
	// pool high-reputation (tier high) does not exist; 2 moves wait for it
	// pool low-reputation (tier low) does not exist; 1 move waits for it
	// transactional: median 5 → high
	// marketing: median 4 → mid
	// low engagement: median 2 → low
	// pools:
	//   tiers:
	//     - {name: high, min_score: 4.5, pool: transactional}
	//     - {name: mid, min_score: 3, pool: marketing}
	//     - {name: low, min_score: 1, pool: "low engagement"}
}
