package notify

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ---- Slack limits ----

// Slack's limits on a message, enforced by [Payloads].
const (
	MaxBlocks      = 50    // blocks in one message
	MaxSectionText = 3000  // characters in a section or context text
	MaxHeaderText  = 150   // characters in a header block
	MaxMessageText = 40000 // characters in one message: its blocks' texts together, and its fallback text
)

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
