package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor/alert"
)

const (
	hookPath  = "/services/T0SECRET/B0SECRET/hookSECRETtoken42"
	hookToken = "hookSECRETtoken42"
	botToken  = "xoxb-1234-5678-botSECRETtoken"
)

// assertNoSecret fails if any text holds the webhook URL, its secret path or
// the bot token.
func assertNoSecret(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, sec := range []string{hookToken, botToken, "T0SECRET", "B0SECRET"} {
			if strings.Contains(s, sec) {
				t.Errorf("%s leaks a secret (%s): %s", what, sec, s)
			}
		}
	}
}

// capturedLogger returns a debug-level JSON logger writing to buf.
func capturedLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type sink int

const (
	webhookSink sink = iota
	botSink
)

func (k sink) String() string { return [...]string{"webhook", "bot"}[k] }

func newNotifier(t *testing.T, k sink, srv *slackServer, opts ...Option) Notifier {
	t.Helper()
	switch k {
	case webhookSink:
		w, err := NewWebhook(secret.Secret(srv.URL+hookPath), append([]Option{WithHTTPClient(srv.Client()), WithPace(0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return w
	default:
		b, err := NewBot(secret.Secret(botToken), "C0SEQ", append([]Option{WithHTTPClient(srv.Client()), WithAPIURL(srv.URL + "/api/"), WithPace(0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func smallMessage() Message {
	return Message{
		Date: testDay,
		Alerts: []alert.Alert{
			mk("acme-news", alert.RuleDrop, "", alert.Critical, 4.5, 2),
			mk("acme-news", alert.RuleMetric, "engagement_recency", alert.Warning, 4, 1),
			mk("beta & <co>", alert.RuleFloor, "", alert.Warning, 2.5, 1.5),
			resolved("gamma", alert.RuleBaseline),
		},
		TierChanges: []alert.TierChange{{Username: "acme-news", FromTier: "high", ToTier: "low", FromPool: "p-high", ToPool: "p-low", Reason: "median 2"}},
	}
}

func TestNotifyPostsPerAccount(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			srv := newSlackServer(t, nil)
			var logs bytes.Buffer
			n := newNotifier(t, k, srv, WithLogger(capturedLogger(&logs)))
			m := smallMessage()
			delivered, err := n.Notify(context.Background(), m)
			if err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if want := keysOf(m.Alerts); !sameSet(delivered, want) {
				t.Errorf("delivered %v, want %v", delivered, want)
			}
			posts := srv.got()
			// acme-news (2 alerts), beta, gamma (resolved), tier moves.
			if len(posts) != 4 {
				t.Fatalf("%d posts, want 4: %+v", len(posts), posts)
			}
			for _, p := range posts {
				if k == botSink {
					if p.Path != "/api/chat.postMessage" || p.Channel != "C0SEQ" || p.Token != botToken {
						t.Errorf("bot post path=%s channel=%q token ok=%v", p.Path, p.Channel, p.Token == botToken)
					}
				} else if p.Path != hookPath {
					t.Errorf("webhook post to %s", p.Path)
				}
				if p.Text == "" || len(p.Blocks) == 0 {
					t.Errorf("post without fallback text or blocks: %+v", p)
				}
			}
			acme := posts[0]
			if acme.Blocks[0].Type != "header" || !strings.Contains(acme.Blocks[0].Text.Text, "acme-news") ||
				!strings.Contains(acme.Blocks[0].Text.Text, "critical") {
				t.Errorf("first block = %+v, want a critical header naming acme-news", acme.Blocks[0])
			}
			all := acme.all()
			for _, want := range []string{"*drop*", "*score 4.5 → 2*", "*engagement recency 4 → 1*", "since 2026-11-23 (2 days)", "Advice for metric engagement_recency", "acme-news drop fell"} {
				if !strings.Contains(all, want) {
					t.Errorf("acme-news message lacks %q:\n%s", want, all)
				}
			}
			if !strings.Contains(acme.Text, "[CRITICAL] drop: score 4.5 → 2") || !strings.Contains(acme.Text, "acme-news") {
				t.Errorf("fallback text = %q", acme.Text)
			}
			if b := posts[1].all(); !strings.Contains(b, "beta &amp; &lt;co&gt;") {
				t.Errorf("account name not escaped for mrkdwn: %s", b)
			}
			if r := posts[2]; len(r.Blocks) != 1 || !strings.Contains(r.all(), "baseline resolved on 2026-11-24") {
				t.Errorf("resolved message = %+v, want one line", r.Blocks)
			}
			if tm := posts[3].all(); !strings.Contains(tm, "Proposed IP-pool moves (1)") || !strings.Contains(tm, "*acme-news*: high (pool p-high) → *low (pool p-low)* · median 2") {
				t.Errorf("tier message = %s", tm)
			}
			assertNoSecret(t, "log", logs.String())
			if !strings.Contains(logs.String(), "slack message sent") {
				t.Errorf("no debug log of the posts: %s", logs.String())
			}
		})
	}
}

func TestNotifyDigest(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			srv := newSlackServer(t, nil)
			n := newNotifier(t, k, srv, WithTopN(3))
			m := Message{Date: testDay, Alerts: many(40, "acct-")}
			m.TierChanges = []alert.TierChange{
				{Username: "u1", FromTier: "high", ToTier: "mid", Reason: "r1"},
				{Username: "u2", FromTier: "mid", ToTier: "low", Reason: "r2"},
				{Username: "u3", FromTier: "low", ToTier: "mid", Reason: "r3"},
				{Username: "u4", FromTier: "low", ToTier: "high", Reason: "r4"},
			}
			delivered, err := n.Notify(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSet(delivered, keysOf(m.Alerts)) {
				t.Errorf("digest delivered %d keys, want all %d", len(delivered), len(m.Alerts))
			}
			posts := srv.got()
			if len(posts) != 1 {
				t.Fatalf("%d posts, want one digest", len(posts))
			}
			all := posts[0].all()
			// 40 alerts on 20 accounts (two each); i%7==6 resolved.
			order := []string{"Critical (", "Warning (", "Info (", "Proposed IP-pool moves (4)", "What to do"}
			last := -1
			for _, s := range order {
				i := strings.Index(all, s)
				if i < 0 || i < last {
					t.Fatalf("digest lacks %q or has it out of order:\n%s", s, all)
				}
				last = i
			}
			for i := range 20 {
				if c := strings.Count(all, fmt.Sprintf("*acct-%03d*", i)); c != 1 {
					t.Errorf("acct-%03d named %d times, want once:\n%s", i, c, all)
				}
			}
			if strings.Contains(all, "more_") {
				t.Errorf("a digest that fits lists everything, no \"…and K more\":\n%s", all)
			}
			if !strings.Contains(posts[0].Text, "SEQ monitor, 2026-11-24: 35 firing") {
				t.Errorf("digest fallback = %q", posts[0].Text)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestNotifyErrors(t *testing.T) {
	t.Parallel()
	type tc struct {
		name       string
		sink       sink
		reply      func(n int, w http.ResponseWriter, r *http.Request) bool
		is         []error
		status     int
		slackErr   string
		retryAfter time.Duration
		posts      int // requests made (stop after a fatal error)
		delivered  int // of smallMessage's 4 alerts
	}
	always := func(f func(w http.ResponseWriter)) func(int, http.ResponseWriter, *http.Request) bool {
		return func(_ int, w http.ResponseWriter, _ *http.Request) bool { f(w); return true }
	}
	tests := []tc{
		{name: "webhook 429 Retry-After", sink: webhookSink,
			reply: always(func(w http.ResponseWriter) { w.Header().Set("Retry-After", "30"); w.WriteHeader(429) }),
			is:    []error{ErrRateLimited}, status: 429, retryAfter: 30 * time.Second, posts: 1},
		{name: "webhook 429 without Retry-After", sink: webhookSink,
			reply: always(func(w http.ResponseWriter) { w.WriteHeader(429); fmt.Fprint(w, "rate_limited") }),
			is:    []error{ErrRateLimited}, status: 429, slackErr: "rate_limited", posts: 1},
		{name: "webhook 429 Retry-After as a date", sink: webhookSink,
			reply: always(func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
				w.WriteHeader(429)
			}),
			is: []error{ErrRateLimited}, status: 429, posts: 1},
		{name: "webhook 404 no_service", sink: webhookSink,
			reply: always(func(w http.ResponseWriter) { w.WriteHeader(404); fmt.Fprint(w, "no_service") }),
			is:    []error{ErrNoService}, status: 404, slackErr: "no_service", posts: 1},
		{name: "webhook 403 invalid_token", sink: webhookSink,
			reply: always(func(w http.ResponseWriter) { w.WriteHeader(403); fmt.Fprint(w, "invalid_token") }),
			is:    []error{ErrAuth}, status: 403, slackErr: "invalid_token", posts: 1},
		{name: "webhook 400 invalid_payload goes on", sink: webhookSink,
			reply:  always(func(w http.ResponseWriter) { w.WriteHeader(400); fmt.Fprint(w, "invalid_payload") }),
			status: 400, slackErr: "invalid_payload", posts: 4},
		{name: "webhook 500 HTML stops", sink: webhookSink,
			reply: always(func(w http.ResponseWriter) {
				w.WriteHeader(500)
				fmt.Fprint(w, "<html><body>oops "+hookToken+"</body></html>")
			}),
			status: 500, posts: 1},
		{name: "webhook second message 500: partial, stops", sink: webhookSink,
			reply: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 2 {
					return false
				}
				w.WriteHeader(500)
				return true
			},
			status: 500, posts: 2, delivered: 2},
		{name: "webhook second message invalid_payload: partial, goes on", sink: webhookSink,
			reply: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 2 {
					return false
				}
				w.WriteHeader(400)
				fmt.Fprint(w, "invalid_payload")
				return true
			},
			status: 400, slackErr: "invalid_payload", posts: 4, delivered: 3},
		{name: "webhook second message 429: stops", sink: webhookSink,
			reply: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 2 {
					return false
				}
				w.Header().Set("Retry-After", "5")
				w.WriteHeader(429)
				return true
			},
			is: []error{ErrRateLimited}, status: 429, retryAfter: 5 * time.Second, posts: 2, delivered: 2},
		{name: "bot invalid_auth", sink: botSink,
			reply: always(func(w http.ResponseWriter) { apiError(w, "invalid_auth") }),
			is:    []error{ErrAuth}, status: 200, slackErr: "invalid_auth", posts: 1},
		{name: "bot channel_not_found", sink: botSink,
			reply: always(func(w http.ResponseWriter) { apiError(w, "channel_not_found") }),
			is:    []error{ErrChannelNotFound}, status: 200, slackErr: "channel_not_found", posts: 1},
		{name: "bot 429 Retry-After", sink: botSink,
			reply: always(func(w http.ResponseWriter) { w.Header().Set("Retry-After", "7"); w.WriteHeader(429) }),
			is:    []error{ErrRateLimited}, status: 429, retryAfter: 7 * time.Second, posts: 1},
		{name: "bot third message ratelimited: partial", sink: botSink,
			reply: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 3 {
					return false
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
				return true
			},
			is: []error{ErrRateLimited}, status: 429, retryAfter: time.Second, posts: 3, delivered: 3},
		{name: "bot invalid_blocks goes on", sink: botSink,
			reply: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n != 1 {
					return false
				}
				apiError(w, "invalid_blocks")
				return true
			},
			status: 200, slackErr: "invalid_blocks", posts: 4, delivered: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newSlackServer(t, tt.reply)
			var logs bytes.Buffer
			// No retry here: these cases are about how each failure reads
			// and whether delivery stops (TestRetry429 retries).
			n := newNotifier(t, tt.sink, srv, WithRetryBudget(0), WithLogger(capturedLogger(&logs)))
			delivered, err := n.Notify(context.Background(), smallMessage())
			if err == nil {
				t.Fatal("Notify succeeded, want an error")
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Notifier != n.Name() || e.Status != tt.status || e.SlackError != tt.slackErr {
				t.Errorf("Error = {Notifier %q Status %d SlackError %q}, want {%q %d %q}", e.Notifier, e.Status, e.SlackError, n.Name(), tt.status, tt.slackErr)
			}
			if tt.retryAfter != 0 && e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if strings.Contains(tt.name, "as a date") && (e.RetryAfter < 59*time.Minute || e.RetryAfter > time.Hour) {
				t.Errorf("RetryAfter from a date = %v, want about 1h", e.RetryAfter)
			}
			if got := len(srv.got()); got != tt.posts {
				t.Errorf("%d posts, want %d", got, tt.posts)
			}
			if len(delivered) != tt.delivered {
				t.Errorf("delivered %v, want %d keys", delivered, tt.delivered)
			}
			if stopped := strings.Contains(err.Error(), ", stopped:"); stopped != (tt.posts < 4) {
				t.Errorf("error %q: says stopped = %v, want %v", err, stopped, tt.posts < 4)
			}
			assertNoSecret(t, "error", err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
			assertNoSecret(t, "log", logs.String())
			if !strings.Contains(logs.String(), "not delivered") {
				t.Errorf("failure not logged: %s", logs.String())
			}
		})
	}
}

func TestNotifyTimeout(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		for _, how := range []string{"client timeout", "context deadline"} {
			t.Run(k.String()+" "+how, func(t *testing.T) {
				t.Parallel()
				release := make(chan struct{})
				srv := newSlackServer(t, func(_ int, w http.ResponseWriter, r *http.Request) bool {
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return false
				})
				t.Cleanup(func() { close(release) })
				ctx := context.Background()
				var opts []Option
				if how == "client timeout" {
					hc := srv.Client()
					hc.Timeout = 20 * time.Millisecond
					opts = append(opts, WithHTTPClient(hc))
				} else {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
					defer cancel()
				}
				var logs bytes.Buffer
				opts = append(opts, WithLogger(capturedLogger(&logs)))
				n := newNotifier(t, k, srv, opts...)
				delivered, err := n.Notify(ctx, smallMessage())
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("err = %v, want ErrTimeout", err)
				}
				if how == "context deadline" && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
				}
				if !strings.Contains(err.Error(), "timed out") {
					t.Errorf("err = %q, want it to say timed out", err)
				}
				// The deadline may pass before the request reaches the server
				// on a loaded machine: at most one post, never a second.
				if len(delivered) != 0 || len(srv.got()) > 1 {
					t.Errorf("delivered %v after %d posts, want nothing after at most 1", delivered, len(srv.got()))
				}
				assertNoSecret(t, "error", err.Error(), fmt.Sprintf("%+v", err))
				assertNoSecret(t, "log", logs.String())
			})
		}
	}
}

func TestWebhookConnectionErrorRedactsURL(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, nil)
	u := srv.URL + hookPath
	srv.Close() // connection refused from now on
	var logs bytes.Buffer
	w, err := NewWebhook(secret.Secret(u), WithLogger(capturedLogger(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Notify(context.Background(), smallMessage())
	if err == nil {
		t.Fatal("want an error")
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("want a *url.Error in the chain, got %v", err)
	}
	if !strings.Contains(ue.URL, secret.Redacted) {
		t.Errorf("url.Error URL = %q, want it redacted", ue.URL)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != 0 {
		t.Errorf("want *Error with Status 0, got %v", err)
	}
	// Every wrapped layer is checked, not only the top message.
	for x := error(err); x != nil; x = errors.Unwrap(x) {
		assertNoSecret(t, fmt.Sprintf("error layer %T", x), x.Error())
	}
	assertNoSecret(t, "error", err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e))
	assertNoSecret(t, "log", logs.String())
	b, err := NewBot(botToken, "C1")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{w, *w, b, *b} {
		out := fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v)
		assertNoSecret(t, "notifier", out)
		if !strings.Contains(out, secret.Redacted) {
			t.Errorf("notifier prints %q, want REDACTED", out)
		}
		var lb bytes.Buffer
		capturedLogger(&lb).Info("notifier", "n", v)
		assertNoSecret(t, "notifier log", lb.String())
	}
}

func TestNotifyCanceledContext(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, k := range []sink{webhookSink, botSink} {
		n := newNotifier(t, k, srv)
		delivered, err := n.Notify(ctx, smallMessage())
		if !errors.Is(err, context.Canceled) || len(delivered) != 0 {
			t.Errorf("%s: Notify = %v, %v; want context.Canceled and nothing delivered", k, delivered, err)
		}
	}
	if len(srv.got()) != 0 {
		t.Errorf("posted %d messages with a canceled context", len(srv.got()))
	}
}

func TestNotifyEmptyMessage(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, nil)
	for _, k := range []sink{webhookSink, botSink} {
		delivered, err := newNotifier(t, k, srv).Notify(context.Background(), Message{Date: testDay})
		if err != nil || len(delivered) != 0 {
			t.Errorf("%s: Notify(empty) = %v, %v", k, delivered, err)
		}
	}
	if len(srv.got()) != 0 {
		t.Errorf("empty message posted %d times", len(srv.got()))
	}
}

// TestDigestFirstMessageFails: a single-message digest that fails delivers
// nothing.
func TestDigestFirstMessageFails(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(503)
		return true
	})
	n := newNotifier(t, webhookSink, srv)
	delivered, err := n.Notify(context.Background(), Message{Date: testDay, Alerts: many(30, "a")})
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || len(delivered) != 0 {
		t.Errorf("digest failure: delivered %d, err %v; want none and HTTP 503", len(delivered), err)
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	const secretURL = "https://hooks.slack.com/services/T0SECRET/B0SECRET/" + hookToken
	tests := []struct {
		name string
		make func() error
	}{
		{"empty webhook", func() error { _, err := NewWebhook(""); return err }},
		{"webhook bad scheme", func() error { _, err := NewWebhook("ftp://x/" + hookToken); return err }},
		{"webhook no host", func() error { _, err := NewWebhook("https:///" + hookToken); return err }},
		{"webhook unparsable", func() error { _, err := NewWebhook(secret.Secret("https://h\x7f/" + hookToken)); return err }},
		{"empty token", func() error { _, err := NewBot("", "C1"); return err }},
		{"empty channel", func() error { _, err := NewBot(botToken, " "); return err }},
		{"bad API URL", func() error { _, err := NewBot(botToken, "C1", WithAPIURL("slack.com/api")); return err }},
		{"negative threshold", func() error { _, err := NewWebhook(secretURL, WithDigestThreshold(-1)); return err }},
		{"zero top N", func() error { _, err := NewWebhook(secretURL, WithTopN(0)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.make()
			if err == nil {
				t.Fatal("want an error")
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
	if _, err := NewWebhook(secretURL, WithHTTPClient(nil), WithLogger(nil), nil); err != nil {
		t.Errorf("valid webhook with nil client and logger (defaults): %v", err)
	}
	b, err := NewBot(botToken, " C1 ")
	if err != nil || b.Channel() != "C1" || b.Name() != NameBot {
		t.Errorf("NewBot = %v, %v", b, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"12", 12 * time.Second}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := parseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
