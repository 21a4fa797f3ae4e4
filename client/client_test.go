package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		opts []Option
	}{
		{"empty key", "", nil},
		{"blank key", "   ", nil},
		{"key with newline", "SG.a\nb", nil},
		{"bad region", testKey, []Option{WithRegion("mars")}},
		{"bad base url scheme", testKey, []Option{WithBaseURL("ftp://x")}},
		{"base url without host", testKey, []Option{WithBaseURL("https://")}},
		{"base url with user", testKey, []Option{WithBaseURL("https://u:p@x")}},
		{"nil http client", testKey, []Option{WithHTTPClient(nil)}},
		{"empty user agent", testKey, []Option{WithUserAgent("")}},
		{"negative retries", testKey, []Option{WithRetryPolicy(RetryPolicy{MaxRetries: -1})}},
		{"negative poll", testKey, []Option{WithPollPolicy(PollPolicy{MaxAttempts: -1})}},
		{"nil clock", testKey, []Option{WithNow(nil)}},
		{"key pasted into base url", testKey, []Option{WithBaseURL("https://x/?api_key=" + testKey)}},
		{"key as user agent", testKey, []Option{WithUserAgent("a\n" + testKey)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.key, tt.opts...)
			if err == nil {
				t.Fatalf("New() = %v, want an error", c)
			}
			if strings.Contains(err.Error(), "p@x") {
				t.Errorf("error leaks base URL password: %v", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"default", nil, DefaultBaseURL},
		{"global", []Option{WithRegion(Global)}, DefaultBaseURL},
		{"eu", []Option{WithRegion(EU)}, EUBaseURL},
		{"override wins", []Option{WithBaseURL("http://127.0.0.1:8080/"), WithRegion(EU)}, "http://127.0.0.1:8080"},
		{"prefix", []Option{WithBaseURL("https://proxy.example/sendgrid/")}, "https://proxy.example/sendgrid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(testKey, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL(); got != tt.want {
				t.Errorf("BaseURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequestHeadersAndURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []Option
		wantHost string
		wantPath string
		wantUA   string
	}{
		{"eu region", []Option{WithRegion(EU)}, "api.eu.sendgrid.com", "/v3/engagementquality/scores", DefaultUserAgent},
		{"global", nil, "api.sendgrid.com", "/v3/engagementquality/scores", DefaultUserAgent},
		{"prefix and user agent", []Option{WithBaseURL("https://proxy.example/sg/"), WithUserAgent("mytool/1.0")}, "proxy.example", "/sg/v3/engagementquality/scores", "mytool/1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			var got *http.Request
			mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
				got = req
				return jsonResp(200, `{"result":[]}`), nil
			})
			opts := append([]Option{WithHTTPClient(&http.Client{Transport: mt}), WithNow(func() time.Time { return testNow })}, tt.opts...)
			c, err := New(testKey, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Scores(context.Background(), testYesterday, testYesterday); err != nil {
				t.Fatal(err)
			}
			if got.URL.Host != tt.wantHost || got.URL.Path != tt.wantPath {
				t.Errorf("URL = %s, want host %s path %s", got.URL, tt.wantHost, tt.wantPath)
			}
			if a := got.Header.Get("Authorization"); a != "Bearer "+testKey {
				t.Errorf("Authorization = %q", a)
			}
			if ua := got.Header.Get("User-Agent"); ua != tt.wantUA {
				t.Errorf("User-Agent = %q, want %q", ua, tt.wantUA)
			}
			if q := got.URL.Query(); q.Get("from") != testYesterday.String() || q.Get("to") != testYesterday.String() {
				t.Errorf("query = %v", q)
			}
			if h := got.Header.Get(HeaderOnBehalfOf); h != "" {
				t.Errorf("on-behalf-of = %q without asking", h)
			}
		})
	}
}

func TestOnBehalfOf(t *testing.T) {
	t.Parallel()
	c, rec := newMocked(t, func(req *http.Request) (*http.Response, error) {
		if req.URL.Path == "/v3/ips/pools" {
			return jsonResp(200, `[]`), nil
		}
		return jsonResp(200, `{"result":[]}`, HeaderRateLimit, "600", HeaderRateRemaining, "599", HeaderRateReset, "30"), nil
	})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"none", func() error { _, err := c.Scores(ctx, testYesterday, testYesterday); return err }, ""},
		{"client copy subuser", func() error {
			_, err := c.OnBehalfOf("jdoe").Scores(ctx, testYesterday, testYesterday)
			return err
		}, "jdoe"},
		{"client copy account", func() error {
			_, err := c.OnBehalfOfAccount("12345").Scores(ctx, testYesterday, testYesterday)
			return err
		}, "account-id 12345"},
		{"call option subuser", func() error {
			_, err := c.Scores(ctx, testYesterday, testYesterday, AsSubuser("alice"))
			return err
		}, "alice"},
		{"call option account", func() error {
			_, err := c.SubuserScoresPage(ctx, testYesterday, nil, AccountID("987"))
			return err
		}, "account-id 987"},
		{"call option overrides copy", func() error {
			_, err := c.OnBehalfOf("jdoe").Scores(ctx, testYesterday, testYesterday, AsSubuser("bob"))
			return err
		}, "bob"},
		{"account calls on copy", func() error {
			_, err := c.OnBehalfOf("carol").Pools(ctx)
			return err
		}, "carol"},
	}
	for _, tt := range tests {
		// Not parallel: each case reads the last recorded request.
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			reqs := rec.all()
			if got := reqs[len(reqs)-1].Header.Get(HeaderOnBehalfOf); got != tt.want {
				t.Errorf("on-behalf-of = %q, want %q", got, tt.want)
			}
		})
	}
	// Copies share the rate state.
	if a, b := c.Rate(), c.OnBehalfOf("x").Rate(); a != b || a.Limit != 600 || a.Remaining != 599 {
		t.Errorf("Rate() = %v and copy %v, want shared 599/600", a, b)
	}
	if _, err := c.Scores(ctx, testYesterday, testYesterday, AsSubuser("evil\r\nX-Injected: 1")); err == nil {
		t.Error("header injection in on-behalf-of accepted")
	}
}

func TestKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The server echoes the Authorization header back in an error body and
	// fails with 500 so that retries are logged.
	c, _ := newMocked(t, func(req *http.Request) (*http.Response, error) {
		switch req.URL.Path {
		case "/v3/ips/pools":
			return nil, fmt.Errorf("dial tcp: bad things for %s", req.Header.Get("Authorization"))
		}
		return jsonResp(500, `{"errors":[{"field":null,"message":"bad key `+req.Header.Get("Authorization")+`"}]}`), nil
	}, WithLogger(logger))

	_, errScores := c.Scores(context.Background(), testYesterday, testYesterday)
	_, errPools := c.Pools(context.Background())
	if errScores == nil || errPools == nil {
		t.Fatalf("want errors, got %v, %v", errScores, errPools)
	}
	var apiErr *APIError
	if !errors.As(errScores, &apiErr) {
		t.Fatalf("want *APIError, got %T", errScores)
	}
	mu.Lock()
	logs := logBuf.String()
	mu.Unlock()
	if !strings.Contains(logs, "retrying") {
		t.Errorf("expected retry logs at debug level, got %q", logs)
	}
	cp := *c
	outputs := map[string]string{
		"%v":           fmt.Sprintf("%v", c),
		"%+v":          fmt.Sprintf("%+v", c),
		"%#v":          fmt.Sprintf("%#v", c),
		"%s":           fmt.Sprintf("%s", c),
		"%q":           fmt.Sprintf("%q", c),
		"value %+v":    fmt.Sprintf("%+v", cp),
		"value %#v":    fmt.Sprintf("%#v", cp),
		"nested":       fmt.Sprintf("%+v", struct{ C Client }{cp}),
		"nested ptr":   fmt.Sprintf("%#v", struct{ c *Client }{c}),
		"scores error": errScores.Error(),
		"api body":     apiErr.Body + fmt.Sprint(apiErr.Errors),
		"pools error":  errPools.Error(),
		"logs":         logs,
	}
	for name, out := range outputs {
		if strings.Contains(out, testKey) {
			t.Errorf("%s leaks the key: %s", name, out)
		}
	}
	if s := c.String(); !strings.Contains(s, "REDACTED") || !strings.Contains(s, testBase) {
		t.Errorf("String() = %q", s)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRequestHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []RequestEvent
	hook := func(e RequestEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	c, _ := newMocked(t, sequence(
		respond(503, `down`),
		respond(200, `{"ips":[]}`, HeaderRateLimit, "10", HeaderRateRemaining, "8", HeaderRateReset, "5"),
	), WithRequestHook(hook), WithBaseURL("https://proxy.test/prefix"))
	if _, err := c.Pool(context.Background(), "hot pool"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2 (one per attempt): %+v", len(events), events)
	}
	for i, want := range []int{503, 200} {
		e := events[i]
		if e.StatusCode != want || e.Method != "GET" || e.Path != "/v3/ips/pools/hot%20pool" || e.Route != "/v3/ips/pools/{name}" {
			t.Errorf("event %d = %+v", i, e)
		}
	}
	if r := events[1].Rate; r.Limit != 10 || r.Remaining != 8 {
		t.Errorf("event rate = %v", r)
	}
}

func TestHTTPClientTimeoutKept(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(5 * time.Second):
			return jsonResp(200, `[]`), nil
		}
	})
	var mu sync.Mutex
	var events []RequestEvent
	c, err := New(testKey,
		WithHTTPClient(&http.Client{Transport: mt, Timeout: 20 * time.Millisecond}),
		WithRetryPolicy(RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond}),
		WithRequestHook(func(e RequestEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pools(context.Background())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].StatusCode != 0 || events[0].Err == nil {
		t.Errorf("events = %+v, want 2 failed attempts", events)
	}
}

// TestScrubbedErrorKeepsIdentity checks that removing the key from a
// transport error keeps what callers test for: errors.Is on the context
// error, errors.As to *url.Error, Timeout; and that no layer prints the key.
func TestScrubbedErrorKeepsIdentity(t *testing.T) {
	t.Parallel()
	var hookErr error
	c, _ := newMocked(t, func(req *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy said %s: %w", req.Header.Get("Authorization"), context.DeadlineExceeded)
	}, WithRetryPolicy(RetryPolicy{}), WithRequestHook(func(ev RequestEvent) { hookErr = ev.Err }))
	_, err := c.Pools(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	for name, e := range map[string]error{"returned": err, "hook": hookErr} {
		if e == nil {
			t.Fatalf("%s: nil", name)
		}
		if !errors.Is(e, context.DeadlineExceeded) {
			t.Errorf("%s: errors.Is(DeadlineExceeded) = false: %v", name, e)
		}
		for x := e; x != nil; x = errors.Unwrap(x) {
			if s := fmt.Sprintf("%v %#v", x, x); strings.Contains(s, testKey) {
				t.Errorf("%s: layer %T leaks the key: %s", name, x, s)
			}
		}
		if to, ok := e.(interface{ Timeout() bool }); ok && !to.Timeout() {
			t.Errorf("%s: Timeout() = false", name)
		}
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("errors.As(*url.Error) = %v, Timeout = %v", ue != nil, ue != nil && ue.Timeout())
	}
}
