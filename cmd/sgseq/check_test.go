package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sgseq/sgseq/monitor/notify"
)

// monSlackPost is one chat.postMessage call received by monFakeSlack.
type monSlackPost struct {
	Path, Channel, Text, Auth, Token string
	Blocks                           []map[string]any
}

// monFakeSlack emulates the Slack Web API's chat.postMessage under /api/;
// fail, when not "", is the error code every call answers with.
type monFakeSlack struct {
	*httptest.Server
	fail  string
	mu    sync.Mutex
	posts []monSlackPost
}

func monNewFakeSlack(t *testing.T, fail string) *monFakeSlack {
	t.Helper()
	f := &monFakeSlack{fail: fail}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		p := monSlackPost{Path: r.URL.Path, Channel: r.PostForm.Get("channel"), Text: r.PostForm.Get("text"),
			Auth: r.Header.Get("Authorization"), Token: r.PostForm.Get("token")}
		if bs := r.PostForm.Get("blocks"); bs != "" {
			if err := json.Unmarshal([]byte(bs), &p.Blocks); err != nil {
				http.Error(w, "bad blocks", http.StatusBadRequest)
				return
			}
		}
		f.mu.Lock()
		f.posts = append(f.posts, p)
		n := len(f.posts)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if f.fail != "" {
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, f.fail)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, p.Channel, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *monFakeSlack) got() []monSlackPost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]monSlackPost(nil), f.posts...)
}

const monTestBotToken = "xoxb-42-43-checkSECRETbot"

// TestCheckSlackBotAPIURL: "sgseq check" with SLACK_BOT_TOKEN,
// SLACK_CHANNEL and SLACK_API_URL posts the alerts to that API base, with
// blocks and a text fallback, and never prints the token.
func TestCheckSlackBotAPIURL(t *testing.T) {
	monSim(t)
	fake := monNewFakeSlack(t, "")
	t.Setenv("SLACK_BOT_TOKEN", monTestBotToken)
	t.Setenv("SLACK_CHANNEL", "C0SGSEQ")
	t.Setenv("SLACK_API_URL", fake.URL+"/api") // the trailing slash is added

	out, stderr, err := cliRun(t, "check", "--log-level", "debug")
	if code := monExitCode(err); code != 1 {
		t.Fatalf("check: exit %d (err %v), want 1 (alerts firing)\nstderr: %s", code, err, stderr)
	}
	posts := fake.got()
	if len(posts) == 0 {
		t.Fatal("nothing posted to the fake Slack API")
	}
	var texts []string
	for i, p := range posts {
		if p.Path != "/api/chat.postMessage" {
			t.Errorf("post %d: path %s, want /api/chat.postMessage", i, p.Path)
		}
		if p.Channel != "C0SGSEQ" {
			t.Errorf("post %d: channel %q, want C0SGSEQ", i, p.Channel)
		}
		if p.Token != monTestBotToken && p.Auth != "Bearer "+monTestBotToken {
			t.Errorf("post %d: the bot token was not sent", i)
		}
		if strings.TrimSpace(p.Text) == "" {
			t.Errorf("post %d: no text fallback", i)
		}
		if len(p.Blocks) == 0 {
			t.Errorf("post %d: no blocks", i)
		}
		for _, b := range p.Blocks {
			if _, ok := b["type"].(string); !ok {
				t.Errorf("post %d: block without a type: %v", i, b)
			}
		}
		texts = append(texts, p.Text)
	}
	if all := strings.Join(texts, "\n"); !strings.Contains(all, "summer-promo") {
		t.Errorf("no post names summer-promo (planted drop):\n%s", all)
	}
	if !strings.Contains(out, "alert(s) firing; notified ") || strings.Contains(out, "notified 0,") {
		t.Errorf("summary = %q, want notified > 0", out)
	}
	for what, s := range map[string]string{"stdout": out, "stderr": stderr, "error": fmt.Sprint(err)} {
		if strings.Contains(s, "checkSECRETbot") {
			t.Errorf("%s leaks the bot token:\n%s", what, s)
		}
	}
}

// TestCheckSlackBotChannelNotFound: a Slack API error (ok=false) makes
// check exit 2 naming the error, without the token.
func TestCheckSlackBotChannelNotFound(t *testing.T) {
	monSim(t)
	fake := monNewFakeSlack(t, "channel_not_found")
	t.Setenv("SLACK_BOT_TOKEN", monTestBotToken)
	t.Setenv("SLACK_CHANNEL", "C0GONE")
	t.Setenv("SLACK_API_URL", fake.URL+"/api/")

	out, stderr, err := cliRun(t, "check", "--log-level", "debug")
	if code := monExitCode(err); code != 2 {
		t.Fatalf("check: exit %d (err %v), want 2\nstderr: %s", code, err, stderr)
	}
	if len(fake.got()) == 0 {
		t.Fatal("nothing posted to the fake Slack API")
	}
	var report strings.Builder
	monExitReport(&report, err)
	msg := report.String()
	for _, want := range []string{"channel_not_found", "not delivered", "$SLACK_CHANNEL", "invite the bot"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error message %q does not say %q", msg, want)
		}
	}
	if !errors.Is(err, notify.ErrChannelNotFound) {
		t.Errorf("err = %v: want errors.Is notify.ErrChannelNotFound", err)
	}
	for what, s := range map[string]string{"stdout": out, "stderr": stderr, "message": msg} {
		if strings.Contains(s, "checkSECRETbot") {
			t.Errorf("%s leaks the bot token:\n%s", what, s)
		}
	}
}

// monExitReport writes what main prints for err.
func monExitReport(w *strings.Builder, err error) { report(w, err) }
