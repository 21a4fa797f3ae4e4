package notify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/monitor/alert"
)

// ---- digest: packing lines into messages ----

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

func accountsText(n int) string { return fmt.Sprintf("%d account%s", n, plural(n)) }

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
		more = append(more, fmt.Sprintf("%d more account%s", accts, plural(accts)))
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
