package rules_test

import (
	"math"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/rules"
)

// FuzzEvaluate builds a history from arbitrary bytes (each byte a day: a
// gap, an ineligible day, or a score and metrics, NaN included) and checks
// that Evaluate and Reconcile never panic and keep their invariants.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{50, 50, 30}, uint8(1))
	f.Add([]byte{40, 0, 0, 0, 255, 10, 1}, uint8(2))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, forDays uint8) {
		cfg := rules.DefaultConfig()
		cfg.Drop.ForDays, cfg.Metric.ForDays = int(forDays%4), int(forDays%3)
		var h []history.DayScore
		d := client.MustParseDate("2026-01-01")
		for i, b := range data {
			d = d.AddDays(1)
			switch {
			case b == 0:
				continue // missing day
			case b == 1:
				h = append(h, history.DayScore{Account: "x", Date: d})
			case b == 255:
				nan := math.NaN()
				h = append(h, history.DayScore{Account: "x", Date: d, Score: &nan})
			default:
				v := 1 + float64(b%41)/10
				m := &client.Metrics{EngagementRecency: v, OpenRate: 6 - v, BounceClassification: float64(i%5 + 1),
					BounceRate: v, SpamRate: 5}
				h = append(h, history.DayScore{Account: "x", Date: d, Score: client.Float(v), Metrics: m})
			}
		}
		got := rules.Evaluate(cfg, "x", h)
		keys := map[string]bool{}
		for _, a := range got {
			if keys[a.Key] {
				t.Fatalf("duplicate key %s", a.Key)
			}
			keys[a.Key] = true
			if a.State != alert.Firing || a.Severity.Rank() == 0 || a.Since.After(a.Date) || a.Message == "" {
				t.Fatalf("bad alert %+v", a)
			}
			if (a.From != nil && math.IsNaN(*a.From)) || (a.To != nil && math.IsNaN(*a.To)) {
				t.Fatalf("NaN in alert %+v", a)
			}
		}
		p := rules.Reconcile(time.Unix(0, 0), 0, nil, got, map[string]bool{"x": true})
		if len(p.Notify) != len(got) {
			t.Fatalf("%d new alerts, %d notified", len(got), len(p.Notify))
		}
	})
}
