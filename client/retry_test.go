package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

// TestRetryWaits checks, on synctest's fake clock, how long the client waits
// between attempts.
func TestRetryWaits(t *testing.T) {
	t.Parallel()
	policy := RetryPolicy{MaxRetries: 2, MinWait: 100 * time.Millisecond, MaxWait: 10 * time.Second}
	tests := []struct {
		name    string
		first   func() httpmock.Responder
		wantMin time.Duration
		wantMax time.Duration
	}{
		{"429 Retry-After seconds", func() httpmock.Responder {
			return respond(429, `{"errors":[{"field":null,"message":"too many requests"}]}`, HeaderRetryAfter, "3")
		}, 3 * time.Second, 3 * time.Second},
		{"503 Retry-After HTTP date", func() httpmock.Responder {
			return respond(503, ``, HeaderRetryAfter, time.Now().Add(5*time.Second).UTC().Format(http.TimeFormat))
		}, 5 * time.Second, 5 * time.Second},
		{"429 Retry-After capped by MaxWait", func() httpmock.Responder {
			return respond(429, ``, HeaderRetryAfter, "120")
		}, 10 * time.Second, 10 * time.Second},
		{"429 X-RateLimit-Reset delta", func() httpmock.Responder {
			return respond(429, ``, HeaderRateLimit, "10", HeaderRateRemaining, "0", HeaderRateReset, "4")
		}, 4 * time.Second, 4 * time.Second},
		{"500 jittered backoff", func() httpmock.Responder { return respond(500, ``) }, 50 * time.Millisecond, 100 * time.Millisecond},
		{"connection error", func() httpmock.Responder {
			return httpmock.NewErrorResponder(errors.New("connection reset by peer"))
		}, 50 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, rec := newMocked(t, sequence(tt.first(), respond(200, `[{"name":"a"}]`)), WithRetryPolicy(policy))
				pools, err := c.Pools(context.Background())
				if err != nil || len(pools) != 1 {
					t.Fatalf("Pools() = %v, %v", pools, err)
				}
				reqs := rec.all()
				if len(reqs) != 2 {
					t.Fatalf("%d requests, want 2", len(reqs))
				}
				if gap := reqs[1].At.Sub(reqs[0].At); gap < tt.wantMin || gap > tt.wantMax {
					t.Errorf("waited %v between attempts, want %v..%v", gap, tt.wantMin, tt.wantMax)
				}
			})
		})
	}
}

func TestNoRetry(t *testing.T) {
	t.Parallel()
	type call func(c *Client) error
	post := func(c *Client) error { _, err := c.CreatePool(context.Background(), "p"); return err }
	add := func(c *Client) error { return c.AddIPToPool(context.Background(), "p", "10.0.0.1") }
	del := func(c *Client) error { return c.RemoveIPFromPool(context.Background(), "p", "10.0.0.1") }
	put := func(c *Client) error {
		_, err := c.AssignSubuserIPs(context.Background(), "u", []string{"10.0.0.1"})
		return err
	}
	get := func(c *Client) error { _, err := c.Pools(context.Background()); return err }
	tests := []struct {
		name    string
		resp    httpmock.Responder
		call    call
		wantErr error
	}{
		{"GET 400", respond(400, `{"errors":[{"field":"x","message":"invalid"}]}`), get, nil},
		{"GET 401", respond(401, `{"errors":[{"field":null,"message":"authorization required"}]}`), get, ErrUnauthorized},
		{"GET 403", respond(403, ``), get, ErrForbidden},
		{"GET 404", respond(404, ``), get, ErrNotFound},
		{"POST 503", respond(503, ``), post, nil},
		{"POST 429", respond(429, ``, HeaderRetryAfter, "1"), add, ErrRateLimited},
		{"POST connection error", httpmock.NewErrorResponder(errors.New("connection reset")), post, nil},
		{"PUT 500", respond(500, ``), put, nil},
		{"PUT 502", respond(502, ``), put, nil},
		{"DELETE 504", respond(504, ``), del, nil},
		{"DELETE connection error", httpmock.NewErrorResponder(errors.New("EOF")), del, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec := newMocked(t, tt.resp)
			err := tt.call(c)
			if err == nil {
				t.Fatal("want an error")
			}
			if n := rec.count(); n != 1 {
				t.Errorf("%d attempts, want exactly 1", n)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "giving up") {
				t.Errorf("err = %v hides the response", err)
			}
		})
	}
}

func TestRetryExhaustedKeepsLastResponse(t *testing.T) {
	t.Parallel()
	c, rec := newMocked(t, sequence(
		respond(500, `{"errors":[{"field":null,"message":"first"}]}`),
		respond(502, `<html>proxy</html>`),
		respond(503, `{"errors":[{"field":null,"message":"still down"}],"id":"req-9"}`),
	), WithRetryPolicy(RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	_, err := c.IPsPage(context.Background(), nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want *APIError", err, err)
	}
	if apiErr.StatusCode != 503 || apiErr.Message() != "still down" || apiErr.ID != "req-9" || rec.count() != 3 {
		t.Errorf("APIError = %+v after %d attempts", apiErr, rec.count())
	}
	if strings.Contains(err.Error(), "giving up") {
		t.Errorf("err = %v", err)
	}
}

func TestRetryContextCanceledDuringWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, rec := newMocked(t, respond(503, ``, HeaderRetryAfter, "30"),
			WithRetryPolicy(RetryPolicy{MaxRetries: 5, MinWait: time.Second, MaxWait: time.Minute}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Pools(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		if rec.count() != 1 {
			t.Errorf("%d attempts", rec.count())
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	mk := func(status int, kv ...string) *http.Response { return jsonResp(status, ``, kv...) }
	tests := []struct {
		name     string
		resp     *http.Response
		attempt  int
		min, max time.Duration
	}{
		{"nil response", nil, 0, 500 * time.Millisecond, time.Second},
		{"exponential", mk(500), 3, 4 * time.Second, 8 * time.Second},
		{"capped", mk(500), 30, 15 * time.Second, 30 * time.Second},
		{"retry-after", mk(429, HeaderRetryAfter, "7"), 0, 7 * time.Second, 7 * time.Second},
		{"retry-after on 503", mk(503, HeaderRetryAfter, "2"), 5, 2 * time.Second, 2 * time.Second},
		{"bad retry-after falls back", mk(429, HeaderRetryAfter, "soon"), 0, 500 * time.Millisecond, time.Second},
		{"reset unix time", mk(429, HeaderRateReset, itoa(now.Unix()+20)), 0, 20 * time.Second, 20 * time.Second},
		{"reset in the past", mk(429, HeaderRateReset, itoa(now.Unix()-20)), 0, time.Second, time.Second},
		{"reset ignored on 500 with budget left", mk(500, HeaderRateRemaining, "5", HeaderRateReset, "25"), 0, 500 * time.Millisecond, time.Second},
		{"reset honoured when budget spent", mk(500, HeaderRateRemaining, "0", HeaderRateReset, "25"), 0, 25 * time.Second, 25 * time.Second},
		{"reset capped", mk(429, HeaderRateReset, "3600"), 0, 30 * time.Second, 30 * time.Second},
		{"huge retry-after capped", mk(429, HeaderRetryAfter, "99999999999999"), 0, 30 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 20 {
				got := backoffAt(now, time.Second, 30*time.Second, tt.attempt, tt.resp)
				if got < tt.min || got > tt.max {
					t.Fatalf("backoff = %v, want %v..%v", got, tt.min, tt.max)
				}
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		h     map[string]string
		want  Rate
		found bool
	}{
		{"none", nil, Rate{}, false},
		{"unix reset", map[string]string{HeaderRateLimit: "600", HeaderRateRemaining: "12", HeaderRateReset: "1773576060"},
			Rate{600, 12, time.Unix(1773576060, 0)}, true},
		{"delta reset", map[string]string{HeaderRateLimit: "600", HeaderRateRemaining: "0", HeaderRateReset: "60"},
			Rate{600, 0, now.Add(time.Minute)}, true},
		{"fractional delta", map[string]string{HeaderRateReset: "1.5"}, Rate{0, 0, now.Add(1500 * time.Millisecond)}, true},
		{"limit only", map[string]string{HeaderRateLimit: "50"}, Rate{50, 50, time.Time{}}, true},
		{"garbage", map[string]string{HeaderRateLimit: "x", HeaderRateRemaining: "-3", HeaderRateReset: "soon"}, Rate{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			got, ok := parseRate(h, now)
			if ok != tt.found || got.Limit != tt.want.Limit || got.Remaining != tt.want.Remaining || !got.Reset.Equal(tt.want.Reset) {
				t.Errorf("parseRate = %+v, %v; want %+v, %v", got, ok, tt.want, tt.found)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzParseRateHeaders(f *testing.F) {
	for _, s := range []string{"", "0", "60", "1773576060", "1.5", "-1", "1e300", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT"} {
		f.Add(s, s, s)
	}
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, remaining, reset, retry string) {
		h := http.Header{}
		h.Set(HeaderRateLimit, "100")
		h.Set(HeaderRateRemaining, remaining)
		h.Set(HeaderRateReset, reset)
		h.Set(HeaderRetryAfter, retry)
		r, _ := parseRate(h, now)
		if r.Remaining < 0 {
			t.Errorf("negative remaining %d", r.Remaining)
		}
		if d := retryAfter(h, now); d < 0 {
			t.Errorf("negative Retry-After %v", d)
		}
		resp := &http.Response{StatusCode: 429, Header: h}
		if d := backoff(time.Millisecond, time.Second, 3, resp); d < 0 || d > time.Second {
			t.Errorf("backoff %v outside [0, max]", d)
		}
	})
}
