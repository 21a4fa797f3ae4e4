package client

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

const (
	testKey  = "SG.test-key-0123456789abcdef"
	testBase = "https://sg.test"
)

// testNow is "now" for every unit test: scores may be asked for
// 2026-03-15 back to 2025-12-15.
var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

var (
	testToday     = DateOf(testNow)
	testYesterday = testToday.AddDays(-1)
)

// recorded is one request seen by a mock transport.
type recorded struct {
	Method, Path string // escaped path
	Query        url.Values
	Header       http.Header
	Body         string
	At           time.Time
}

// recorder collects requests; wrap a responder with it.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) wrap(next httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		var body string
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			body = string(b)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{
			Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.Query(),
			Header: req.Header.Clone(), Body: body, At: time.Now(),
		})
		r.mu.Unlock()
		return next(req)
	}
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// fastRetry and fastPoll keep tests quick without asserting on timings.
var (
	fastRetry = RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond}
	fastPoll  = PollPolicy{MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond}
)

// newMocked returns a client on a fresh mock transport whose every request
// goes to respond (recorded in rec).
func newMocked(t testing.TB, respond httpmock.Responder, opts ...Option) (*Client, *recorder) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	rec := &recorder{}
	mt.RegisterNoResponder(rec.wrap(respond))
	base := []Option{
		WithHTTPClient(&http.Client{Transport: mt}),
		WithBaseURL(testBase),
		WithRetryPolicy(fastRetry),
		WithPollPolicy(fastPoll),
		WithNow(func() time.Time { return testNow }),
	}
	c, err := New(testKey, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// jsonResp builds a JSON response with optional header pairs.
func jsonResp(status int, body string, kv ...string) *http.Response {
	r := httpmock.NewStringResponse(status, body)
	if strings.HasPrefix(strings.TrimSpace(body), "{") || strings.HasPrefix(strings.TrimSpace(body), "[") {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	return r
}

// respond returns a responder answering with a fresh copy of jsonResp.
func respond(status int, body string, kv ...string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) { return jsonResp(status, body, kv...), nil }
}

// sequence answers with each responder in turn, repeating the last.
func sequence(rs ...httpmock.Responder) httpmock.Responder {
	var mu sync.Mutex
	i := 0
	return func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		r := rs[min(i, len(rs)-1)]
		i++
		mu.Unlock()
		return r(req)
	}
}
