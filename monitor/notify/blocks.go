package notify

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/monitor/alert"
)

// ---- blocks ----

// Payload is one Slack message: Block Kit blocks, the plain-text fallback
// Slack shows in notifications, and what it carries.
type Payload struct {
	// Text is the fallback, escaped for mrkdwn (&amp; &lt; &gt;).
	Text   string
	Blocks []slack.Block
	// Keys are the keys of the alerts the message names.
	Keys []string
	// Digest is true for the messages of a digest: its first message and
	// the continuations.
	Digest bool
	// Continuation is true for a digest's second and later messages: a bot
	// posts them as replies in the first message's thread (thread_ts), a
	// webhook as follow-up messages.
	Continuation bool
	// TierChanges is true on the message that completes the list of
	// proposed IP-pool moves.
	TierChanges bool
}

// Payloads builds the Slack messages for m. With more alerts than the digest
// threshold, or on a first check, it is a digest: one line per account,
// worst first, grouped by severity, the proposed IP-pool moves, then each
// piece of advice once. A digest that does not fit one message (50 blocks,
// 40,000 characters) becomes a first message with the counts by severity,
// the top N worst accounts and the advice, followed by continuations naming
// every other account. Otherwise it is one message per account (an account
// with many alerts may span several), advice given once per rule and metric,
// plus the proposed IP-pool moves. Every alert is named exactly once across
// the payloads. An empty Message gives no payload. Options other than
// WithDigestThreshold, WithTopN and WithExternalURL are ignored.
func Payloads(m Message, opts ...Option) ([]Payload, error) {
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
	if len(m.Alerts) > c.digestThreshold || (m.FirstCheck && len(m.Alerts) > 0) {
		return digestPayloads(m, c)
	}
	var out []Payload
	advised := map[string]bool{}
	for _, g := range byAccount(rankAlerts(m.Alerts)) {
		out = append(out, accountPayloads(g, c.externalURL, advised)...)
	}
	if len(m.TierChanges) > 0 {
		out = append(out, tierPayloads(m)...)
	}
	return out
}

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

// accountURL is the account's page on the status server, or "".
func accountURL(base, account string) string {
	if base == "" {
		return ""
	}
	return base + "/accounts/" + url.PathEscape(account)
}

// overviewURL is the status server's overview page, or "".
func overviewURL(base string) string {
	if base == "" {
		return ""
	}
	return base + "/"
}

// link is mrkdwn "<url|text>" (text escaped), or the escaped text alone.
func link(u, text string) string {
	if u == "" {
		return esc(text)
	}
	return "<" + u + "|" + esc(text) + ">"
}

// adviceKey is what advice is given once per: the rule and the metric.
func adviceKey(a alert.Alert) string { return string(a.Rule) + "/" + string(a.Metric) }

// mAlertLine is the mrkdwn one-liner of a firing alert (without account).
func mAlertLine(a alert.Alert) string {
	s := sevEmoji(a.Severity) + " *" + esc(oneLine(ruleOnly(a))) + "*: *" + esc(oneLine(values(a))) + "*"
	if st := sinceText(a); st != "" && a.Rule != alert.RuleEligibility {
		s += " · " + st
	}
	if a.Reminder {
		s += " · _reminder_"
	}
	return s
}

// accountPayloads builds the messages of one account: a header naming the
// account and its worst severity, a section per firing alert (and advice
// the first time its rule and metric appear in the delivery: advised), a
// line per resolved alert. Split across messages if over 50 blocks.
func accountPayloads(g accountGroup, base string, advised map[string]bool) []Payload {
	acct := oneLine(g.account)
	var head string
	if w := g.worst(); w.State != alert.Resolved {
		head = sevEmoji(w.Severity) + " SEQ " + strings.ToLower(sevLabel(w.Severity)) + ": " + acct
	}
	type item struct {
		blocks []slack.Block
		text   string
		key    string
	}
	var items []item
	for _, a := range g.alerts {
		it := item{key: a.Key}
		if a.State == alert.Resolved {
			it.blocks = []slack.Block{section(":white_check_mark: *" + link(accountURL(base, g.account), acct) + "* · " + esc(oneLine(resolvedLine(a))))}
			it.text = "RESOLVED " + acct + ": " + oneLine(resolvedLine(a))
		} else {
			txt := mAlertLine(a)
			if !a.Date.IsZero() {
				txt += " · scored day " + a.Date.String()
			}
			if a.Message != "" {
				txt += "\n" + esc(oneLine(a.Message))
			}
			it.blocks = []slack.Block{section(txt)}
			if adv := oneLine(a.Advice); adv != "" && !advised[adviceKey(a)] && !advised[adv] {
				advised[adviceKey(a)], advised[adv] = true, true
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
		cur.Text = truncateMrkdwn(esc(strings.Join(texts, "\n")), MaxMessageText)
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
			if u := accountURL(base, g.account); u != "" && len(out) == 0 {
				cur.Blocks = append(cur.Blocks, contextBlock(link(u, acct)+" · "+link(overviewURL(base), "overview")))
			}
		}
		cur.Blocks = append(cur.Blocks, it.blocks...)
		cur.Keys = append(cur.Keys, it.key)
		texts = append(texts, it.text)
	}
	flush()
	return out
}

// tierMLine is the mrkdwn line of a proposed move.
func tierMLine(tc alert.TierChange) string {
	s := "• *" + esc(oneLine(tc.Username)) + "*: " + esc(oneLine(tierSide(tc.FromTier, tc.FromPool))) + " → *" + esc(oneLine(tierSide(tc.ToTier, tc.ToPool))) + "*"
	if tc.Reason != "" {
		s += " · " + esc(oneLine(tc.Reason))
	}
	return s
}

const tierTitle = "Proposed IP-pool moves"

// tierPayloads lists every proposed move, in as many messages as needed.
func tierPayloads(m Message) []Payload {
	title := tierTitle
	if !m.Date.IsZero() {
		title += ", " + m.Date.String()
	}
	var ls []line
	for _, tc := range m.TierChanges {
		ls = append(ls, line{m: tierMLine(tc), plain: "- " + oneLine(tierLine(tc)), tiers: true,
			group: fmt.Sprintf(":twisted_rightwards_arrows: *%s (%d)*", tierTitle, len(m.TierChanges))})
	}
	first := []slack.Block{header(title)}
	ps := pack(ls, func(part int) ([]slack.Block, string) {
		if part == 1 {
			return first, title
		}
		return []slack.Block{header(title + " (continued)")}, title + " (continued)"
	})
	return ps
}
