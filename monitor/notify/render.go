package notify

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// Slack's limits on a message, enforced by [Blocks].
const (
	MaxBlocks      = 50   // blocks in one message
	MaxSectionText = 3000 // characters in a section or context text
	MaxHeaderText  = 150  // characters in a header block
	MaxFallback    = 3000 // characters of the plain-text fallback we send
)

// Payload is one Slack message: Block Kit blocks, the plain-text fallback
// Slack shows in notifications, and the keys of the alerts it carries.
type Payload struct {
	Text   string
	Blocks []slack.Block
	Keys   []string
	// Digest is true for the single digest message of a large sweep.
	Digest bool
}

// Blocks builds the Slack messages for m: one digest when m has more alerts
// than the digest threshold, else one message per account (an account with
// many alerts may span several messages to stay within 50 blocks), plus one
// message for the proposed IP-pool moves. An empty Message gives no payload.
// Options other than WithDigestThreshold and WithTopN are ignored.
func Blocks(m Message, opts ...Option) ([]Payload, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return buildPayloads(m, c), nil
}

func buildPayloads(m Message, c *config) []Payload {
	if len(m.Alerts) == 0 && len(m.TierChanges) == 0 {
		return nil
	}
	if len(m.Alerts) > c.digestThreshold {
		return []Payload{digestPayload(m, c.topN)}
	}
	var out []Payload
	for _, g := range byAccount(rankAlerts(m.Alerts)) {
		out = append(out, accountPayloads(g)...)
	}
	if len(m.TierChanges) > 0 {
		out = append(out, tierPayload(m, c.topN))
	}
	return out
}

// Text renders m as plain text: a summary line, then the alerts grouped by
// severity (critical, warning, info, resolved) and by account, each with its
// values, message and advice, then the proposed IP-pool moves. Nothing is
// left out or truncated. An empty Message renders as its summary line.
func Text(m Message) string {
	var b strings.Builder
	b.WriteString(summary(m))
	b.WriteString("\n")
	for _, g := range groups(m.Alerts) {
		fmt.Fprintf(&b, "\n%s (%d)\n", strings.ToUpper(g.title), len(g.alerts))
		for _, ag := range byAccount(g.alerts) {
			fmt.Fprintf(&b, "  %s\n", oneLine(ag.account))
			for _, a := range ag.alerts {
				if a.State == alert.Resolved {
					fmt.Fprintf(&b, "    - %s\n", oneLine(resolvedLine(a)))
					continue
				}
				fmt.Fprintf(&b, "    - %s\n", oneLine(alertLine(a)))
				if a.Message != "" {
					fmt.Fprintf(&b, "      %s\n", oneLine(a.Message))
				}
				if a.Advice != "" {
					fmt.Fprintf(&b, "      Advice: %s\n", oneLine(a.Advice))
				}
			}
		}
	}
	if len(m.TierChanges) > 0 {
		fmt.Fprintf(&b, "\nPROPOSED IP-POOL MOVES (%d)\n", len(m.TierChanges))
		for _, tc := range m.TierChanges {
			fmt.Fprintf(&b, "  - %s\n", oneLine(tierLine(tc)))
		}
	}
	return b.String()
}

// ---- alert wording ----

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
	r := string(a.Rule)
	if r == "" {
		r = "alert"
	}
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

func num(v *float64) string {
	if v == nil {
		return "none"
	}
	if math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "none"
	}
	return strconv.FormatFloat(math.Round(*v*100)/100, 'f', -1, 64)
}

// values is "score 4.2 → 1.8".
func values(a alert.Alert) string {
	return subject(a) + " " + num(a.From) + " → " + num(a.To)
}

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

// alertLine is the plain one-line form of a firing alert, without account.
func alertLine(a alert.Alert) string {
	parts := []string{"[" + sevLabel(a.Severity) + "] " + ruleOnly(a) + ": " + values(a)}
	if s := sinceText(a); s != "" {
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
	if a.To != nil {
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

func sevEmoji(s alert.Severity) string {
	switch s {
	case alert.Critical:
		return ":red_circle:"
	case alert.Warning:
		return ":large_orange_circle:"
	case alert.Info:
		return ":large_blue_circle:"
	}
	return ":white_circle:"
}

func sevTitle(s alert.Severity) string {
	switch s {
	case alert.Critical:
		return "Critical"
	case alert.Warning:
		return "Warning"
	case alert.Info:
		return "Info"
	}
	return "Other"
}

// summary is the first line of Text and the digest's fallback.
func summary(m Message) string {
	var crit, warn, info, other, resolved int
	for _, a := range m.Alerts {
		if a.State == alert.Resolved {
			resolved++
			continue
		}
		switch a.Severity {
		case alert.Critical:
			crit++
		case alert.Warning:
			warn++
		case alert.Info:
			info++
		default:
			other++
		}
	}
	firing := crit + warn + info + other
	s := "SEQ monitor"
	if !m.Date.IsZero() {
		s += ", " + m.Date.String()
	}
	if firing == 0 && resolved == 0 {
		s += ": no alerts"
	} else {
		s += fmt.Sprintf(": %d firing (%d critical, %d warning, %d info", firing, crit, warn, info)
		if other > 0 {
			s += fmt.Sprintf(", %d other", other)
		}
		s += fmt.Sprintf("), %d resolved", resolved)
	}
	if n := len(m.TierChanges); n > 0 {
		s += fmt.Sprintf(", %d proposed IP-pool move", n)
		if n > 1 {
			s += "s"
		}
	}
	return s
}

// ---- ordering and grouping ----

// fall is how far the value fell (From - To); 0 when unknown.
func fall(a alert.Alert) float64 {
	if a.From == nil || a.To == nil {
		return 0
	}
	d := *a.From - *a.To
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return 0
	}
	return d
}

// rankAlerts sorts a copy: firing before resolved, most severe first, then
// the biggest fall, then account, rule, metric and key for stability.
func rankAlerts(as []alert.Alert) []alert.Alert {
	out := slices.Clone(as)
	slices.SortStableFunc(out, func(x, y alert.Alert) int {
		xr, yr := x.State == alert.Resolved, y.State == alert.Resolved
		if xr != yr {
			if xr {
				return 1
			}
			return -1
		}
		return cmp.Or(
			cmp.Compare(y.Severity.Rank(), x.Severity.Rank()),
			cmp.Compare(fall(y), fall(x)),
			cmp.Compare(x.Account, y.Account),
			cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Metric, y.Metric),
			cmp.Compare(x.Key, y.Key),
		)
	})
	return out
}

type accountGroup struct {
	account string
	alerts  []alert.Alert
}

// byAccount groups ranked alerts by account, accounts in order of first
// appearance (so the account with the worst alert comes first).
func byAccount(as []alert.Alert) []accountGroup {
	var out []accountGroup
	idx := map[string]int{}
	for _, a := range as {
		i, ok := idx[a.Account]
		if !ok {
			i = len(out)
			idx[a.Account] = i
			out = append(out, accountGroup{account: a.Account})
		}
		out[i].alerts = append(out[i].alerts, a)
	}
	return out
}

type sevGroup struct {
	title    string
	severity alert.Severity // "" for resolved
	resolved bool
	alerts   []alert.Alert
}

// groups splits alerts into critical, warning, info, other, resolved (empty
// groups left out), each ranked.
func groups(as []alert.Alert) []sevGroup {
	gs := []sevGroup{
		{title: "Critical", severity: alert.Critical},
		{title: "Warning", severity: alert.Warning},
		{title: "Info", severity: alert.Info},
		{title: "Other"},
		{title: "Resolved", resolved: true},
	}
	for _, a := range rankAlerts(as) {
		switch {
		case a.State == alert.Resolved:
			gs[4].alerts = append(gs[4].alerts, a)
		case a.Severity == alert.Critical:
			gs[0].alerts = append(gs[0].alerts, a)
		case a.Severity == alert.Warning:
			gs[1].alerts = append(gs[1].alerts, a)
		case a.Severity == alert.Info:
			gs[2].alerts = append(gs[2].alerts, a)
		default:
			gs[3].alerts = append(gs[3].alerts, a)
		}
	}
	return slices.DeleteFunc(gs, func(g sevGroup) bool { return len(g.alerts) == 0 })
}

// ---- text limits ----

// utf16Len is the length Slack counts (JavaScript string length).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		n += w
	}
	return n
}

// truncate shortens s to at most max characters (UTF-16 units, as Slack
// counts), cutting on a rune boundary and ending with "…".
func truncate(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf16Len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > max-1 {
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

// truncateMrkdwn is truncate for escaped mrkdwn: it never leaves half an
// entity (&amp; &lt; &gt;) before the "…".
func truncateMrkdwn(s string, max int) string {
	t := truncate(s, max)
	if t == s {
		return t
	}
	body := strings.TrimSuffix(t, "…")
	if amp := strings.LastIndexByte(body, '&'); amp >= 0 && !strings.Contains(body[amp:], ";") {
		body = body[:amp]
	}
	return body + "…"
}

// esc escapes the three characters Slack's mrkdwn requires escaping.
func esc(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// oneLine folds newlines and tabs into spaces and drops other control
// characters, so names and advice cannot break the layout.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// ---- blocks ----

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncateMrkdwn(s, MaxSectionText), false, false)
}

func section(s string) slack.Block { return slack.NewSectionBlock(mrkdwn(s), nil, nil) }

func contextBlock(s string) slack.Block { return slack.NewContextBlock("", mrkdwn(s)) }

func header(s string) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(oneLine(s), MaxHeaderText), true, false))
}

// chunk packs lines into texts of at most MaxSectionText characters (joined
// by newlines); a single longer line is truncated.
func chunk(lines []string) []string {
	var out []string
	var cur strings.Builder
	curLen := 0
	for _, l := range lines {
		l = truncateMrkdwn(l, MaxSectionText)
		ll := utf16Len(l)
		if curLen > 0 && curLen+1+ll > MaxSectionText {
			out = append(out, cur.String())
			cur.Reset()
			curLen = 0
		}
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(l)
		curLen += ll
	}
	if curLen > 0 {
		out = append(out, cur.String())
	}
	return out
}

// fitBlocks caps blocks at MaxBlocks, replacing the tail with a note.
func fitBlocks(bs []slack.Block) []slack.Block {
	if len(bs) <= MaxBlocks {
		return bs
	}
	omitted := len(bs) - (MaxBlocks - 1)
	out := slices.Clone(bs[:MaxBlocks-1])
	return append(out, contextBlock(fmt.Sprintf("_…%d more blocks not shown (Slack allows %d a message); run `sgseq status` for everything._", omitted, MaxBlocks)))
}

// mAlertLine is the mrkdwn one-liner of a firing alert (without account).
func mAlertLine(a alert.Alert, emoji bool) string {
	s := "*"
	if emoji {
		s = sevEmoji(a.Severity) + " *"
	}
	s += esc(oneLine(ruleOnly(a))) + "*: " + esc(subject(a)) + " *" + num(a.From) + " → " + num(a.To) + "*"
	if st := sinceText(a); st != "" {
		s += " · " + st
	}
	if a.Reminder {
		s += " · _reminder_"
	}
	return s
}

func mResolvedLine(a alert.Alert, emoji bool) string {
	if !emoji {
		return esc(oneLine(resolvedLine(a)))
	}
	return ":white_check_mark: " + esc(oneLine(resolvedLine(a)))
}

// accountPayloads builds the messages of one account: a header naming the
// account and its worst severity, a section (and advice context) per firing
// alert, a line per resolved alert. Split across messages if over 50 blocks.
func accountPayloads(g accountGroup) []Payload {
	acct := oneLine(g.account)
	var firing []alert.Alert
	for _, a := range g.alerts {
		if a.State != alert.Resolved {
			firing = append(firing, a)
		}
	}
	var head string
	if len(firing) > 0 {
		worst := firing[0].Severity // ranked: most severe first
		head = sevEmoji(worst) + " SEQ " + strings.ToLower(sevLabel(worst)) + ": " + acct
	}
	type item struct {
		blocks []slack.Block
		text   string
		key    string
	}
	var items []item
	for _, a := range g.alerts {
		var it item
		it.key = a.Key
		if a.State == alert.Resolved {
			it.blocks = []slack.Block{section(":white_check_mark: *" + esc(acct) + "* · " + mResolvedLine(a, false))}
			it.text = "RESOLVED " + acct + ": " + oneLine(resolvedLine(a))
		} else {
			txt := mAlertLine(a, true)
			if !a.Date.IsZero() {
				txt += " · scored day " + a.Date.String()
			}
			if a.Message != "" {
				txt += "\n" + esc(oneLine(a.Message))
			}
			it.blocks = []slack.Block{section(txt)}
			if a.Advice != "" {
				it.blocks = append(it.blocks, contextBlock(":bulb: "+esc(oneLine(a.Advice))))
			}
			it.text = acct + ": " + oneLine(alertLine(a))
		}
		items = append(items, it)
	}
	var out []Payload
	var cur Payload
	var texts []string
	flush := func() {
		if len(cur.Keys) == 0 {
			return
		}
		cur.Text = truncateMrkdwn(esc(strings.Join(texts, "\n")), MaxFallback)
		out = append(out, cur)
		cur, texts = Payload{}, nil
	}
	for _, it := range items {
		if len(cur.Blocks) > 0 && len(cur.Blocks)+len(it.blocks) > MaxBlocks {
			flush()
		}
		if len(cur.Blocks) == 0 && head != "" {
			h := head
			if len(out) > 0 {
				h += " (continued)"
			}
			cur.Blocks = append(cur.Blocks, header(h))
		}
		cur.Blocks = append(cur.Blocks, it.blocks...)
		cur.Keys = append(cur.Keys, it.key)
		texts = append(texts, it.text)
	}
	flush()
	return out
}

// digestLines lists a group's top n alerts, grouped by account, then
// "…and K more". plain selects the fallback form.
func digestLines(g sevGroup, n int, plain bool) []string {
	shown := g.alerts[:min(n, len(g.alerts))]
	var lines []string
	for _, ag := range byAccount(shown) {
		acct := oneLine(ag.account)
		line := func(a alert.Alert) string {
			switch {
			case plain && a.State == alert.Resolved:
				return oneLine(resolvedLine(a))
			case plain:
				return oneLine(alertLine(a))
			case a.State == alert.Resolved:
				return mResolvedLine(a, false)
			}
			return mAlertLine(a, false)
		}
		if len(ag.alerts) == 1 {
			if plain {
				lines = append(lines, "- "+acct+": "+line(ag.alerts[0]))
			} else {
				lines = append(lines, "• *"+esc(acct)+"* · "+line(ag.alerts[0]))
			}
			continue
		}
		if plain {
			lines = append(lines, "- "+acct+":")
		} else {
			lines = append(lines, "*"+esc(acct)+"*")
		}
		for _, a := range ag.alerts {
			if plain {
				lines = append(lines, "    "+line(a))
			} else {
				lines = append(lines, "      • "+line(a))
			}
		}
	}
	if k := len(g.alerts) - len(shown); k > 0 {
		if plain {
			lines = append(lines, fmt.Sprintf("…and %d more", k))
		} else {
			lines = append(lines, fmt.Sprintf("_…and %d more_", k))
		}
	}
	return lines
}

func groupTitle(g sevGroup) string {
	if g.resolved {
		return fmt.Sprintf(":white_check_mark: *Resolved (%d)*", len(g.alerts))
	}
	return fmt.Sprintf("%s *%s (%d)*", sevEmoji(g.severity), sevTitle(g.severity), len(g.alerts))
}

func tierLines(tcs []alert.TierChange, n int, plain bool) []string {
	var lines []string
	for _, tc := range tcs[:min(n, len(tcs))] {
		if plain {
			lines = append(lines, "- "+oneLine(tierLine(tc)))
			continue
		}
		s := "• *" + esc(oneLine(tc.Username)) + "*: " + esc(oneLine(tierSide(tc.FromTier, tc.FromPool))) + " → *" + esc(oneLine(tierSide(tc.ToTier, tc.ToPool))) + "*"
		if tc.Reason != "" {
			s += " · " + esc(oneLine(tc.Reason))
		}
		lines = append(lines, s)
	}
	if k := len(tcs) - min(n, len(tcs)); k > 0 {
		if plain {
			lines = append(lines, fmt.Sprintf("…and %d more", k))
		} else {
			lines = append(lines, fmt.Sprintf("_…and %d more_", k))
		}
	}
	return lines
}

const tierTitle = "Proposed IP-pool moves"

// tierBlocks is the "Proposed IP-pool moves" section(s).
func tierBlocks(tcs []alert.TierChange, n int) []slack.Block {
	lines := append([]string{fmt.Sprintf(":twisted_rightwards_arrows: *%s (%d)*", tierTitle, len(tcs))}, tierLines(tcs, n, false)...)
	var bs []slack.Block
	for _, t := range chunk(lines) {
		bs = append(bs, section(t))
	}
	return bs
}

func tierPayload(m Message, n int) Payload {
	title := tierTitle
	if !m.Date.IsZero() {
		title += ", " + m.Date.String()
	}
	bs := append([]slack.Block{header(title)}, tierBlocks(m.TierChanges, n)...)
	text := append([]string{fmt.Sprintf("%s (%d)", title, len(m.TierChanges))}, tierLines(m.TierChanges, n, true)...)
	return Payload{Blocks: fitBlocks(bs), Text: truncateMrkdwn(esc(strings.Join(text, "\n")), MaxFallback)}
}

// adviceLines lists each distinct advice of the shown firing alerts once.
func adviceLines(gs []sevGroup, n int) []string {
	seen := map[string]bool{}
	var lines []string
	for _, g := range gs {
		if g.resolved {
			continue
		}
		for _, a := range g.alerts[:min(n, len(g.alerts))] {
			adv := oneLine(a.Advice)
			if adv == "" || seen[adv] {
				continue
			}
			seen[adv] = true
			lines = append(lines, "• *"+esc(oneLine(ruleName(a)))+"*: "+truncateMrkdwn(esc(adv), 600))
		}
	}
	return lines
}

// digestPayload is the single message of a large sweep.
func digestPayload(m Message, n int) Payload {
	title := "SEQ digest"
	if !m.Date.IsZero() {
		title += ", " + m.Date.String()
	}
	gs := groups(m.Alerts)
	if len(gs) > 0 && !gs[0].resolved {
		title = sevEmoji(gs[0].severity) + " " + title
	}
	bs := []slack.Block{header(title), contextBlock(esc(strings.TrimPrefix(summary(m), "SEQ monitor, ")))}
	text := []string{summary(m)}
	for _, g := range gs {
		bs = append(bs, slack.NewDividerBlock())
		lines := append([]string{groupTitle(g)}, digestLines(g, n, false)...)
		for _, t := range chunk(lines) {
			bs = append(bs, section(t))
		}
		text = append(text, strings.ToUpper(g.title)+":")
		text = append(text, digestLines(g, n, true)...)
	}
	if len(m.TierChanges) > 0 {
		bs = append(bs, slack.NewDividerBlock())
		bs = append(bs, tierBlocks(m.TierChanges, n)...)
		text = append(text, tierTitle+":")
		text = append(text, tierLines(m.TierChanges, n, true)...)
	}
	if adv := adviceLines(gs, n); len(adv) > 0 {
		bs = append(bs, slack.NewDividerBlock())
		for _, t := range chunk(append([]string{":bulb: *What to do*"}, adv...)) {
			bs = append(bs, section(t))
		}
	}
	return Payload{
		Blocks: fitBlocks(bs),
		Text:   truncateMrkdwn(esc(strings.Join(text, "\n")), MaxFallback),
		Keys:   keysOf(m.Alerts),
		Digest: true,
	}
}
