// Package alert holds the types shared by the monitor's detection rules, its
// store and its notifiers: an Alert (one rule holding for one account), its
// severity and state, and proposed IP-pool tier changes.
//
// The JSON form of [Alert] is the stable output contract of
// "sgseq check -o json".
package alert

import (
	"strings"

	"github.com/sgseq/sgseq/client"
)

// Rule names a detection rule.
type Rule string

// The detection rules.
const (
	RuleDrop        Rule = "drop"        // score fell against the previous scored day
	RuleBaseline    Rule = "baseline"    // score sits below its trailing median
	RuleFloor       Rule = "floor"       // score at or below an absolute floor
	RuleMetric      Rule = "metric"      // one of the five metrics fell or is low
	RuleEligibility Rule = "eligibility" // an account that had scores has none
	RuleOutlier     Rule = "outlier"     // underperforming sender in its IP pool
)

// Severity ranks an alert. The zero value is invalid.
type Severity string

// Severities, from least to most urgent.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Rank orders severities: Info 1, Warning 2, Critical 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case Info:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// State is the lifecycle state of an alert as reported to a notifier.
type State string

// Alert states.
const (
	Firing   State = "firing"
	Resolved State = "resolved"
)

// ParentAccount is the account name used for the parent account itself
// (as opposed to one of its subusers).
const ParentAccount = "(parent)"

// NotMonitored ends the message of an alert resolved because its account is
// no longer monitored (the subuser was deleted or disabled, or the accounts
// filters now leave it out), not because the condition cleared; notifiers
// say so instead of showing it as recovered.
const NotMonitored = "no longer monitored (deleted, disabled or left out by the accounts filters)"

// Alert is one rule holding (or having stopped holding) for one account.
//
// Its JSON field names are a documented contract; do not rename them.
type Alert struct {
	// Key identifies the alert across runs: account, rule and metric.
	Key string `json:"key"`
	// Account is the subuser's username, or ParentAccount.
	Account string `json:"account"`
	// Rule is the rule that fired.
	Rule Rule `json:"rule"`
	// Metric is set when the rule is about one of the five metrics.
	Metric client.Metric `json:"metric,omitempty"`
	// Severity grows with the size of the fall.
	Severity Severity `json:"severity"`
	// State is Firing or Resolved.
	State State `json:"state"`
	// Reminder is true when a still-firing alert is notified again.
	Reminder bool `json:"reminder,omitempty"`
	// Date is the scored day that triggered (or cleared) the alert.
	Date client.Date `json:"date"`
	// From and To are the values involved: the previous (or reference)
	// value and the current one. Nil where a value does not exist, such as
	// To for an ineligible day.
	From *float64 `json:"from"`
	To   *float64 `json:"to"`
	// Since is the first day the condition held.
	Since client.Date `json:"since"`
	// Message is a one-line human description.
	Message string `json:"message"`
	// Advice is SendGrid's remediation advice for the metric or rule.
	Advice string `json:"advice,omitempty"`
}

// Key builds the stable key of an alert: "account/rule" or
// "account/rule/metric".
func Key(account string, rule Rule, metric client.Metric) string {
	var b strings.Builder
	b.WriteString(account)
	b.WriteByte('/')
	b.WriteString(string(rule))
	if metric != "" {
		b.WriteByte('/')
		b.WriteString(string(metric))
	}
	return b.String()
}

// TierChange is a proposed move of a subuser between IP-pool tiers, listed
// in the monitor's Slack digest.
type TierChange struct {
	Username string `json:"username"`
	FromTier string `json:"from_tier"`
	ToTier   string `json:"to_tier"`
	FromPool string `json:"from_pool"`
	ToPool   string `json:"to_pool"`
	Reason   string `json:"reason"`
}
