package rules

import (
	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// metricAdvice condenses the remediation advice of SendGrid's SEQ overview
// for each of the five metrics.
var metricAdvice = map[client.Metric]string{
	client.MetricEngagementRecency: "Too many recipients have not opened or clicked in the last 90 days. " +
		"Adopt a sunset policy: send less after a month without engagement, less again after three, " +
		"send a re-engagement campaign at six and remove those who still do not respond. " +
		"Use confirmed opt-in and set clear expectations at sign-up.",
	client.MetricOpenRate: "Unique opens are low at your main mailbox providers. " +
		"Send less over time to recipients who stop engaging (dynamic sending lifecycle), A/B test content and cadence, " +
		"split marketing and transactional mail into separate subusers, and at an underperforming provider " +
		"send only to very recently engaged recipients for a few weeks.",
	client.MetricBounceClassification: "Mailbox providers refuse your mail for reputation or content reasons. " +
		"Send timely, relevant mail; sunset addresses without engagement in the last few months; validate addresses " +
		"before adding them; avoid third-party or unnecessary mail; A/B test content; check your IPs and sending domains " +
		"against blocklists and find the refusing providers with Deliverability Insights or the Event Webhook.",
	client.MetricBounceRate: "Too much mail bounces to addresses that do not exist, a sign of list-acquisition problems. " +
		"Use confirmed opt-in and validate addresses at sign-up (Email Address Validation API), " +
		"and sunset inactive addresses before they become invalid.",
	client.MetricSpamRate: "Recipients mark your mail as spam. Send only to people who explicitly opted in and know your brand, " +
		"at a frequency that matches how they engage; state the cadence at opt-in and let them choose it.",
}

// ruleAdvice is the advice for rules that are about the overall score or
// the account rather than one metric.
var ruleAdvice = map[alert.Rule]string{
	alert.RuleDrop: "Find which of the five metrics fell (sgseq history ACCOUNT) and act on it: " +
		"sunset unengaged recipients, use confirmed opt-in and address validation, and send relevant mail at a sensible cadence.",
	alert.RuleEligibility: "SendGrid scores an account only when open tracking is turned on and it sent at least " +
		"1,000 messages in the previous 30 days: check the account's open-tracking setting and its sending volume.",
	alert.RuleOutlier: "This sender scores well below the others in its IP pool and can hurt their shared reputation: " +
		"review its metrics and consider moving it to a pool of senders with similar habits and reputation (sgseq pools plan).",
}

func init() {
	ruleAdvice[alert.RuleBaseline] = ruleAdvice[alert.RuleDrop]
	ruleAdvice[alert.RuleFloor] = ruleAdvice[alert.RuleDrop]
	ruleAdvice[alert.RuleMetric] = ruleAdvice[alert.RuleDrop]
}

// Advice returns SendGrid's remediation advice for metric, condensed from
// the SEQ overview; "" for an unknown metric.
func Advice(metric client.Metric) string { return metricAdvice[metric] }

// AdviceFor returns the general advice for a rule: what to check for a score
// rule (drop, baseline, floor, metric), the eligibility conditions for
// eligibility, pool grouping for outlier; "" for an unknown rule.
func AdviceFor(rule alert.Rule) string { return ruleAdvice[rule] }

// metricName is the human name of a metric, as in SendGrid's overview.
func metricName(m client.Metric) string {
	switch m {
	case client.MetricEngagementRecency:
		return "engagement recency"
	case client.MetricOpenRate:
		return "unique open rate"
	case client.MetricBounceClassification:
		return "bounce classification"
	case client.MetricBounceRate:
		return "bounce rate"
	case client.MetricSpamRate:
		return "spam rate"
	}
	return string(m)
}
