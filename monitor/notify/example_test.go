package notify_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/notify"
)

func ExampleNewLog() {
	day := client.MustParseDate("2026-11-24")
	m := notify.Message{
		Date: day,
		Alerts: []alert.Alert{
			{
				Key: alert.Key("acme-news", alert.RuleDrop, ""), Account: "acme-news",
				Rule: alert.RuleDrop, Severity: alert.Critical, State: alert.Firing,
				Date: day, Since: day, From: client.Float(4.5), To: client.Float(2),
				Message: "Score fell by 2.5 against the previous scored day.",
			},
			{
				Key: alert.Key("acme-news", alert.RuleMetric, client.MetricEngagementRecency), Account: "acme-news",
				Rule: alert.RuleMetric, Metric: client.MetricEngagementRecency, Severity: alert.Warning,
				State: alert.Firing, Reminder: true, Date: day, Since: day.AddDays(-2),
				From: client.Float(4), To: client.Float(2),
				Advice: "Create a sunset policy and use confirmed opt-in.",
			},
			{
				Key: alert.Key(alert.ParentAccount, alert.RuleFloor, ""), Account: alert.ParentAccount,
				Rule: alert.RuleFloor, Severity: alert.Info, State: alert.Resolved,
				Date: day, Since: day.AddDays(-5), From: client.Float(2), To: client.Float(3.5),
			},
		},
		TierChanges: []alert.TierChange{{
			Username: "acme-news", FromTier: "high", ToTier: "low", FromPool: "seq-high", ToPool: "seq-low",
			Reason: "7-day median 2.0, held 3 days",
		}},
	}
	delivered, err := notify.NewLog(os.Stdout).Notify(context.Background(), m)
	fmt.Println(len(delivered), "delivered, error:", err)
	// Output:
	// SEQ monitor, 2026-11-24: 2 firing (1 critical, 1 warning, 0 info), 1 resolved, 1 proposed IP-pool move
	//
	// CRITICAL (1)
	//   acme-news
	//     - [CRITICAL] drop: score 4.5 → 2, since 2026-11-24 (1 day)
	//       Score fell by 2.5 against the previous scored day.
	//
	// WARNING (1)
	//   acme-news
	//     - [WARNING] metric: engagement recency 4 → 2, since 2026-11-22 (3 days), reminder
	//       Advice: Create a sunset policy and use confirmed opt-in.
	//
	// RESOLVED (1)
	//   (parent)
	//     - floor resolved on 2026-11-24 (score 3.5)
	//
	// PROPOSED IP-POOL MOVES (1)
	//   - acme-news: high (pool seq-high) → low (pool seq-low): 7-day median 2.0, held 3 days
	//
	// 3 delivered, error: <nil>
}

// ExamplePayloads builds the Slack messages of a sweep without posting
// them: a digest with one line per account, its alerts together.
func ExamplePayloads() {
	day := client.MustParseDate("2026-11-24")
	fire := func(acct string, rule alert.Rule, metric client.Metric, sev alert.Severity, from, to float64) alert.Alert {
		return alert.Alert{Key: alert.Key(acct, rule, metric), Account: acct, Rule: rule, Metric: metric,
			Severity: sev, State: alert.Firing, Date: day, Since: day, From: client.Float(from), To: client.Float(to)}
	}
	m := notify.Message{Date: day, Alerts: []alert.Alert{
		fire("cyberdyne-billing-4", alert.RuleDrop, "", alert.Critical, 5, 2),
		fire("cyberdyne-billing-4", alert.RuleFloor, "", alert.Critical, 5, 2),
		fire("cyberdyne-billing-4", alert.RuleMetric, client.MetricOpenRate, alert.Warning, 5, 2),
		fire("cyberdyne-billing-4", alert.RuleMetric, client.MetricSpamRate, alert.Warning, 4, 1),
		fire("acme-news", alert.RuleBaseline, "", alert.Warning, 3.5, 2),
	}}
	ps, err := notify.Payloads(m, notify.WithDigestThreshold(0))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(ps), "message, digest:", ps[0].Digest, "alerts:", len(ps[0].Keys))
	fmt.Println(ps[0].Text)
	// Output:
	// 1 message, digest: true alerts: 5
	// SEQ monitor, 2026-11-24: 5 firing (2 critical, 3 warning, 0 info), 0 resolved
	// CRITICAL (1 account):
	// - cyberdyne-billing-4 · score 5 → 2 (drop, floor) · unique open rate 5 → 2, spam rate 4 → 1 · since 11-24
	// WARNING (1 account):
	// - acme-news · score 2 vs median 3.5 (baseline) · since 11-24
}
