package notify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

func TestWording(t *testing.T) {
	t.Parallel()
	firstDay := mk("new-sender", alert.RuleFloor, "", alert.Critical, 0, 1)
	firstDay.From, firstDay.Since = nil, firstDay.Date
	noEarlier := firstDay
	noEarlier.Since = testDay.AddDays(-5)
	outlier := mk("bulk-co", alert.RuleOutlier, "", alert.Warning, 4, 1)
	outlier.Message = "underperforming sender in pool transactional: score 1 vs pool median 4 (9 scored senders)"
	baseline := mk("acme", alert.RuleBaseline, "", alert.Warning, 3.5, 2)
	elig := mk("quiet", alert.RuleEligibility, "", alert.Info, 3, 0)
	elig.To = nil
	tests := []struct {
		name string
		a    alert.Alert
		want string
	}{
		{"first stored day", firstDay, "score 1 (first day in the store)"},
		{"no earlier value in the window", noEarlier, "score 1"},
		{"outlier", outlier, "score 1 vs pool median 4 (pool transactional)"},
		{"fractional median", baseline, "score 2 vs median 3.5"},
		{"drop", mk("a", alert.RuleDrop, "", alert.Critical, 4.5, 1.666), "score 4.5 → 1.67"},
		{"metric", mk("a", alert.RuleMetric, client.MetricOpenRate, alert.Warning, 5, 2), "unique open rate 5 → 2"},
		{"eligibility", elig, "no score since 2026-11-23 (last 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := values(tt.a); got != tt.want {
				t.Errorf("values = %q, want %q", got, tt.want)
			}
			if got := alertLine(tt.a); strings.Contains(got, "none →") || strings.Contains(got, "→ none") {
				t.Errorf("alertLine %q says none", got)
			}
		})
	}

	// One line per account, its alerts together.
	acct := "cyberdyne-billing-4"
	g := byAccount(rankAlerts([]alert.Alert{
		mk(acct, alert.RuleDrop, "", alert.Critical, 5, 2),
		mk(acct, alert.RuleFloor, "", alert.Critical, 5, 2),
		mk(acct, alert.RuleMetric, client.MetricOpenRate, alert.Warning, 5, 2),
		mk(acct, alert.RuleMetric, client.MetricSpamRate, alert.Warning, 4, 1),
	}))[0]
	if got, want := accountSummary(g), "score 5 → 2 (drop, floor) · unique open rate 5 → 2, spam rate 4 → 1 · since 11-23"; got != want {
		t.Errorf("account line = %q\nwant           %q", got, want)
	}
	g = byAccount([]alert.Alert{firstDay})[0]
	if got, want := accountSummary(g), "score 1 (floor, first day in the store) · since 11-24"; got != want {
		t.Errorf("first-day line = %q, want %q", got, want)
	}
}

func TestFirstCheckAndLinks(t *testing.T) {
	t.Parallel()
	m := Message{Date: testDay, FirstCheck: true, Accounts: 300, Alerts: []alert.Alert{
		mk(alert.ParentAccount, alert.RuleFloor, "", alert.Critical, 3, 1),
		mk("a/b c", alert.RuleDrop, "", alert.Warning, 4, 2),
	}}
	ps, err := Payloads(m, WithExternalURL("https://seq.example.com/base/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !ps[0].Digest {
		t.Fatalf("a first check is a digest; got %d payloads", len(ps))
	}
	p := toPosted(t, ps[0])
	if h := p.Blocks[0].Text.Text; !strings.Contains(h, "first check: 2 of 300 accounts already below thresholds") {
		t.Errorf("header %q does not say it is the first check", h)
	}
	all := p.all()
	for _, want := range []string{
		"<https://seq.example.com/base/|overview>",
		"<https://seq.example.com/base/accounts/%28parent%29|(parent)>",
		"<https://seq.example.com/base/accounts/a%2Fb%20c|a/b c>",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("digest lacks link %s:\n%s", want, all)
		}
	}
	if !strings.Contains(ps[0].Text, "first check: 2 of 300") || !strings.Contains(Text(m), "First check: 2 of 300") {
		t.Errorf("fallback / Text do not say first check: %q", ps[0].Text)
	}
	ps, _ = Payloads(m)
	if strings.Contains(toPosted(t, ps[0]).all(), "<http") {
		t.Error("links without an external URL")
	}
	for _, bad := range []string{"ftp://x", "https://u:p@x", "https://x/?a=1", "https://x/#f", "https://", "https://x/a|b"} {
		if _, err := Payloads(m, WithExternalURL(bad)); err == nil {
			t.Errorf("WithExternalURL(%q) accepted", bad)
		}
	}
}

// toPosted decodes a payload's blocks as Slack would receive them.
func toPosted(t *testing.T, p Payload) posted {
	t.Helper()
	js, err := json.Marshal(slack.Blocks{BlockSet: p.Blocks})
	if err != nil {
		t.Fatal(err)
	}
	var bs []block
	if err := json.Unmarshal(js, &bs); err != nil {
		t.Fatal(err)
	}
	return posted{Text: p.Text, Blocks: bs, Raw: js}
}
