package seqtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

// lowScorers is the kind of code a user tests against the simulated
// account: it lists the subusers whose score on date is at most max.
func lowScorers(ctx context.Context, c *client.Client, date client.Date, max float64) ([]string, error) {
	var out []string
	for s, err := range c.SubuserScores(ctx, date) {
		if err != nil {
			return nil, err
		}
		if v, ok := s.Value(); ok && v <= max {
			out = append(out, s.Username)
		}
	}
	return out, nil
}

// Test your own code against the simulated account: pin the clock, start
// the server, and use the client it hands out.
func Example() {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	srv := seqtest.NewServer(seqtest.WithNow(func() time.Time { return now }))
	defer srv.Close()

	c, err := srv.Client()
	if err != nil {
		fmt.Println(err)
		return
	}
	low, err := lowScorers(context.Background(), c, client.MustParseDate("2026-03-09"), 3)
	fmt.Println(low, err)
	// Output: [bargain-blast acme-news daily-deals petcare-mail lastminute-travel coupon-corner survey-panel print-shop game-updates local-events] <nil>
}

// The demo account's planted events are the ground truth for detection
// tests.
func ExampleAccount_Planted() {
	acct := seqtest.DemoAccount(client.MustParseDate("2026-03-09"))
	for _, p := range acct.Planted() {
		if p.Kind == seqtest.KindMetric {
			fmt.Println(p.Date, p.Account, p.Metric, p.From, "→", p.To)
		}
	}
	// Output:
	// 2026-02-28 petcare-mail spam_rate 5 → 1
	// 2026-03-04 bookworm-club open_rate 5 → 3
}

// A rate-limited server with injected faults exercises a client's retries.
func ExampleWithFaults() {
	srv := seqtest.NewServer(
		seqtest.WithFaults(0.3, 1),
		seqtest.WithRateLimit(100, time.Second),
	)
	defer srv.Close()
	c, _ := srv.Client()
	pools, err := c.Pools(context.Background())
	fmt.Println(len(pools), err)
	// Output: 3 <nil>
}

// GenerateAccount builds large deterministic accounts for benchmarks; its
// events are listed by Planted like the demo account's.
func ExampleGenerateAccount() {
	acct := seqtest.GenerateAccount(1, 10000, 90, client.MustParseDate("2026-03-09"))
	kinds := map[string]int{}
	for _, p := range acct.Planted() {
		kinds[p.Kind]++
	}
	fmt.Println(len(acct.Subusers), len(acct.Subusers[0].History), acct.Pools)
	fmt.Println(kinds[seqtest.KindDrop] > 0, kinds[seqtest.KindMetric] > 0, kinds[seqtest.KindEligibility] > 0)
	// Output:
	// 10000 90 [high mid low]
	// true true true
}

// Run your own code against a hostile API: latency, per-endpoint rate
// limits, 202s, 5xx and 429s, cut-off, reset, slow and HTML bodies.
func ExampleHostile() {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	srv := seqtest.NewServer(seqtest.Hostile(1), seqtest.WithNow(func() time.Time { return now }),
		seqtest.WithLatencyRange(0, time.Millisecond)) // keep the example quick
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for _, err := range c.SubuserScores(context.Background(), client.MustParseDate("2026-03-09")) {
		if err != nil {
			fmt.Println(err)
			return
		}
		n++
	}
	fmt.Println(n, "scores")
	// Output:
	// 36 scores
}
