package notify

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenMessage covers every shape of alert Text must render.
func goldenMessage() Message {
	drop := mk("acme-news", alert.RuleDrop, "", alert.Critical, 4.5, 2)
	drop.Message = "Score fell by 2.5 against the previous scored day."
	drop.Advice = "Review what changed in this sender's lists and content."
	er := mk("acme-news", alert.RuleMetric, client.MetricEngagementRecency, alert.Warning, 4, 1)
	er.Since = testDay.AddDays(-3)
	er.Reminder = true
	er.Message = "Engagement recency fell to 1."
	er.Advice = "Create a sunset policy that removes unengaged recipients, and use confirmed opt-in."
	spam := mk("acme-news", alert.RuleMetric, client.MetricSpamRate, alert.Warning, 5, 2)
	spam.Message = "Spam rate fell to 2.\nSecond line folded."
	spam.Advice = "Make sure recipients explicitly opted in; send at a sensible frequency."
	floor := mk(alert.ParentAccount, alert.RuleFloor, "", alert.Critical, 2.4, 1.666666)
	floor.Message = "Score 1.67 is at or below the floor 2."
	floor.Advice = ""
	elig := mk("quiet-sender", alert.RuleEligibility, "", alert.Info, 3, 0)
	elig.To = nil
	elig.Since = testDay.AddDays(-6)
	elig.Message = "No score for 7 days: open tracking off, or under 1,000 messages in 30 days."
	elig.Advice = "Turn on open tracking; check the sending volume."
	out := mk("bulk-co", alert.RuleOutlier, "", alert.Warning, 4, 1.5)
	out.Message = "Underperforming sender in pool seq-mid (pool median 4)."
	out.Advice = ""
	res := resolved("gamma", alert.RuleBaseline)
	res2 := resolved("acme-news", alert.RuleFloor)
	res2.To = nil
	return Message{
		Date:   testDay,
		Alerts: []alert.Alert{res, er, drop, spam, floor, elig, out, res2},
		TierChanges: []alert.TierChange{
			{Username: "acme-news", FromTier: "high", ToTier: "low", FromPool: "seq-high", ToPool: "seq-low", Reason: "7-day median 2.0 (was 4.5), held 3 days"},
			{Username: "new-sender", ToTier: "mid", ToPool: "seq-mid", Reason: "first placement"},
		},
	}
}

func TestTextGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    Message
	}{
		{"sweep", goldenMessage()},
		{"empty", Message{Date: testDay}},
		{"tiers-only", Message{Date: testDay, TierChanges: goldenMessage().TierChanges}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Text(tt.m)
			path := filepath.Join("testdata", "text-"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Text() differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// checkLimits asserts Slack's limits on every payload and returns the keys
// carried, in order.
func checkLimits(t *testing.T, ps []Payload) []string {
	t.Helper()
	var keys []string
	brokenEntity := regexp.MustCompile(`&[a-z]{0,3}…`)
	for i, p := range ps {
		keys = append(keys, p.Keys...)
		if n := len(p.Blocks); n == 0 || n > MaxBlocks {
			t.Errorf("payload %d: %d blocks", i, n)
		}
		if n := utf16Len(p.Text); n == 0 || n > MaxMessageText {
			t.Errorf("payload %d: fallback of %d chars", i, n)
		}
		texts := []string{p.Text}
		js, err := json.Marshal(slack.Blocks{BlockSet: p.Blocks})
		if err != nil {
			t.Fatalf("payload %d: marshal: %v", i, err)
		}
		var bs []block
		if err := json.Unmarshal(js, &bs); err != nil {
			t.Fatal(err)
		}
		for j, b := range bs {
			switch b.Type {
			case "header":
				if n := utf16Len(b.Text.Text); n == 0 || n > MaxHeaderText {
					t.Errorf("payload %d block %d: header of %d chars", i, j, n)
				}
				texts = append(texts, b.Text.Text)
			case "section":
				if n := utf16Len(b.Text.Text); n == 0 || n > MaxSectionText {
					t.Errorf("payload %d block %d: section of %d chars", i, j, n)
				}
				texts = append(texts, b.Text.Text)
			case "context":
				for _, e := range b.Elements {
					if n := utf16Len(e.Text); n == 0 || n > MaxSectionText {
						t.Errorf("payload %d block %d: context of %d chars", i, j, n)
					}
					texts = append(texts, e.Text)
				}
			case "divider":
			default:
				t.Errorf("payload %d block %d: unexpected type %q", i, j, b.Type)
			}
		}
		for _, s := range texts {
			if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
				t.Errorf("payload %d: invalid UTF-8 in %q", i, s)
			}
			if brokenEntity.MatchString(s) {
				t.Errorf("payload %d: entity cut in half: %q", i, s[max(0, len(s)-40):])
			}
		}
	}
	return keys
}

func longName(i int) string {
	return fmt.Sprintf("sender-%03d-%s", i, strings.Repeat("très-long-nom-😀-&-<x>-", 200))
}

func TestBlocksLimits(t *testing.T) {
	t.Parallel()
	longAdvice := strings.Repeat("Create a sunset policy & confirm opt-in 📬. ", 300)
	long := func(n int) []alert.Alert {
		as := many(n, "")
		for i := range as {
			as[i].Account = longName(i / 2)
			as[i].Advice = longAdvice + fmt.Sprint(i) // all distinct
			as[i].Message = strings.Repeat("ü", 4000)
		}
		return as
	}
	oneAccount := many(300, "x")
	for i := range oneAccount {
		oneAccount[i].Account = "same-account"
	}
	var tiers []alert.TierChange
	for i := range 400 {
		tiers = append(tiers, alert.TierChange{Username: longName(i), FromTier: "high", ToTier: "low", FromPool: "a&b", ToPool: "c<d", Reason: longAdvice})
	}
	tests := []struct {
		name    string
		m       Message
		opts    []Option
		digest  bool
		wantMin int // payloads
	}{
		{"digest of 500", Message{Date: testDay, Alerts: many(500, "acct-")}, nil, true, 1},
		{"digest of 300 long", Message{Date: testDay, Alerts: long(300), TierChanges: tiers}, []Option{WithTopN(200)}, true, 1},
		{"per account, long", Message{Date: testDay, Alerts: long(5)}, nil, false, 3},
		{"per account, 300 in one account", Message{Date: testDay, Alerts: oneAccount}, []Option{WithDigestThreshold(1000)}, false, 7},
		{"per account, 200 accounts", Message{Date: testDay, Alerts: long(200)}, []Option{WithDigestThreshold(1000)}, false, 100},
		{"tier changes only", Message{Date: testDay, TierChanges: tiers}, []Option{WithTopN(1000)}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, err := Payloads(tt.m, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) < tt.wantMin {
				t.Errorf("%d payloads, want at least %d", len(ps), tt.wantMin)
			}
			for _, p := range ps {
				if p.Digest != tt.digest {
					t.Errorf("payload Digest = %v, want %v", p.Digest, tt.digest)
				}
			}
			keys := checkLimits(t, ps)
			if !sameSet(keys, keysOf(tt.m.Alerts)) || len(keys) != len(tt.m.Alerts) {
				t.Errorf("payloads carry %d keys, want each of the %d alerts once", len(keys), len(tt.m.Alerts))
			}
		})
	}
}

func TestDigestGrouping(t *testing.T) {
	t.Parallel()
	var as []alert.Alert
	// 12 critical with growing falls; the top 10 are the biggest falls.
	for i := range 12 {
		as = append(as, mk(fmt.Sprintf("crit-%02d", i), alert.RuleDrop, "", alert.Critical, 5, 5-float64(i)/4))
	}
	// one account with two warnings: grouped under the account.
	as = append(as, mk("multi", alert.RuleDrop, "", alert.Warning, 4, 3), mk("multi", alert.RuleMetric, client.MetricBounceRate, alert.Warning, 4, 2))
	as = append(as, resolved("fixed", alert.RuleFloor))
	ps, err := Payloads(Message{Date: testDay, Alerts: as})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !ps[0].Digest {
		t.Fatalf("want one digest, got %d payloads", len(ps))
	}
	checkLimits(t, ps)
	js, _ := json.Marshal(slack.Blocks{BlockSet: ps[0].Blocks})
	var bs []block
	if err := json.Unmarshal(js, &bs); err != nil {
		t.Fatal(err)
	}
	all := posted{Blocks: bs}.all()
	if !strings.HasPrefix(bs[0].Text.Text, ":red_circle: SEQ digest, 2026-11-24") {
		t.Errorf("header = %q", bs[0].Text.Text)
	}
	for _, want := range []string{
		":red_circle: *Critical (12 accounts, 12 alerts)*", ":red_circle: *crit-11* · score 5 → 2.25 (drop) · since 11-23",
		":large_orange_circle: *Warning (1 account, 2 alerts)*",
		// one line per account, its alerts together
		":large_orange_circle: *multi* · score 4 → 3 (drop) · bounce rate 4 → 2 · since 11-23",
		":white_check_mark: *Resolved (1 account)*", ":white_check_mark: *fixed* · resolved: floor (score 4)",
		":bulb: *What to do*", "• *metric bounce rate*: Advice for metric bounce_rate",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("digest lacks %q:\n%s", want, all)
		}
	}
	for i := range 12 { // every account, once
		if c := strings.Count(all, fmt.Sprintf("*crit-%02d*", i)); c != 1 {
			t.Errorf("crit-%02d named %d times, want 1", i, c)
		}
	}
	if i, j := strings.Index(all, "crit-11"), strings.Index(all, "crit-10"); i < 0 || j < i {
		t.Errorf("critical alerts not ranked by fall")
	}
}

func TestDigestThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, threshold int
		digest       bool
	}{
		{5, 5, false}, {6, 5, true}, {1, 0, true}, {3, 2, true}, {2, 2, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d alerts threshold %d", tt.n, tt.threshold), func(t *testing.T) {
			t.Parallel()
			ps, err := Payloads(Message{Date: testDay, Alerts: many(tt.n, "a")}, WithDigestThreshold(tt.threshold))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ps) == 1 && ps[0].Digest; got != tt.digest {
				t.Errorf("digest = %v, want %v", got, tt.digest)
			}
		})
	}
	if _, err := Payloads(Message{}, WithTopN(-1)); err == nil {
		t.Error("Blocks with an invalid option: want an error")
	}
	if ps, err := Payloads(Message{Date: testDay}); err != nil || len(ps) != 0 {
		t.Errorf("Payloads(empty) = %d payloads, %v", len(ps), err)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
		mrkdwn   bool
	}{
		{"short", "abc", 3, "abc", false},
		{"cut", "abcdef", 4, "abc…", false},
		{"runes", "ééééé", 3, "éé…", false},
		{"emoji counts two", "😀😀😀", 4, "😀…", false},
		{"emoji not split", "a😀b", 2, "a…", false},
		{"invalid utf8", "ab\xffcd", 3, "ab…", false},
		{"zero", "abc", 0, "", false},
		{"entity kept whole", "a &amp; b", 5, "a …", true},
		{"entity complete", "a &amp; b", 8, "a &amp;…", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := truncate(tt.in, tt.max)
			if tt.mrkdwn {
				got = truncateMrkdwn(tt.in, tt.max)
			}
			if got != tt.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if utf16Len(got) > tt.max || !utf8.ValidString(got) {
				t.Errorf("result %q over limit or invalid", got)
			}
		})
	}
}

func BenchmarkPayloads(b *testing.B) {
	for _, n := range []int{5, 1000} {
		m := Message{Date: testDay, Alerts: many(n, "acct-")}
		b.Run(fmt.Sprintf("%d alerts", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Payloads(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
