package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

// echoTransport is a hostile network between the client and the simulated
// server: every 5th attempt fails with an error quoting the Authorization
// header, and every error response is replaced by a body echoing it
// (plainly, JSON-escaped, or in an HTML page).
type echoTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (t *echoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := t.n.Add(1)
	auth := req.Header.Get("Authorization")
	if n%5 == 0 {
		return nil, fmt.Errorf("read tcp: connection reset by peer (request had %q)", auth)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	var escaped strings.Builder
	for _, r := range seqtest.TestAPIKey {
		fmt.Fprintf(&escaped, `\u%04x`, r)
	}
	var body string
	switch n % 3 {
	case 0:
		body = `{"errors":[{"field":"authorization","message":"bad ` + auth + `"}],"id":"` + seqtest.TestAPIKey + `"}`
	case 1:
		body = `{"errors":[{"field":"` + escaped.String() + `","message":"Bearer ` + escaped.String() + `"}],"error":"` + escaped.String() + `"}`
	default:
		body = "<html><body><h1>Bad gateway</h1><pre>" + auth + "</pre></body></html>"
	}
	resp.Body = io.NopCloser(strings.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestNoKeyLeakUnderFaults runs a sweep with injected faults, 202s,
// transport errors and error bodies that echo the key, then greps every
// captured log line, request-hook event and returned error (every layer of
// its chain, with %v, %+v and %#v) for the key.
func TestNoKeyLeakUnderFaults(t *testing.T) {
	t.Parallel()
	srv := newExampleServer(seqtest.WithFaults(0.3, 11), seqtest.WithPending(1))
	defer srv.Close()

	var (
		mu     sync.Mutex
		logBuf bytes.Buffer
		events []client.RequestEvent
	)
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logBuf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := srv.Client(
		client.WithHTTPClient(&http.Client{Transport: &echoTransport{base: http.DefaultTransport}}),
		client.WithLogger(logger),
		client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 2, MinWait: 0, MaxWait: 0}),
		client.WithRequestHook(func(ev client.RequestEvent) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}),
	)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range []string{"acme-news", "eu-retail", "no-such-user", ""} {
		_, err := c.OnBehalfOf(u).Scores(ctx, e2eDay.AddDays(-3), e2eDay)
		note(err)
		_, err = c.Scores(ctx, e2eDay, e2eDay, client.AsSubuser(u), client.NoWait())
		note(err)
	}
	for range 3 {
		for _, err := range c.SubuserScores(ctx, e2eDay) {
			note(err)
		}
		_, err := c.Pools(ctx)
		note(err)
		_, err = c.CreatePool(ctx, "leak pool")
		note(err)
		note(c.AddIPToPool(ctx, "no such pool", "10.0.0.1"))
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Scores(canceled, e2eDay, e2eDay)
	note(err)

	if len(errs) < 5 {
		t.Fatalf("only %d errors: the faults did not bite", len(errs))
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logBuf.String(), "retrying") {
		t.Error("no retry was logged")
	}
	failedEvents := 0
	var texts []string
	for _, ev := range events {
		texts = append(texts, fmt.Sprintf("%v %+v %#v", ev, ev, ev))
		if ev.Err != nil {
			failedEvents++
			texts = append(texts, chainTexts(ev.Err)...)
		}
	}
	if failedEvents == 0 {
		t.Error("no hook event carried a transport error")
	}
	for _, err := range errs {
		texts = append(texts, chainTexts(err)...)
		var apiErr *client.APIError
		if errors.As(err, &apiErr) {
			texts = append(texts, apiErr.Body, apiErr.ID, fmt.Sprint(apiErr.Errors))
		}
	}
	texts = append(texts, logBuf.String(), fmt.Sprintf("%v %+v %#v", c, *c, c))
	for _, s := range texts {
		if strings.Contains(s, seqtest.TestAPIKey) || strings.Contains(s, "seqtest-simulated") {
			t.Errorf("key leaked: %s", s)
		}
	}
	t.Logf("%d errors, %d events (%d failed), %d log bytes checked", len(errs), len(events), failedEvents, logBuf.Len())
}

// chainTexts prints err and every error it wraps.
func chainTexts(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e.Error(), fmt.Sprintf("%v|%+v|%#v", e, e, e))
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
