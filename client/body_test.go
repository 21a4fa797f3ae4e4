package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

// fullPage is a valid one-score page of subuser scores.
const fullPage = `{"result":[{"user_id":"1","username":"acme","date":"2026-03-14","score":3,"metrics":{"engagement_recency":3,"open_rate":4,"bounce_classification":5,"bounce_rate":5,"spam_rate":3}}]}`

// cutJSON answers the first half of fullPage with a Content-Length that
// matches the cut: the transport sees a complete body, the JSON is not.
func cutJSON(*http.Request) (*http.Response, error) {
	r := jsonResp(200, fullPage[:len(fullPage)/2])
	r.ContentLength = int64(len(fullPage) / 2)
	return r, nil
}

// resetBody announces the whole page, sends half of it, then fails the
// read as a reset connection does.
func resetBody(*http.Request) (*http.Response, error) {
	r := jsonResp(200, "")
	r.Body = &brokenBody{data: fullPage[:len(fullPage)/2], err: syscall.ECONNRESET}
	r.ContentLength = int64(len(fullPage))
	r.Header.Set("Content-Length", strconv.Itoa(len(fullPage)))
	return r, nil
}

// slowBody sends half the page and then stalls until the attempt's
// context ends (the attempt timeout).
func slowBody(req *http.Request) (*http.Response, error) {
	r := jsonResp(200, "")
	r.Body = &brokenBody{data: fullPage[:len(fullPage)/2], stall: req.Context()}
	r.ContentLength = int64(len(fullPage))
	return r, nil
}

// html200 is a captive portal or proxy page served with 200.
func html200(*http.Request) (*http.Response, error) {
	r := httpmock.NewStringResponse(200, "<!DOCTYPE html><html><head><title>Proxy</title></head><body><h1>Access denied by policy</h1></body></html>")
	r.Header.Set("Content-Type", "text/html; charset=utf-8")
	return r, nil
}

// brokenBody yields data, then err, or stalls until stall ends.
type brokenBody struct {
	data  string
	err   error
	stall context.Context
	off   int
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.off < len(b.data) {
		n := copy(p, b.data[b.off:])
		b.off += n
		return n, nil
	}
	if b.stall != nil {
		<-b.stall.Done()
		return 0, b.stall.Err()
	}
	return 0, b.err
}

func (b *brokenBody) Close() error { return nil }

// TestBodyFailuresRetried checks each shape of a bad 2xx body: it is
// retried like a 5xx within the retry budget, the final error says what
// happened, and a later good answer is used whole.
func TestBodyFailuresRetried(t *testing.T) {
	t.Parallel()
	half := strconv.Itoa(len(fullPage) / 2)
	full := strconv.Itoa(len(fullPage))
	tests := []struct {
		name    string
		bad     httpmock.Responder
		wantErr []string // substrings of the final error
		wantIs  error    // errors.Is target of the cause, if any
	}{
		{"cut JSON with matching Content-Length", cutJSON, []string{
			"GET /v3/engagementquality/subusers/scores: 200 OK: body is not valid JSON: decoding stopped at byte " + half + " of " + half + " (Content-Length matches): unexpected end of JSON input (4 attempts)",
		}, nil},
		{"connection reset mid-body", resetBody, []string{
			"GET /v3/engagementquality/subusers/scores: 200 OK: body cut off after " + half + " of " + full + " bytes: ", "connection reset by peer", "(4 attempts)",
		}, syscall.ECONNRESET},
		{"slow body past the attempt timeout", slowBody, []string{
			"GET /v3/engagementquality/subusers/scores: 200 OK: body cut off after " + half + " of " + full + " bytes: context deadline exceeded (4 attempts)",
		}, context.DeadlineExceeded},
		{"HTML page with 200", html200, []string{
			`GET /v3/engagementquality/subusers/scores: 200 OK: body is not JSON (Content-Type "text/html; charset=utf-8", `, `bytes): Proxy Access denied by policy (4 attempts)`,
		}, nil},
	}
	policy := WithRetryPolicy(RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond, AttemptTimeout: time.Second})
	for _, tt := range tests {
		t.Run(tt.name+"/exhausted", func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, rec := newMocked(t, tt.bad, policy)
				page, err := c.SubuserScoresPage(context.Background(), testYesterday, nil)
				if page != nil {
					t.Errorf("page = %+v, want none", page)
				}
				var be *BodyError
				if !errors.As(err, &be) {
					t.Fatalf("err = %v (%T), want a *BodyError", err, err)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("err = %q\nwant it to contain %q", err, want)
					}
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("err = %v, want errors.Is %v", err, tt.wantIs)
				}
				if be.Attempts != 4 || rec.count() != 4 {
					t.Errorf("attempts %d, requests %d, want 4 and 4", be.Attempts, rec.count())
				}
				if be.StatusCode != 200 || be.Method != "GET" || be.Path != "/v3/engagementquality/subusers/scores" {
					t.Errorf("BodyError = %+v", be)
				}
			})
		})
		t.Run(tt.name+"/then good", func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, rec := newMocked(t, sequence(tt.bad, tt.bad, respond(200, fullPage)), policy)
				page, err := c.SubuserScoresPage(context.Background(), testYesterday, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Scores) != 1 || page.Scores[0].Username != "acme" {
					t.Errorf("page = %+v", page)
				}
				if rec.count() != 3 {
					t.Errorf("%d requests, want 3 (two bad bodies retried)", rec.count())
				}
			})
		})
	}
}

// TestBodyFailureHTTPClientTimeout: a body that stalls past the
// http.Client's own Timeout is retried too.
func TestBodyFailureHTTPClientTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mt := httpmock.NewMockTransport()
		rec := &recorder{}
		mt.RegisterNoResponder(rec.wrap(sequence(slowBody, respond(200, fullPage))))
		c, err := New(testKey, WithBaseURL(testBase), WithNow(func() time.Time { return testNow }),
			WithHTTPClient(&http.Client{Transport: mt, Timeout: 50 * time.Millisecond}),
			WithRetryPolicy(RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		page, err := c.SubuserScoresPage(context.Background(), testYesterday, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Scores) != 1 || rec.count() != 2 {
			t.Errorf("%d scores after %d requests, want 1 after 2", len(page.Scores), rec.count())
		}
	})
}

// TestBodyFailureNotRetriedForNonGET: a POST whose answer is cut off may
// have been carried out: it is never sent twice.
func TestBodyFailureNotRetriedForNonGET(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		bad  httpmock.Responder
	}{{"cut JSON", cutJSON}, {"reset mid-body", resetBody}, {"HTML 200", html200}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec := newMocked(t, tt.bad)
			if _, err := c.CreatePool(context.Background(), "hot"); err == nil {
				t.Error("CreatePool succeeded on a bad body")
			}
			if rec.count() != 1 {
				t.Errorf("%d requests, want 1", rec.count())
			}
		})
	}
}

// TestBodyFailureContextCanceled: a body read cut by the caller's context
// is not retried and says so.
func TestBodyFailureContextCanceled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, rec := newMocked(t, slowBody, WithRetryPolicy(RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.SubuserScoresPage(ctx, testYesterday, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if rec.count() != 1 {
			t.Errorf("%d requests, want 1", rec.count())
		}
	})
}

// TestSubuserScoresIteratorBodyFailure: the iterator never yields the
// scores of a partial page: a page that stays cut off ends the walk with
// the error and no score from it.
func TestSubuserScoresIteratorBodyFailure(t *testing.T) {
	t.Parallel()
	first := pageBody(1, 3, `{"next_params":{"after_key":"3"}}`)
	c, rec := newMocked(t, sequence(respond(200, first), cutJSON))
	var got []string
	var last error
	for s, err := range c.SubuserScores(context.Background(), testYesterday, PageSize(3)) {
		if err != nil {
			last = err
			break
		}
		got = append(got, s.Username)
	}
	var be *BodyError
	if !errors.As(last, &be) {
		t.Fatalf("err = %v, want a *BodyError", last)
	}
	if len(got) != 3 || rec.count() != 1+4 {
		t.Errorf("got %v after %d requests, want the 3 of the first page after 5", got, rec.count())
	}
	if q := rec.all()[1].Query.Get("limit"); q != "3" {
		t.Errorf("limit = %q, want 3 (PageSize)", q)
	}
}
