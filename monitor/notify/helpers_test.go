package notify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

var testDay = client.MustParseDate("2026-11-24")

// mk builds a firing alert.
func mk(account string, rule alert.Rule, metric client.Metric, sev alert.Severity, from, to float64) alert.Alert {
	return alert.Alert{
		Key: alert.Key(account, rule, metric), Account: account, Rule: rule, Metric: metric,
		Severity: sev, State: alert.Firing, Date: testDay, Since: testDay.AddDays(-1),
		From: client.Float(from), To: client.Float(to),
		Message: fmt.Sprintf("%s %s fell from %v to %v", account, rule, from, to),
		Advice:  "Advice for " + string(rule) + " " + string(metric),
	}
}

func resolved(account string, rule alert.Rule) alert.Alert {
	a := mk(account, rule, "", alert.Info, 2, 4)
	a.State = alert.Resolved
	return a
}

// many returns n firing alerts with a mix of severities and a few resolved.
func many(n int, acctPrefix string) []alert.Alert {
	sevs := []alert.Severity{alert.Critical, alert.Warning, alert.Info}
	rules := []alert.Rule{alert.RuleDrop, alert.RuleBaseline, alert.RuleFloor}
	var as []alert.Alert
	for i := range n {
		acct := fmt.Sprintf("%s%03d", acctPrefix, i/2)
		a := mk(acct, rules[i%3], "", sevs[i%3], 4.5, 4.5-float64(i%4+1)/2)
		a.Key = fmt.Sprintf("%s/%d", acct, i)
		if i%7 == 6 {
			a.State = alert.Resolved
		}
		as = append(as, a)
	}
	return as
}

// Decoded Slack payload.
type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type block struct {
	Type     string    `json:"type"`
	Text     *textObj  `json:"text"`
	Elements []textObj `json:"elements"`
}

type posted struct {
	Path     string
	Channel  string
	Token    string
	Text     string
	ThreadTS string
	Blocks   []block
	Raw      json.RawMessage // the blocks as posted
}

// all returns the texts of every block, joined.
func (p posted) all() string {
	var b strings.Builder
	for _, bl := range p.Blocks {
		if bl.Text != nil {
			b.WriteString(bl.Text.Text + "\n")
		}
		for _, e := range bl.Elements {
			b.WriteString(e.Text + "\n")
		}
	}
	return b.String()
}

// slackServer is a local Slack: /services/... acts as the webhook,
// /api/chat.postMessage as the Web API. reply decides each response (n is
// the 1-based request number); nil answers success.
type slackServer struct {
	*httptest.Server
	mu    sync.Mutex
	posts []posted
	ok    []posted // the posts answered with success: what the channel shows
	reply func(n int, w http.ResponseWriter, r *http.Request) bool
}

func newSlackServer(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request) bool) *slackServer {
	t.Helper()
	s := &slackServer{reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *slackServer) handle(w http.ResponseWriter, r *http.Request) {
	p := posted{Path: r.URL.Path}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		p.Channel, p.Token, p.Text = r.PostForm.Get("channel"), r.PostForm.Get("token"), r.PostForm.Get("text")
		p.ThreadTS = r.PostForm.Get("thread_ts")
		if bs := r.PostForm.Get("blocks"); bs != "" {
			p.Raw = json.RawMessage(bs)
			if err := json.Unmarshal([]byte(bs), &p.Blocks); err != nil {
				http.Error(w, "bad blocks", http.StatusBadRequest)
				return
			}
		}
	default:
		var body struct {
			Text     string          `json:"text"`
			ThreadTS string          `json:"thread_ts"`
			Blocks   json.RawMessage `json:"blocks"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		if err := json.Unmarshal(body.Blocks, &p.Blocks); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		p.Text, p.ThreadTS, p.Raw = body.Text, body.ThreadTS, body.Blocks
	}
	s.mu.Lock()
	s.posts = append(s.posts, p)
	n := len(s.posts)
	s.mu.Unlock()
	if s.reply != nil && s.reply(n, w, r) {
		return
	}
	s.mu.Lock()
	s.ok = append(s.ok, p)
	s.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, p.Channel, n)
		return
	}
	fmt.Fprint(w, "ok")
}

// channel returns the posts Slack accepted, in order.
func (s *slackServer) channel() []posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]posted(nil), s.ok...)
}

func (s *slackServer) got() []posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]posted(nil), s.posts...)
}

// apiError writes a Web API error the way Slack does: HTTP 200, ok=false.
func apiError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
}
