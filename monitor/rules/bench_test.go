package rules_test

import (
	"testing"

	"github.com/sgseq/sgseq/monitor/rules"
)

// BenchmarkEvaluate evaluates one account's 30-day history with every rule
// on (a sweep of 10,000 subusers does this 10,000 times).
func BenchmarkEvaluate(b *testing.B) {
	h := hist(b, "5 5 5 4 5 5 - 5 5 3/er=2 3 3 4 5 5 5 5 - - 5 5 4/sr=1 4 4 5 5 5 5 3 3")
	cfg := rules.DefaultConfig()
	b.ReportAllocs()
	for range b.N {
		_ = rules.Evaluate(cfg, "acme", h)
	}
}
