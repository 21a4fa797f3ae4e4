package monitor

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/internal/secret"
)

// TestSlackWebhookEndToEnd drives the notifier built from the config (an
// incoming webhook on a local server) and checks the JSON posted, the
// retry after a Slack failure, and that neither the API key nor the
// webhook URL appears in logs or errors.
func TestSlackWebhookEndToEnd(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		bodies []string
		fail   = true
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "channel_not_found")
			return
		}
		bodies = append(bodies, string(b))
		io.WriteString(w, "ok")
	}))
	t.Cleanup(hook.Close)
	hookURL := hook.URL + "/services/T000/B000/hooksecretpart"

	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd.AddDays(-2)) // the parent's drop day
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	cfg.Notify.Slack.WebhookURL = secret.Secret(hookURL)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := newTestDaemon(t, cfg, srv, st, clk, nil, WithLogger(logger), WithoutPoolDetector())
	ctx := context.Background()

	res, err := d.Sweep(ctx, SweepOptions{})
	if err == nil {
		t.Fatal("sweep with a failing webhook: no error")
	}
	if res.Delivered != 0 || len(res.Alerts) == 0 {
		t.Fatalf("delivered %d of %d", res.Delivered, len(res.Alerts))
	}
	for _, s := range []string{err.Error(), logs.String()} {
		for _, leak := range []string{"hooksecretpart", seqtest.TestAPIKey} {
			if strings.Contains(s, leak) {
				t.Errorf("secret %q leaked in %q", leak, s)
			}
		}
	}

	mu.Lock()
	fail = false
	mu.Unlock()
	res, err = d.Sweep(ctx, SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != len(res.Alerts) || res.Delivered == 0 {
		t.Fatalf("second run delivered %d of %d", res.Delivered, len(res.Alerts))
	}
	mu.Lock()
	posted := strings.Join(bodies, "\n")
	mu.Unlock()
	for _, want := range []string{`"blocks"`, `"text"`, "(parent)", "lastminute-travel"} {
		if !strings.Contains(posted, want) {
			t.Errorf("posted JSON lacks %q:\n%.2000s", want, posted)
		}
	}
	if strings.Contains(logs.String(), "hooksecretpart") || strings.Contains(logs.String(), seqtest.TestAPIKey) {
		t.Error("secret in logs")
	}
}

// TestSlackWebhookNotOK: a webhook answering 200 with a proxy's sign-in
// page delivers nothing: no alert is marked notified, the run fails, and
// once the URL answers "ok" the next run delivers every alert.
func TestSlackWebhookNotOK(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	signIn, bodies := true, 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		if signIn {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><title>Sign in</title></html>")
			return
		}
		bodies++
		io.WriteString(w, "ok")
	}))
	t.Cleanup(hook.Close)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	cfg.Notify.Slack.WebhookURL = secret.Secret(hook.URL + "/services/T000/B000/hooksecretpart")
	d := newTestDaemon(t, cfg, srv, st, clk, nil, WithoutPoolDetector())
	ctx := context.Background()
	res, err := d.Sweep(ctx, SweepOptions{})
	if err == nil || !strings.Contains(err.Error(), "answer is not Slack's") || res.Delivered != 0 || len(res.Alerts) == 0 {
		t.Fatalf("sign-in page: delivered %d of %d, err %v", res.Delivered, len(res.Alerts), err)
	}
	recs, _ := st.Alerts(ctx)
	for _, r := range recs {
		if !r.LastNotified.IsZero() {
			t.Errorf("alert %s marked notified after a sign-in page", r.Key)
		}
	}
	mu.Lock()
	signIn = false
	mu.Unlock()
	res2, err := d.Sweep(ctx, SweepOptions{})
	if err != nil || res2.Delivered != len(res.Alerts) {
		t.Fatalf("after the fix: delivered %d, want %d; err %v", res2.Delivered, len(res.Alerts), err)
	}
	if bodies == 0 {
		t.Error("nothing reached Slack")
	}
}

// TestSlackWebhook429SameRun: Slack rate-limits the first post with
// Retry-After: 1; the notification is delivered in the same run.
func TestSlackWebhook429SameRun(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	requests := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		requests++
		if requests == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(hook.Close)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	cfg.Notify.Slack.WebhookURL = secret.Secret(hook.URL + "/services/T000/B000/hooksecretpart")
	d := newTestDaemon(t, cfg, srv, openTestStore(t), clk, nil, WithoutPoolDetector())
	res, err := d.Sweep(context.Background(), SweepOptions{})
	if err != nil || res.Delivered == 0 || res.Delivered != len(res.Alerts) {
		t.Fatalf("delivered %d of %d, err %v; want all in this run", res.Delivered, len(res.Alerts), err)
	}
	if requests != 2 {
		t.Errorf("%d requests, want 2 (one 429, one retry)", requests)
	}
}
