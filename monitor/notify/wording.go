package notify

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// ---- alert wording ----
//
// What a line says about an alert. The values read as what happened:
// "score 4.5 → 2" for a fall, "score 1 (first day in the store)" when there
// is no earlier value, "score 1.5 vs pool median 4 (pool seq-mid)" for an
// IP-pool outlier, "score 2 vs median 3.5" for a baseline, "no score since
// 2026-11-18 (last 3)" for eligibility. Never "none → 1".

var metricLabels = map[client.Metric]string{
	client.MetricEngagementRecency:    "engagement recency",
	client.MetricOpenRate:             "unique open rate",
	client.MetricBounceClassification: "bounce classification",
	client.MetricBounceRate:           "bounce rate",
	client.MetricSpamRate:             "spam rate",
}

func metricLabel(m client.Metric) string {
	if l, ok := metricLabels[m]; ok {
		return l
	}
	return strings.ReplaceAll(string(m), "_", " ")
}

// subject names what the alert's values measure.
func subject(a alert.Alert) string {
	if a.Metric != "" {
		return metricLabel(a.Metric)
	}
	return "score"
}

// ruleName is "drop" or "metric engagement recency".
func ruleName(a alert.Alert) string {
	r := ruleOnly(a)
	if a.Metric != "" {
		return r + " " + metricLabel(a.Metric)
	}
	return r
}

// ruleOnly is the rule name alone ("drop", "metric"); the metric is named
// by the values that follow it.
func ruleOnly(a alert.Alert) string {
	if a.Rule == "" {
		return "alert"
	}
	return string(a.Rule)
}

// num formats a value with at most two decimals (3.5, 1.67, 4); "none" for
// nil or a non-finite value.
func num(v *float64) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "none"
	}
	return strconv.FormatFloat(math.Round(*v*100)/100, 'f', -1, 64)
}

func known(v *float64) bool { return v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) }

// poolOf returns the pool named in an outlier alert's message ("… in pool
// NAME: …"), or "".
func poolOf(a alert.Alert) string {
	_, rest, ok := strings.Cut(a.Message, " in pool ")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, ": ("); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}

// values says what the alert's values mean: "score 4.5 → 2",
// "score 1 (first day in the store)", "score 1.5 vs pool median 4 (pool
// seq-mid)", "score 2 vs median 3.5", "no score since 2026-11-18 (last 3)".
func values(a alert.Alert) string {
	s := subject(a)
	switch {
	case a.Rule == alert.RuleEligibility:
		out := "no score"
		if !a.Since.IsZero() {
			out += " since " + a.Since.String()
		}
		if known(a.From) {
			out += " (last " + num(a.From) + ")"
		}
		return out
	case a.Rule == alert.RuleOutlier && known(a.From):
		out := s + " " + num(a.To) + " vs pool median " + num(a.From)
		if p := poolOf(a); p != "" {
			out += " (pool " + p + ")"
		}
		return out
	case a.Rule == alert.RuleBaseline && known(a.From):
		return s + " " + num(a.To) + " vs median " + num(a.From)
	case !known(a.From) && !known(a.To):
		return s + " unknown"
	case !known(a.From):
		out := s + " " + num(a.To)
		if !a.Date.IsZero() && a.Since == a.Date {
			out += firstDayNote
		}
		return out
	case !known(a.To):
		return s + " " + num(a.From) + " → no score"
	}
	return s + " " + num(a.From) + " → " + num(a.To)
}

// firstDayNote ends the values of an alert on an account's first stored day.
const firstDayNote = " (first day in the store)"

func sinceText(a alert.Alert) string {
	if a.Since.IsZero() {
		return ""
	}
	s := "since " + a.Since.String()
	if !a.Date.IsZero() && !a.Date.Before(a.Since) {
		n := a.Date.DaysSince(a.Since) + 1
		unit := "days"
		if n == 1 {
			unit = "day"
		}
		s += fmt.Sprintf(" (%d %s)", n, unit)
	}
	return s
}

// shortDate is "11-24", the day within the digest's year.
func shortDate(d client.Date) string {
	s := d.String()
	if len(s) == len("2006-01-02") {
		return s[5:]
	}
	return s
}

// alertLine is the plain one-line form of a firing alert, without account.
func alertLine(a alert.Alert) string {
	parts := []string{"[" + sevLabel(a.Severity) + "] " + ruleOnly(a) + ": " + values(a)}
	if s := sinceText(a); s != "" && a.Rule != alert.RuleEligibility {
		parts = append(parts, s)
	}
	if a.Reminder {
		parts = append(parts, "reminder")
	}
	return strings.Join(parts, ", ")
}

func resolvedLine(a alert.Alert) string {
	s := ruleName(a) + " resolved"
	if !a.Date.IsZero() {
		s += " on " + a.Date.String()
	}
	if strings.HasSuffix(a.Message, alert.NotMonitored) {
		return s + ": " + alert.NotMonitored
	}
	if known(a.To) {
		s += " (" + subject(a) + " " + num(a.To) + ")"
	}
	return s
}

func tierLine(tc alert.TierChange) string {
	s := tc.Username + ": " + tierSide(tc.FromTier, tc.FromPool) + " → " + tierSide(tc.ToTier, tc.ToPool)
	if tc.Reason != "" {
		s += ": " + tc.Reason
	}
	return s
}

func tierSide(tier, pool string) string {
	switch {
	case tier == "" && pool == "":
		return "none"
	case pool == "":
		return tier
	case tier == "":
		return "pool " + pool
	}
	return tier + " (pool " + pool + ")"
}

func sevLabel(s alert.Severity) string {
	if s.Rank() == 0 {
		return "ALERT"
	}
	return strings.ToUpper(string(s))
}

// sevWords are the Slack emoji and the digest group title of a severity.
type sevWords struct{ emoji, title string }

// sevKnown are the sevWords of each known severity; any other is sevOther.
var sevKnown = map[alert.Severity]sevWords{
	alert.Critical: {":red_circle:", "Critical"},
	alert.Warning:  {":large_orange_circle:", "Warning"},
	alert.Info:     {":large_blue_circle:", "Info"},
}

var sevOther = sevWords{":white_circle:", "Other"}

func sevWord(s alert.Severity) sevWords {
	if w, ok := sevKnown[s]; ok {
		return w
	}
	return sevOther
}

func sevEmoji(s alert.Severity) string { return sevWord(s).emoji }

func sevTitle(s alert.Severity) string { return sevWord(s).title }

// counts are a Message's alerts by severity.
type counts struct {
	crit, warn, info, other, resolved int
	accounts                          int // accounts with a firing alert
}

func (c counts) firing() int { return c.crit + c.warn + c.info + c.other }

func countAlerts(as []alert.Alert) counts {
	var c counts
	firingAccts := map[string]bool{}
	for _, a := range as {
		if a.State == alert.Resolved {
			c.resolved++
			continue
		}
		firingAccts[a.Account] = true
		switch a.Severity {
		case alert.Critical:
			c.crit++
		case alert.Warning:
			c.warn++
		case alert.Info:
			c.info++
		default:
			c.other++
		}
	}
	c.accounts = len(firingAccts)
	return c
}

// summary is the first line of Text and of a digest's fallback.
func summary(m Message) string {
	c := countAlerts(m.Alerts)
	s := "SEQ monitor"
	if !m.Date.IsZero() {
		s += ", " + m.Date.String()
	}
	if c.firing() == 0 && c.resolved == 0 {
		s += ": no alerts"
	} else {
		s += fmt.Sprintf(": %d firing (%d critical, %d warning, %d info", c.firing(), c.crit, c.warn, c.info)
		if c.other > 0 {
			s += fmt.Sprintf(", %d other", c.other)
		}
		s += fmt.Sprintf("), %d resolved", c.resolved)
	}
	if n := len(m.TierChanges); n > 0 {
		s += fmt.Sprintf(", %d proposed IP-pool move", n)
		if n > 1 {
			s += "s"
		}
	}
	return s
}

// firstCheckText is "first check: 99 of 300 accounts already below
// thresholds", or "" when m is not a first check with firing alerts.
func firstCheckText(m Message) string {
	if !m.FirstCheck {
		return ""
	}
	c := countAlerts(m.Alerts)
	if c.accounts == 0 {
		return "first check: no account below thresholds"
	}
	if m.Accounts >= c.accounts {
		return fmt.Sprintf("first check: %d of %d accounts already below thresholds", c.accounts, m.Accounts)
	}
	return fmt.Sprintf("first check: %d accounts already below thresholds", c.accounts)
}

// accountSummary is the one line of an account in a digest, its alerts
// together: "score 5 → 2 (drop, floor) · unique open rate 5 → 2, spam
// rate 4 → 1 · since 11-24". Score alerts with the same values share them,
// naming their rules; metric alerts follow; then the resolved ones.
func accountSummary(g accountGroup) string {
	var scoreParts, metricParts, resolvedParts []string
	var scoreRules = map[string][]string{}
	var since client.Date
	reminders, firing := 0, 0
	for _, a := range g.alerts {
		if a.State == alert.Resolved {
			r := ruleName(a)
			if strings.HasSuffix(a.Message, alert.NotMonitored) {
				r += " (no longer monitored)"
			} else if known(a.To) {
				r += " (" + subject(a) + " " + num(a.To) + ")"
			}
			resolvedParts = append(resolvedParts, r)
			continue
		}
		firing++
		if a.Reminder {
			reminders++
		}
		if !a.Since.IsZero() && a.Rule != alert.RuleEligibility && (since.IsZero() || a.Since.Before(since)) {
			since = a.Since
		}
		v := values(a)
		if a.Metric != "" {
			metricParts = append(metricParts, v)
			continue
		}
		if _, ok := scoreRules[v]; !ok {
			scoreParts = append(scoreParts, v)
		}
		scoreRules[v] = append(scoreRules[v], ruleOnly(a))
	}
	var parts []string
	for i, v := range scoreParts {
		rs := scoreRules[v]
		note := strings.Join(rs, ", ")
		if base, ok := strings.CutSuffix(v, firstDayNote); ok {
			scoreParts[i] = base + " (" + note + ", first day in the store)"
			continue
		}
		if len(rs) == 1 && (rs[0] == string(alert.RuleEligibility) || strings.HasSuffix(v, ")")) {
			continue // "no score since …", "… vs pool median 4 (pool x)": the values say it
		}
		scoreParts[i] = v + " (" + note + ")"
	}
	if len(scoreParts) > 0 {
		parts = append(parts, strings.Join(scoreParts, ", "))
	}
	if len(metricParts) > 0 {
		parts = append(parts, strings.Join(metricParts, ", "))
	}
	if !since.IsZero() {
		parts = append(parts, "since "+shortDate(since))
	}
	if firing > 0 && reminders == firing {
		parts = append(parts, "reminder")
	}
	if len(resolvedParts) > 0 {
		parts = append(parts, "resolved: "+strings.Join(resolvedParts, ", "))
	}
	return strings.Join(parts, " · ")
}
