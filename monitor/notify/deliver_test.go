package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNotAnOKAnswer: a 200 that is not Slack's answer (a proxy's HTML
// sign-in page, a JSON error, an empty body for the webhook; HTML for the
// Web API) delivers nothing, stops the run and names what came back,
// bounded and without secrets.
func TestNotAnOKAnswer(t *testing.T) {
	t.Parallel()
	// A proxy's sign-in page that quotes the credential it was given.
	page := func(quoted string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<html><a href=\"/login?next="+quoted+"\">Sign in to Corp Proxy</a><body>"+
				strings.Repeat("<p>please sign in</p>", 200)+"</body></html>")
		}
	}
	html := page(url.QueryEscape(hookPath))
	tests := []struct {
		name     string
		sink     sink
		answer   func(w http.ResponseWriter)
		want     string // in the error text
		slackErr string
		is       error
	}{
		{"webhook HTML sign-in page", webhookSink, html, `text/html`, "", nil},
		{"webhook JSON error", webhookSink, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":false,"error":"invalid_token"}`)
		}, `"{\"ok\":false,\"error\":\"invalid_token\"}"`, "invalid_token", ErrAuth},
		{"webhook empty body", webhookSink, func(http.ResponseWriter) {}, "empty body", "", nil},
		{"bot HTML sign-in page", botSink, page(botToken), `text/html`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newSlackServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool { tt.answer(w); return true })
			var logs bytes.Buffer
			var receipts int
			m := smallMessage()
			m.Accepted = func(context.Context, Receipt) error { receipts++; return nil }
			delivered, err := newNotifier(t, tt.sink, srv, WithLogger(capturedLogger(&logs))).Notify(context.Background(), m)
			if err == nil || len(delivered) != 0 || receipts != 0 {
				t.Fatalf("delivered %v (%d receipts), err %v; want nothing delivered and an error", delivered, receipts, err)
			}
			if len(srv.got()) != 1 {
				t.Errorf("%d posts, want 1 (the run stops)", len(srv.got()))
			}
			if !errors.Is(err, ErrUnexpectedResponse) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("errors.Is(%v, ErrUnexpectedResponse / %v) = false", err, tt.is)
			}
			var e *Error
			if !errors.As(err, &e) || e.SlackError != tt.slackErr || e.Status != http.StatusOK {
				t.Fatalf("error %#v, want *Error with status 200, SlackError %q", err, tt.slackErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, "answer is not Slack's") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say what came back (%s)", msg, tt.want)
			}
			if strings.Contains(msg, "invalid character") {
				t.Errorf("error %q is a JSON parser's", msg)
			}
			if len(e.Body) > 200 || len(msg) > 400 {
				t.Errorf("error not bounded: %d chars (Body %d)", len(msg), len(e.Body))
			}
			assertNoSecret(t, "error", msg, fmt.Sprintf("%+v", err))
			assertNoSecret(t, "log", logs.String())
		})
	}
}

// TestRetry429: a 429 with Retry-After is retried within the same Notify,
// for the webhook and the bot; past the retry budget the run stops.
func TestRetry429(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		t.Run(k.String()+" within budget", func(t *testing.T) {
			t.Parallel()
			// Every other request is rate limited, as with 30-50 % of posts
			// limited on a busy workspace.
			srv := newSlackServer(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n%2 == 0 {
					return false
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			})
			var logs bytes.Buffer
			m := smallMessage()
			delivered, err := newNotifier(t, k, srv, WithLogger(capturedLogger(&logs))).Notify(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSet(delivered, keysOf(m.Alerts)) {
				t.Errorf("delivered %v, want every alert", delivered)
			}
			if got, ok := len(srv.got()), len(srv.channel()); got != 2*ok || ok != 4 {
				t.Errorf("%d requests for %d messages, want 4 messages each retried once", got, ok)
			}
			if !strings.Contains(logs.String(), "retrying") {
				t.Errorf("retries not logged: %s", logs.String())
			}
		})
		t.Run(k.String()+" past budget", func(t *testing.T) {
			t.Parallel()
			srv := newSlackServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			})
			delivered, err := newNotifier(t, k, srv, WithRetryBudget(time.Minute)).Notify(context.Background(), smallMessage())
			if !errors.Is(err, ErrRateLimited) || len(delivered) != 0 || len(srv.got()) != 1 {
				t.Errorf("delivered %v after %d posts, err %v; want none, 1 post, rate limited", delivered, len(srv.got()), err)
			}
			if err != nil && !strings.Contains(err.Error(), "past the retry budget") {
				t.Errorf("error %q does not say the budget is spent", err)
			}
		})
	}
}

// TestAcceptedPerMessage: Accepted sees each message as soon as Slack
// accepted it, before the next is posted; an error from it stops delivery.
func TestAcceptedPerMessage(t *testing.T) {
	t.Parallel()
	srv := newSlackServer(t, nil)
	m := smallMessage()
	var order []string
	m.Accepted = func(_ context.Context, r Receipt) error {
		order = append(order, fmt.Sprintf("accepted %d after %d posts, tiers %v", len(r.Keys), len(srv.got()), r.TierChanges))
		return nil
	}
	if _, err := newNotifier(t, webhookSink, srv).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	want := []string{"accepted 2 after 1 posts, tiers false", "accepted 1 after 2 posts, tiers false",
		"accepted 1 after 3 posts, tiers false", "accepted 0 after 4 posts, tiers true"}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("receipts:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}

	srv2 := newSlackServer(t, nil)
	m.Accepted = func(context.Context, Receipt) error { return errors.New("disk full") }
	delivered, err := newNotifier(t, webhookSink, srv2).Notify(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "disk full") || len(srv2.got()) != 1 || len(delivered) != 2 {
		t.Errorf("Accepted failing: %d posts, delivered %v, err %v; want 1 post (delivered) then stop", len(srv2.got()), delivered, err)
	}
}

// TestCancelLetsInFlightFinish: cancelling Notify's context (SIGTERM) while
// a post is in flight lets that post finish and be recorded, and posts
// nothing more.
func TestCancelLetsInFlightFinish(t *testing.T) {
	t.Parallel()
	for _, k := range []sink{webhookSink, botSink} {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			srv := newSlackServer(t, func(n int, _ http.ResponseWriter, r *http.Request) bool {
				if n == 2 {
					once.Do(cancel) // the signal arrives while Slack handles message 2
					<-ctx.Done()
					time.Sleep(200 * time.Millisecond) // a slow link: the answer comes later
				}
				return false
			})
			m := smallMessage()
			var accepted []string
			m.Accepted = func(actx context.Context, r Receipt) error {
				if actx.Err() != nil {
					t.Errorf("Accepted got a cancelled context")
				}
				accepted = append(accepted, r.Keys...)
				return nil
			}
			delivered, err := newNotifier(t, k, srv).Notify(ctx, m)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled for the messages not sent", err)
			}
			if len(srv.got()) != 2 || len(delivered) != 3 || len(accepted) != 3 {
				t.Errorf("%d posts, delivered %v, accepted %v; want 2 posts, both delivered and recorded (3 alerts)", len(srv.got()), delivered, accepted)
			}
		})
	}
}
