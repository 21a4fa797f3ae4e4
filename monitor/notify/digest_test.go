package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/rules"
)

// busyDay is a deterministic busy day: n alerting accounts out of n+n/3
// monitored, with every shape of alert the rules and the pool detector
// raise: a drop with the floor and metrics, a floor on the first stored
// day, an IP-pool outlier, a baseline against a fractional median, a
// metric drop, an eligibility gap and a few resolved, plus proposed moves.
func busyDay(n int, first bool) Message {
	companies := []string{"cyberdyne", "initech", "umbrella", "acme", "globex", "hooli", "stark", "wayne", "tyrell", "soylent"}
	kinds := []string{"billing", "news", "alerts", "marketing", "receipts"}
	day := testDay
	f := client.Float
	var as []alert.Alert
	add := func(acct string, rule alert.Rule, metric client.Metric, sev alert.Severity, from, to *float64, since client.Date, msg string) {
		a := alert.Alert{Key: alert.Key(acct, rule, metric), Account: acct, Rule: rule, Metric: metric,
			Severity: sev, State: alert.Firing, Date: day, Since: since, From: from, To: to, Message: msg}
		if metric != "" {
			a.Advice = rules.Advice(metric)
		} else {
			a.Advice = rules.AdviceFor(rule)
		}
		as = append(as, a)
	}
	for i := range n {
		acct := fmt.Sprintf("%s-%s-%d", companies[i%10], kinds[(i/10)%5], i/50)
		switch i % 6 {
		case 0:
			add(acct, alert.RuleDrop, "", alert.Critical, f(5), f(2), day, acct+": score fell 5 → 2")
			add(acct, alert.RuleFloor, "", alert.Critical, f(5), f(2), day, acct+": score 2 at or below the floor")
			add(acct, alert.RuleMetric, client.MetricOpenRate, alert.Warning, f(5), f(2), day, acct+": unique open rate fell")
			add(acct, alert.RuleMetric, client.MetricSpamRate, alert.Critical, f(4), f(1), day, acct+": spam rate fell")
		case 1:
			add(acct, alert.RuleFloor, "", alert.Critical, nil, f(1), day, acct+": score 1 at or below the floor")
		case 2:
			add(acct, alert.RuleOutlier, "", alert.Warning, f(4), f(1), day.AddDays(-3),
				"underperforming sender in pool transactional: score 1 vs pool median 4 (12 scored senders)")
		case 3:
			add(acct, alert.RuleBaseline, "", alert.Warning, f(3.5), f(2.5), day.AddDays(-1), acct+": score 2.5 below its median 3.5")
		case 4:
			add(acct, alert.RuleMetric, client.MetricBounceRate, alert.Info, f(5), f(3.25), day, acct+": bounce rate fell")
		case 5:
			if i%12 == 5 {
				a := alert.Alert{Key: alert.Key(acct, alert.RuleFloor, ""), Account: acct, Rule: alert.RuleFloor,
					Severity: alert.Warning, State: alert.Resolved, Date: day, Since: day.AddDays(-4), From: f(2), To: f(4),
					Message: "resolved: " + acct + ": score 2 at or below the floor"}
				as = append(as, a)
				continue
			}
			add(acct, alert.RuleEligibility, "", alert.Info, f(3), nil, day.AddDays(-6), acct+": no score for 7 days")
		}
	}
	var tcs []alert.TierChange
	for i := range min(n/40, 7) {
		tcs = append(tcs, alert.TierChange{Username: fmt.Sprintf("%s-news-%d", companies[i], i), FromTier: "high", ToTier: "low",
			FromPool: "seq-high", ToPool: "seq-low", Reason: "7-day median 2.0 (was 4.5), held 3 days"})
	}
	return Message{Date: day, Alerts: as, TierChanges: tcs, FirstCheck: first, Accounts: n + n/3}
}

// checkPosted asserts Slack's limits on every post, and that together the
// posts name every account of m exactly once, on one line holding each of
// its alerts.
func checkPosted(t *testing.T, m Message, posts []posted) {
	t.Helper()
	for i, p := range posts {
		if n := len(p.Blocks); n == 0 || n > MaxBlocks {
			t.Errorf("post %d: %d blocks", i, n)
		}
		if n := utf16Len(p.Text); n == 0 || n > MaxMessageText {
			t.Errorf("post %d: fallback of %d chars", i, n)
		}
		total := 0
		for j, b := range p.Blocks {
			var texts []string
			if b.Text != nil {
				texts = append(texts, b.Text.Text)
			}
			for _, e := range b.Elements {
				texts = append(texts, e.Text)
			}
			for _, s := range texts {
				lim := MaxSectionText
				if b.Type == "header" {
					lim = MaxHeaderText
				}
				if n := utf16Len(s); n == 0 || n > lim {
					t.Errorf("post %d block %d (%s): %d chars, limit %d", i, j, b.Type, n, lim)
				}
				total += utf16Len(s)
			}
		}
		if total > MaxMessageText {
			t.Errorf("post %d: %d chars of text, limit %d", i, total, MaxMessageText)
		}
	}
	byAcct := map[string][]alert.Alert{}
	for _, a := range m.Alerts {
		byAcct[a.Account] = append(byAcct[a.Account], a)
	}
	for acct, as := range byAcct {
		var lines []string
		for _, p := range posts {
			if len(p.Blocks) > 0 && p.Blocks[0].Type == "header" && strings.HasSuffix(p.Blocks[0].Text.Text, ": "+acct) {
				lines = append(lines, p.all()) // the account's own message
				continue
			}
			for _, l := range strings.Split(p.all(), "\n") {
				if strings.HasPrefix(l, "• ") {
					continue // a proposed move, or advice
				}
				if strings.Contains(l, "*"+esc(acct)+"*") || strings.Contains(l, "|"+esc(acct)+">*") {
					lines = append(lines, l)
				}
			}
		}
		if len(lines) != 1 {
			t.Errorf("%s named on %d lines, want 1: %q", acct, len(lines), lines)
			continue
		}
		for _, a := range as {
			want := esc(values(a))
			if a.State == alert.Resolved {
				want = "resolved: " + ruleName(a)
			}
			if b, _, ok := strings.Cut(want, " (first day"); ok {
				want = b
			}
			if !strings.Contains(lines[0], want) {
				t.Errorf("%s's line lacks %q: %s", acct, want, lines[0])
			}
		}
	}
}

// renderPosts is the golden form of what a local Slack received: each
// post's thread, fallback text and Block Kit JSON.
func renderPosts(t *testing.T, posts []posted) string {
	t.Helper()
	var b strings.Builder
	for i, p := range posts {
		fmt.Fprintf(&b, "===== post %d", i+1)
		if p.ThreadTS != "" {
			fmt.Fprintf(&b, " (reply in thread %s)", p.ThreadTS)
		}
		b.WriteString("\n--- text\n" + p.Text + "\n--- blocks\n")
		var buf bytes.Buffer
		if err := json.Indent(&buf, p.Raw, "", "  "); err != nil {
			t.Fatalf("post %d: blocks: %v", i+1, err)
		}
		b.WriteString(buf.String() + "\n")
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Errorf("%s differs (go test -update rewrites it); got:\n%.3000s", path, got)
	}
}

// TestDigestGolden posts the digests of 1, 20 and 300 alerting accounts to
// a local Slack, through a webhook and a bot, and compares what arrived
// (text and Block Kit JSON) with testdata; every payload is within Slack's
// limits and together they name every alert; a bot's continuations reply
// in the digest's thread.
func TestDigestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		m        Message
		opts     []Option
		minPosts int
	}{
		{"1", busyDay(1, false), nil, 1},
		{"20", busyDay(20, false), nil, 1},
		{"300", busyDay(300, true), []Option{WithExternalURL("https://seq.example.com/")}, 3},
	}
	for _, tt := range tests {
		for _, k := range []sink{webhookSink, botSink} {
			t.Run(tt.name+" "+k.String(), func(t *testing.T) {
				t.Parallel()
				srv := newSlackServer(t, nil)
				n := newNotifier(t, k, srv, tt.opts...)
				var receipts [][]string
				m := tt.m
				m.Accepted = func(_ context.Context, r Receipt) error {
					receipts = append(receipts, r.Keys)
					return nil
				}
				delivered, err := n.Notify(context.Background(), m)
				if err != nil {
					t.Fatal(err)
				}
				if !sameSet(delivered, keysOf(m.Alerts)) || len(delivered) != len(m.Alerts) {
					t.Errorf("delivered %d keys, want each of the %d alerts once", len(delivered), len(m.Alerts))
				}
				posts := srv.channel()
				if len(posts) < tt.minPosts || len(receipts) != len(posts) {
					t.Errorf("%d posts, %d receipts; want at least %d posts, one receipt each", len(posts), len(receipts), tt.minPosts)
				}
				checkPosted(t, m, posts)
				for i, p := range posts {
					want := ""
					if k == botSink && i > 0 && strings.Contains(posts[0].all(), "SEQ digest") {
						want = "1700000000.000001" // the digest's ts
					}
					if p.ThreadTS != want {
						t.Errorf("post %d: thread_ts %q, want %q", i+1, p.ThreadTS, want)
					}
				}
				golden(t, "digest-"+tt.name+"-"+k.String()+".golden", renderPosts(t, posts))
			})
		}
	}
}

// TestDigestContinuation429: Slack rate-limits a continuation; it is
// retried after Retry-After and the channel shows every alert once.
func TestDigestContinuation429(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			srv := newSlackServer(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 3 {
					return false
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			})
			m := busyDay(300, false)
			delivered, err := newNotifier(t, k, srv, WithExternalURL("https://seq.example.com")).Notify(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if len(delivered) != len(m.Alerts) || !sameSet(delivered, keysOf(m.Alerts)) {
				t.Errorf("delivered %d keys, want the %d alerts once each", len(delivered), len(m.Alerts))
			}
			if len(srv.got()) != len(srv.channel())+1 {
				t.Errorf("%d requests for %d messages, want one retry", len(srv.got()), len(srv.channel()))
			}
			checkPosted(t, m, srv.channel())
		})
	}
}

// TestDigestContinuationStops: when a continuation cannot be delivered in
// this run (429 past the retry budget), the messages accepted so far stay
// delivered, the rest is not, and the next run's digest names exactly the
// rest: nothing named twice in the channel, nothing lost.
func TestDigestContinuationStops(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			limited := true
			srv := newSlackServer(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 2 || !limited {
					return false
				}
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			})
			n := newNotifier(t, k, srv, WithExternalURL("https://seq.example.com"))
			m := busyDay(300, false)
			delivered, err := n.Notify(context.Background(), m)
			if err == nil || len(delivered) == 0 || len(delivered) >= len(m.Alerts) {
				t.Fatalf("first run: delivered %d of %d, err %v; want a part and an error", len(delivered), len(m.Alerts), err)
			}
			done := map[string]bool{}
			for _, k := range delivered {
				done[k] = true
			}
			var rest []alert.Alert
			for _, a := range m.Alerts {
				if !done[a.Key] {
					rest = append(rest, a)
				}
			}
			limited = false
			m2 := m
			m2.Alerts, m2.TierChanges = rest, nil
			if d2, err := n.Notify(context.Background(), m2); err != nil || len(d2) != len(rest) {
				t.Fatalf("second run: delivered %d of %d, err %v", len(d2), len(rest), err)
			}
			whole := m
			whole.TierChanges = nil
			checkPosted(t, whole, srv.channel())
		})
	}
}
