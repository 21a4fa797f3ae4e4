package notify

import (
	"fmt"
	"net/url"
	"slices"
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

// line is one line of a digest or of a list of moves: the mrkdwn and plain
// forms, the alert keys it names, the group it belongs to (its title line,
// repeated at the top of each message it spans).
type line struct {
	m, plain string
	keys     []string
	group    string
	plainGrp string
	tiers    bool
}

// pack lays lines out in messages within Slack's limits: each message
// starts with the blocks (and fallback line) lead returns for its 1-based
// part number, then sections of lines, a group's title line first in each
// message where the group appears. Each line is in exactly one message.
func pack(ls []line, lead func(part int) ([]slack.Block, string)) []Payload {
	var out []Payload
	started := map[string]bool{}
	for len(ls) > 0 {
		bs, plainHead := lead(len(out) + 1)
		p, n := packOne(ls, slices.Clone(bs), plainHead, started)
		out = append(out, p)
		ls = ls[n:]
	}
	// The moves are recorded as sent with the message completing them.
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].TierChanges {
			for j := range i {
				out[j].TierChanges = false
			}
			break
		}
	}
	return out
}

// packOne fills one message from the head of ls and returns it with the
// number of lines used (at least one). A group already started in an
// earlier message (started, updated; nil for none) is titled "(continued)".
func packOne(ls []line, bs []slack.Block, plainHead string, started map[string]bool) (Payload, int) {
	chars := blocksLen(bs)
	plainHead = esc(plainHead)
	plain := []string{plainHead}
	plainLen := utf16Len(plainHead)
	var p Payload
	var sec []string
	secLen := 0
	group := ""
	closeSec := func() {
		if len(sec) > 0 {
			bs = append(bs, section(strings.Join(sec, "\n")))
			sec, secLen = nil, 0
		}
	}
	n := 0
	for _, l := range ls {
		var add []string
		var addPlain []string
		if l.group != group {
			title, plainTitle := l.group, l.plainGrp
			if started[l.group] {
				title += " (continued)"
				plainTitle = strings.TrimSuffix(plainTitle, ":") + " (continued):"
			}
			add = append(add, truncateMrkdwn(title, MaxSectionText))
			if plainTitle != "" {
				addPlain = append(addPlain, esc(plainTitle))
			}
		}
		add = append(add, truncateMrkdwn(l.m, MaxSectionText))
		addPlain = append(addPlain, truncateMrkdwn(esc(l.plain), MaxSectionText))
		addLen, addPlainLen := 0, 0
		for _, s := range add {
			addLen += utf16Len(s) + 1
		}
		for _, s := range addPlain {
			addPlainLen += utf16Len(s) + 1
		}
		// Blocks after adding: the closed ones, plus the open section, plus
		// one more section for each added text that does not fit it.
		nb, open, openLen := len(bs), len(sec) > 0, secLen
		if l.group != group && open {
			nb, open, openLen = nb+1, false, 0 // a new group starts a new section
		}
		for _, s := range add {
			sl := utf16Len(s)
			if open && openLen+1+sl <= MaxSectionText {
				openLen += 1 + sl
				continue
			}
			if open {
				nb++
			}
			open, openLen = true, sl
		}
		if open {
			nb++
		}
		if n > 0 && (nb > MaxBlocks || chars+addLen > MaxMessageText || plainLen+addPlainLen > MaxMessageText) {
			break
		}
		if l.group != group {
			closeSec()
			group = l.group
			if started != nil {
				started[group] = true
			}
		}
		for _, s := range add {
			sl := utf16Len(s)
			if len(sec) > 0 && secLen+1+sl > MaxSectionText {
				closeSec()
			}
			if len(sec) > 0 {
				secLen++
			}
			sec = append(sec, s)
			secLen += sl
		}
		chars += addLen
		plain = append(plain, addPlain...)
		plainLen += addPlainLen
		p.Keys = append(p.Keys, l.keys...)
		p.TierChanges = p.TierChanges || l.tiers
		n++
	}
	closeSec()
	p.Blocks = bs
	p.Text = truncateMrkdwn(strings.Join(plain, "\n"), MaxMessageText)
	return p, n
}

// blocksLen is the characters of text in bs.
func blocksLen(bs []slack.Block) int {
	n := 0
	for _, b := range bs {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			n += utf16Len(b.Text.Text)
		case *slack.SectionBlock:
			if b.Text != nil {
				n += utf16Len(b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					n += utf16Len(t.Text)
				}
			}
		}
	}
	return n
}

// digestLines is one line per account (worst first, grouped by severity),
// then one per proposed move.
func digestLines(m Message, base string) []line {
	var ls []line
	for _, g := range accountGroups(m.Alerts) {
		title := groupTitle(g)
		plainTitle := fmt.Sprintf("%s (%s):", strings.ToUpper(g.title), accountsText(len(g.accounts)))
		for _, ag := range g.accounts {
			acct := oneLine(ag.account)
			emoji := ":white_check_mark:"
			if w := ag.worst(); w.State != alert.Resolved {
				emoji = sevEmoji(w.Severity)
			}
			sum := oneLine(accountSummary(ag))
			ls = append(ls, line{
				m:     emoji + " *" + link(accountURL(base, ag.account), acct) + "* · " + esc(sum),
				plain: "- " + acct + " · " + sum,
				keys:  keysOf(ag.alerts), group: title, plainGrp: plainTitle,
			})
		}
	}
	for _, tc := range m.TierChanges {
		ls = append(ls, line{m: tierMLine(tc), plain: "- " + oneLine(tierLine(tc)), tiers: true,
			group:    fmt.Sprintf(":twisted_rightwards_arrows: *%s (%d)*", tierTitle, len(m.TierChanges)),
			plainGrp: fmt.Sprintf("%s (%d):", strings.ToUpper(tierTitle), len(m.TierChanges))})
	}
	return ls
}

func accountsText(n int) string {
	if n == 1 {
		return "1 account"
	}
	return fmt.Sprintf("%d accounts", n)
}

func groupTitle(g accountSevGroup) string {
	if g.resolved {
		return fmt.Sprintf(":white_check_mark: *Resolved (%s)*", accountsText(len(g.accounts)))
	}
	return fmt.Sprintf("%s *%s (%s, %d alerts)*", sevEmoji(g.severity), sevTitle(g.severity), accountsText(len(g.accounts)), len(g.alerts))
}

// adviceLines gives each piece of advice once per rule and metric (and a
// text shared by several rules once): that of the worst alert naming them.
func adviceLines(as []alert.Alert) []string {
	seen := map[string]bool{}
	var lines []string
	for _, a := range rankAlerts(as) {
		adv := oneLine(a.Advice)
		if a.State == alert.Resolved || adv == "" || seen[adviceKey(a)] || seen[adv] {
			continue
		}
		seen[adviceKey(a)], seen[adv] = true, true
		lines = append(lines, "• *"+esc(oneLine(ruleName(a)))+"*: "+truncateMrkdwn(esc(adv), 600))
	}
	return lines
}

func adviceBlocks(as []alert.Alert) []slack.Block {
	adv := adviceLines(as)
	if len(adv) == 0 {
		return nil
	}
	bs := []slack.Block{slack.NewDividerBlock()}
	for _, t := range chunk(append([]string{":bulb: *What to do*"}, adv...)) {
		bs = append(bs, section(t))
	}
	return bs
}

// digestTitle is the digest's header: "🔴 SEQ digest, 2026-11-24", with the
// first check's note.
func digestTitle(m Message) string {
	title := "SEQ digest"
	if !m.Date.IsZero() {
		title += ", " + m.Date.String()
	}
	if gs := groups(m.Alerts); len(gs) > 0 && !gs[0].resolved {
		title = sevEmoji(gs[0].severity) + " " + title
	}
	if fc := firstCheckText(m); fc != "" {
		title += " · " + fc
	}
	return title
}

// summaryContext is the digest's context line: the counts, linked to the
// overview page when the external URL is known.
func summaryContext(m Message, base string) string {
	s := esc(strings.TrimPrefix(summary(m), "SEQ monitor, "))
	if u := overviewURL(base); u != "" {
		s += " · " + link(u, "overview")
	}
	return s
}

// digestPayloads is the digest of m: one message when it fits, else a
// first message (counts, the worst accounts, advice) and continuations.
func digestPayloads(m Message, c *config) []Payload {
	title := digestTitle(m)
	ls := digestLines(m, c.externalURL)
	plainHead := summary(m)
	if fc := firstCheckText(m); fc != "" {
		plainHead += "; " + fc
	}
	lead := []slack.Block{header(title), contextBlock(summaryContext(m, c.externalURL)), slack.NewDividerBlock()}
	advice := adviceBlocks(m.Alerts)

	// One message, when everything fits.
	single, n := packOne(ls, slices.Clone(lead), plainHead, nil)
	if n == len(ls) && len(single.Blocks)+len(advice) <= MaxBlocks && blocksLen(single.Blocks)+blocksLen(advice) <= MaxMessageText {
		single.Blocks = append(single.Blocks, advice...)
		single.Digest = true
		return []Payload{single}
	}

	// The first message: the counts by severity, the top N worst accounts,
	// the advice; the rest follows.
	var alertLines, tierLines []line
	for _, l := range ls {
		if l.tiers {
			tierLines = append(tierLines, l)
		} else {
			alertLines = append(alertLines, l)
		}
	}
	top := alertLines[:min(c.topN, len(alertLines))]
	var counts []string
	for _, g := range accountGroups(m.Alerts) {
		emoji := ":white_check_mark:"
		if !g.resolved {
			emoji = sevEmoji(g.severity)
		}
		counts = append(counts, fmt.Sprintf("%s %s: %s", emoji, g.title, accountsText(len(g.accounts))))
	}
	firstLead := append(slices.Clone(lead), section(strings.Join(counts, " · ")))
	worst := make([]line, len(top))
	for i, l := range top {
		l.group, l.plainGrp = fmt.Sprintf("*Worst %s*", accountsText(len(top))), "WORST ACCOUNTS:"
		worst[i] = l
	}
	// Leave room for the advice and the closing note.
	first, used := packOne(worst, firstLead, plainHead, nil)
	if len(first.Blocks)+len(advice)+1 <= MaxBlocks && blocksLen(first.Blocks)+blocksLen(advice) <= MaxMessageText-200 {
		first.Blocks = append(first.Blocks, advice...)
		advice = nil
	}
	remaining := append(slices.Clone(alertLines[used:]), tierLines...)
	accts, moves := len(alertLines)-used, len(tierLines)
	var more []string
	if accts > 0 {
		more = append(more, fmt.Sprintf("%d more %s", accts, strings.TrimPrefix(accountsText(accts), fmt.Sprint(accts)+" ")))
	}
	if moves > 0 {
		more = append(more, fmt.Sprintf("%d proposed IP-pool move%s", moves, plural(moves)))
	}
	if advice != nil {
		more = append(more, "what to do")
	}
	where := "in the following messages"
	if c.threaded {
		where = "in this thread"
	}
	note := strings.Join(more, ", ") + " " + where
	first.Blocks = append(first.Blocks, contextBlock("_"+esc(note)+"._"))
	first.Text += "\n" + esc(note)
	first.Digest = true
	// Each continuation starts with "SEQ digest, 2026-11-24 · part 2 of 5".
	plainTitle := "SEQ digest"
	if !m.Date.IsZero() {
		plainTitle += ", " + m.Date.String()
	}
	label := func(part, parts int) string { return fmt.Sprintf("%s · part %d of %d", plainTitle, part, parts) }
	conts := pack(remaining, func(part int) ([]slack.Block, string) {
		s := label(part+1, 9999) // the widest label: rewritten below
		return []slack.Block{contextBlock(esc(s))}, s
	})
	if advice != nil {
		// Too big for the first message: the advice closes the digest.
		conts = append(conts, Payload{Blocks: append([]slack.Block{contextBlock("")}, advice[1:]...), Text: "\nWhat to do:\n" + strings.Join(adviceLines(m.Alerts), "\n")})
	}
	out := []Payload{first}
	parts := 1 + len(conts)
	for i, p := range conts {
		s := label(i+2, parts)
		p.Blocks[0] = contextBlock(esc(s))
		if _, after, ok := strings.Cut(p.Text, "\n"); ok {
			p.Text = s + "\n" + after
		} else {
			p.Text = s
		}
		p.Digest, p.Continuation = true, true
		out = append(out, p)
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
