package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestScoresDecodesEligibility(t *testing.T) {
	t.Parallel()
	body := `{"result":[
	 {"user_id":"1","username":"parent","date":"2026-03-13","score":4,"metrics":{"engagement_recency":4,"open_rate":5,"bounce_classification":5,"bounce_rate":5,"spam_rate":3}},
	 {"user_id":"1","username":"parent","date":"2026-03-14"},
	 {"user_id":"1","date":"2026-03-12","score":1,"metrics":{"engagement_recency":1,"open_rate":1,"bounce_classification":1,"bounce_rate":1,"spam_rate":1}}
	]}`
	c, _ := newMocked(t, respond(200, body))
	got, err := c.Scores(context.Background(), testToday.AddDays(-3), testYesterday)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d scores", len(got))
	}
	if !got[0].Eligible() || *got[0].Score != 4 || got[0].Metrics.SpamRate != 3 || got[0].Date != MustParseDate("2026-03-13") {
		t.Errorf("eligible day = %+v", got[0])
	}
	if got[1].Eligible() || got[1].Score != nil || got[1].Metrics != nil {
		t.Errorf("ineligible day reads as a score: %+v", got[1])
	}
	if v, ok := got[1].Value(); ok || v != 0 {
		t.Errorf("Value() of ineligible = %v, %v", v, ok)
	}
	if v, ok := got[2].Value(); !ok || v != 1 {
		t.Errorf("Value() = %v, %v", v, ok)
	}
}

func TestValidationBeforeRequest(t *testing.T) {
	t.Parallel()
	old := testToday.AddDays(-91)
	tests := []struct {
		name      string
		call      func(c *Client) error
		wantField string
		wantIn    string
	}{
		{"zero from", func(c *Client) error { _, err := c.Scores(context.Background(), Date{}, testToday); return err }, "from", "must be provided"},
		{"zero to", func(c *Client) error { _, err := c.Scores(context.Background(), testToday, Date{}); return err }, "to", "must be provided"},
		{"from after to", func(c *Client) error {
			_, err := c.Scores(context.Background(), testToday, testYesterday)
			return err
		}, "from", `"from" cannot come after "to"`},
		{"from in future", func(c *Client) error {
			_, err := c.Scores(context.Background(), testToday.AddDays(1), testToday.AddDays(2))
			return err
		}, "from", "cannot be in the future"},
		{"to in future", func(c *Client) error {
			_, err := c.Scores(context.Background(), testToday, testToday.AddDays(1))
			return err
		}, "to", "cannot be in the future"},
		{"from too old", func(c *Client) error { _, err := c.Scores(context.Background(), old, testToday); return err }, "from", "cannot be more than 90 days in the past"},
		{"invalid date", func(c *Client) error {
			_, err := c.Scores(context.Background(), Date{2026, 2, 30}, testToday)
			return err
		}, "from", "invalid"},
		{"zero date", func(c *Client) error { _, err := c.SubuserScoresPage(context.Background(), Date{}, nil); return err }, "date", "must be provided"},
		{"date in future", func(c *Client) error {
			_, err := c.SubuserScoresPage(context.Background(), testToday.AddDays(1), nil)
			return err
		}, "date", "cannot be in the future"},
		{"date too old", func(c *Client) error { _, err := c.SubuserScoresPage(context.Background(), old, nil); return err }, "date", "90 days"},
		{"limit negative", func(c *Client) error {
			_, err := c.SubuserScoresPage(context.Background(), testToday, &SubuserScoresOptions{Limit: -1})
			return err
		}, "limit", "between 1 and 1000"},
		{"limit too big", func(c *Client) error {
			_, err := c.SubuserScoresPage(context.Background(), testToday, &SubuserScoresOptions{Limit: 1001})
			return err
		}, "limit", "between 1 and 1000"},
		{"after_key not a number", func(c *Client) error {
			_, err := c.SubuserScoresPage(context.Background(), testToday, &SubuserScoresOptions{AfterKey: "abc"})
			return err
		}, "after_key", "integer"},
		{"iterator validates", func(c *Client) error {
			for _, err := range c.SubuserScores(context.Background(), Date{}) {
				return err
			}
			return nil
		}, "date", "must be provided"},
		{"subusers region", func(c *Client) error {
			_, err := c.SubusersPage(context.Background(), &SubusersOptions{Region: "us"})
			return err
		}, "region", "must be"},
		{"subusers offset", func(c *Client) error {
			_, err := c.SubusersPage(context.Background(), &SubusersOptions{Offset: -1})
			return err
		}, "offset", "negative"},
		{"ips limit", func(c *Client) error { _, err := c.IPsPage(context.Background(), &IPsOptions{Limit: 501}); return err }, "limit", "500"},
		{"pool name", func(c *Client) error { _, err := c.Pool(context.Background(), " "); return err }, "name", "must be provided"},
		{"pool ip", func(c *Client) error { return c.AddIPToPool(context.Background(), "p", "1.2.3") }, "ip", "invalid"},
		{"assign user", func(c *Client) error {
			_, err := c.AssignSubuserIPs(context.Background(), "", []string{"1.2.3.4"})
			return err
		}, "subuser_name", "must be provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec := newMocked(t, respond(200, `{"result":[]}`))
			err := tt.call(c)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *ValidationError", err, err)
			}
			if ve.Field != tt.wantField || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("err = %q (field %q), want field %q containing %q", err, ve.Field, tt.wantField, tt.wantIn)
			}
			if n := rec.count(); n != 0 {
				t.Errorf("%d requests made despite invalid input", n)
			}
		})
	}
}

func TestValidationBoundaries(t *testing.T) {
	t.Parallel()
	c, rec := newMocked(t, respond(200, `{"result":[]}`))
	// Exactly 90 days back and today are accepted.
	if _, err := c.Scores(context.Background(), testToday.AddDays(-RetentionDays), testToday); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubuserScoresPage(context.Background(), testToday, &SubuserScoresOptions{Limit: 1000, AfterKey: "180"}); err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if q := reqs[1].Query; q.Get("limit") != "1000" || q.Get("after_key") != "180" || q.Get("date") != testToday.String() {
		t.Errorf("query = %v", q)
	}
}

func TestPolling(t *testing.T) {
	t.Parallel()
	ok := func() httpmock.Responder {
		return respond(200, `{"result":[{"user_id":"1","date":"2026-03-14","score":3}]}`)
	}
	tests := []struct {
		name      string
		respond   func() httpmock.Responder
		poll      *PollPolicy
		opts      []CallOption
		ctx       func() (context.Context, context.CancelFunc)
		wantCalls int     // 0: don't check
		wantErr   []error // errors.Is targets; nil = success
	}{
		{"202 empty then {} then 200", func() httpmock.Responder {
			return respond(202, "").Then(respond(202, "{}")).Then(ok())
		}, nil, nil, nil, 3, nil},
		{"202 with Retry-After then 200", func() httpmock.Responder { return respond(202, "", HeaderRetryAfter, "1").Then(ok()) },
			&PollPolicy{MinWait: time.Millisecond, MaxWait: 2 * time.Millisecond}, nil, nil, 2, nil},
		{"NoWait call option", func() httpmock.Responder { return respond(202, "") }, nil, []CallOption{NoWait()}, nil, 1, []error{ErrScoresPending}},
		{"NoWait policy", func() httpmock.Responder { return respond(202, "{}") }, &PollPolicy{NoWait: true}, nil, nil, 1, []error{ErrScoresPending}},
		{"MaxAttempts exhausted", func() httpmock.Responder { return respond(202, "") },
			&PollPolicy{MinWait: time.Millisecond, MaxWait: time.Millisecond, MaxAttempts: 3}, nil, nil, 3, []error{ErrScoresPending}},
		{"context deadline while polling", func() httpmock.Responder { return respond(202, "") },
			&PollPolicy{MinWait: 2 * time.Second, MaxWait: time.Minute}, nil, // jittered waits 1–2, 2–4, ... 30–60 ...
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 5*time.Minute)
			},
			0, []error{ErrScoresPending, context.DeadlineExceeded}},
		{"MaxTotalWait used up", func() httpmock.Responder { return respond(202, "") },
			&PollPolicy{MinWait: time.Second, MaxWait: 4 * time.Second, MaxTotalWait: 3 * time.Second}, nil, nil,
			0, []error{ErrScoresPending}},
		{"context canceled while polling", func() httpmock.Responder { return respond(202, "") },
			&PollPolicy{MinWait: time.Hour, MaxWait: time.Hour}, nil,
			func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(10*time.Millisecond, cancel)
				return ctx, cancel
			}, 1, []error{ErrScoresPending, context.Canceled}},
	}
	for _, tt := range tests {
		for _, call := range []string{"Scores", "SubuserScoresPage"} {
			t.Run(tt.name+"/"+call, func(t *testing.T) {
				t.Parallel()
				// On synctest's fake clock, so that the context ends
				// exactly while polling, whatever the machine's load.
				synctest.Test(t, func(t *testing.T) { testPoll(t, tt.respond, tt.poll, tt.opts, tt.ctx, tt.wantCalls, tt.wantErr, call) })
			})
		}
	}
}

func testPoll(t *testing.T, respond func() httpmock.Responder, poll *PollPolicy, callOpts []CallOption,
	mkCtx func() (context.Context, context.CancelFunc), wantCalls int, wantErr []error, call string) {
	var opts []Option
	if poll != nil {
		opts = append(opts, WithPollPolicy(*poll))
	}
	c, rec := newMocked(t, respond(), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	if mkCtx != nil {
		ctx, cancel = mkCtx()
	}
	defer cancel()
	var err error
	var n int
	if call == "Scores" {
		var s []Score
		s, err = c.Scores(ctx, testYesterday, testYesterday, callOpts...)
		n = len(s)
	} else {
		var p *SubuserScoresPage
		p, err = c.SubuserScoresPage(ctx, testYesterday, nil, callOpts...)
		if p != nil {
			n = len(p.Scores)
		}
	}
	if wantErr == nil && (err != nil || n != 1) {
		t.Fatalf("got %d scores, err %v", n, err)
	}
	for _, target := range wantErr {
		if !errors.Is(err, target) {
			t.Errorf("err = %v, want errors.Is %v", err, target)
		}
	}
	if calls := rec.count(); wantCalls > 0 && calls != wantCalls {
		t.Errorf("%d requests, want %d", calls, wantCalls)
	}
}

// pageBody builds a subusers-scores page of n scores starting at id first,
// with the given _metadata JSON (or none).
func pageBody(first, n int, meta string) string {
	var b strings.Builder
	b.WriteString(`{"result":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		id := first + i
		if id%7 == 0 {
			fmt.Fprintf(&b, `{"user_id":"%d","username":"user%d","date":"2026-03-14"}`, id, id)
			continue
		}
		fmt.Fprintf(&b, `{"user_id":"%d","username":"user%d","date":"2026-03-14","score":%d,"metrics":{"engagement_recency":3,"open_rate":4,"bounce_classification":5,"bounce_rate":5,"spam_rate":%d}}`, id, id, 1+id%5, 1+id%5)
	}
	b.WriteByte(']')
	if meta != "" {
		b.WriteString(`,"_metadata":` + meta)
	}
	b.WriteByte('}')
	return b.String()
}

func TestSubuserScoresPageEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, meta, wantNext string
	}{
		{"missing _metadata", "", ""},
		{"null _metadata", "null", ""},
		{"missing next_params", `{}`, ""},
		{"null next_params", `{"next_params":null}`, ""},
		{"missing after_key", `{"next_params":{}}`, ""},
		{"null after_key", `{"next_params":{"after_key":null}}`, ""},
		{"empty after_key", `{"next_params":{"after_key":""}}`, ""},
		{"string after_key", `{"next_params":{"after_key":"180"}}`, "180"},
		{"numeric after_key", `{"next_params":{"after_key":180}}`, "180"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newMocked(t, respond(200, pageBody(1, 3, tt.meta)))
			p, err := c.SubuserScoresPage(context.Background(), testYesterday, &SubuserScoresOptions{Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if p.NextAfterKey != tt.wantNext || len(p.Scores) != 3 {
				t.Errorf("page = %d scores, next %q; want 3, %q", len(p.Scores), p.NextAfterKey, tt.wantNext)
			}
		})
	}
}

func TestSubuserScoresIterator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pages     []string
		breakAt   int // stop after this many items (0: never)
		wantItems int
		wantCalls int
		wantErr   string
	}{
		{"three pages, numeric then string keys", []string{
			pageBody(1, 1000, `{"next_params":{"after_key":1000}}`),
			pageBody(1001, 1000, `{"next_params":{"after_key":"2000"}}`),
			pageBody(2001, 5, `{"next_params":{"after_key":null}}`),
		}, 0, 2005, 3, ""},
		{"single page without metadata", []string{pageBody(1, 10, "")}, 0, 10, 1, ""},
		{"empty result", []string{`{"result":[]}`}, 0, 0, 1, ""},
		{"break stops fetching", []string{
			pageBody(1, 1000, `{"next_params":{"after_key":"1000"}}`),
			pageBody(1001, 1000, `{"next_params":{"after_key":"2000"}}`),
		}, 1500, 1500, 2, ""},
		{"repeated key stops", []string{
			pageBody(1, 2, `{"next_params":{"after_key":"5"}}`),
			pageBody(3, 2, `{"next_params":{"after_key":"5"}}`),
		}, 0, 4, 2, "after_key \"5\" repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rs []httpmock.Responder
			for _, p := range tt.pages {
				rs = append(rs, respond(200, p))
			}
			c, rec := newMocked(t, sequence(rs...))
			items, errs := 0, 0
			var lastErr error
			ineligible := 0
			for s, err := range c.SubuserScores(context.Background(), testYesterday, AsSubuser("ignored-by-server")) {
				if err != nil {
					errs++
					lastErr = err
					continue
				}
				items++
				if !s.Eligible() {
					ineligible++
				}
				if tt.breakAt > 0 && items == tt.breakAt {
					break
				}
			}
			if items != tt.wantItems || rec.count() != tt.wantCalls {
				t.Errorf("items %d calls %d, want %d and %d", items, rec.count(), tt.wantItems, tt.wantCalls)
			}
			if tt.wantErr == "" && errs != 0 || tt.wantErr != "" && (errs != 1 || !strings.Contains(lastErr.Error(), tt.wantErr)) {
				t.Errorf("errors %d, last %v; want %q", errs, lastErr, tt.wantErr)
			}
			if items > 7 && ineligible == 0 {
				t.Error("ineligible days lost")
			}
			for i, r := range rec.all() {
				if r.Query.Get("limit") != "1000" || r.Query.Get("date") != testYesterday.String() {
					t.Errorf("request %d query = %v", i, r.Query)
				}
				if i == 0 && r.Query.Has("after_key") {
					t.Errorf("first request has after_key")
				}
				if i == 1 && r.Query.Get("after_key") != "1000" && tt.breakAt > 0 {
					t.Errorf("second request after_key = %q", r.Query.Get("after_key"))
				}
			}
		})
	}
}

func TestSubuserScoresIteratorError(t *testing.T) {
	t.Parallel()
	c, rec := newMocked(t, sequence(
		respond(200, pageBody(1, 2, `{"next_params":{"after_key":"2"}}`)),
		respond(403, `{"errors":[{"field":null,"message":"access forbidden"}]}`),
	))
	var got []string
	var gotErr error
	for s, err := range c.SubuserScores(context.Background(), testYesterday) {
		if err != nil {
			if gotErr != nil {
				t.Fatal("more than one error yielded")
			}
			gotErr = err
			continue
		}
		got = append(got, s.UserID)
	}
	if len(got) != 2 || !errors.Is(gotErr, ErrForbidden) || rec.count() != 2 {
		t.Errorf("got %v, err %v, %d calls", got, gotErr, rec.count())
	}
}

func TestSubuserScoresFillsDate(t *testing.T) {
	t.Parallel()
	c, _ := newMocked(t, respond(200, `{"result":[{"user_id":"9","username":"x","score":2}]}`))
	p, err := c.SubuserScoresPage(context.Background(), testYesterday, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scores[0].Date != testYesterday {
		t.Errorf("Date = %v", p.Scores[0].Date)
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	c, _ := newMocked(t, respond(200, `{"result":[{"user_id":"1","date":"yesterday"}]}`))
	_, err := c.Scores(context.Background(), testYesterday, testYesterday)
	if err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("err = %v, want a decode error", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Error("decode error reported as APIError")
	}
}

// maxDecodeErr bounds the text of any error a malformed body produces.
const maxDecodeErr = 600

// TestMalformedResponses feeds bodies SendGrid never documents (a proxy's
// HTML, truncated JSON, wrong types) to both scores calls: each must give a
// clear, bounded error, never a panic, never a silent zero score.
func TestMalformedResponses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100_000)
	cases := []struct {
		name, body string
		want       string // in the error; "" = no error expected
		subusers   bool   // for SubuserScoresPage only
	}{
		{name: "html page", body: "<html><head><title>502</title></head><body><h1>Bad Gateway</h1>" + long + "</body></html>", want: "not JSON"},
		{name: "plain text", body: "upstream connect error " + long, want: "not JSON"},
		{name: "truncated", body: `{"result":[{"user_id":"1","date":"2026-03-14","score":4,"metr`, want: "unexpected end of JSON"},
		{name: "score as string", body: `{"result":[{"user_id":"1","date":"2026-03-14","score":"4"}]}`, want: "score"},
		{name: "metrics as array", body: `{"result":[{"user_id":"1","date":"2026-03-14","score":4,"metrics":[1,2]}]}`, want: "metrics"},
		{name: "result as object", body: `{"result":{"user_id":"1"}}`, want: "result"},
		{name: "huge date", body: `{"result":[{"user_id":"1","date":"` + long + `"}]}`, want: "invalid date"},
		{name: "binary", body: "\xff\xfe\x00garbage", want: "not JSON"},
		{name: "after_key as number", body: `{"result":[],"_metadata":{"next_params":{"after_key":180}}}`, subusers: true},
		{name: "after_key as object", body: `{"result":[],"_metadata":{"next_params":{"after_key":{"k":1}}}}`, subusers: true},
		{name: "metadata as string", body: `{"result":[],"_metadata":"x"}`, want: "_metadata", subusers: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newMocked(t, respond(200, tc.body, "Content-Type", "text/html"))
			var err error
			if tc.subusers {
				var p *SubuserScoresPage
				p, err = c.SubuserScoresPage(context.Background(), testYesterday, nil)
				if err == nil && tc.name == "after_key as number" && p.NextAfterKey != "180" {
					t.Errorf("NextAfterKey = %q, want 180", p.NextAfterKey)
				}
			} else {
				var got []Score
				got, err = c.Scores(context.Background(), testYesterday, testYesterday)
				if err == nil {
					t.Fatalf("no error; scores %+v", got)
				}
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if n := len(err.Error()); n > maxDecodeErr {
				t.Errorf("error is %d bytes: %.200s…", n, err)
			}
		})
	}
}

func FuzzDecodeSubuserScores(f *testing.F) {
	f.Add(pageBody(1, 3, `{"next_params":{"after_key":3}}`))
	f.Add(`{"result":null,"_metadata":{"next_params":{"after_key":{}}}}`)
	f.Add(`{"result":[{"user_id":"1","score":"4"}],"_metadata":{"next_params":{"after_key":null}}}`)
	f.Add(`<html><body>502</body></html>`)
	f.Add(`{"result":[{"user_id":"1","date":"2026-03-1`)
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := newMocked(t, respond(200, body))
		p, err := c.SubuserScoresPage(context.Background(), testYesterday, nil)
		if err == nil && p == nil {
			t.Fatal("nil page without error")
		}
		if err != nil && len(err.Error()) > maxDecodeErr {
			t.Fatalf("unbounded error (%d bytes)", len(err.Error()))
		}
	})
}

func FuzzDecodeScores(f *testing.F) {
	f.Add(`{"result":[{"user_id":"1","date":"2026-03-14","score":4,"metrics":{"open_rate":3}}]}`)
	f.Add(`{"result":[{"user_id":"1","date":"2026-03-14"}]}`)
	f.Add(`{"result":[{"user_id":1,"score":"x","date":20260314}]}`)
	f.Add(`<!DOCTYPE html><p>gateway</p>`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := newMocked(t, respond(200, body))
		scores, err := c.Scores(context.Background(), testYesterday, testYesterday)
		if err != nil {
			if len(err.Error()) > maxDecodeErr {
				t.Fatalf("unbounded error (%d bytes)", len(err.Error()))
			}
			return
		}
		for _, s := range scores {
			if s.Eligible() != (s.Score != nil) {
				t.Fatal("Eligible disagrees with Score")
			}
		}
	})
}

var _ = http.StatusOK

// TestPollRetryAfterDateUsesRealClock: a 202's Retry-After as an HTTP date
// is measured against the real clock, not the WithNow validation clock
// (pinned to 2026 here, while synctest's clock starts in 2000).
func TestPollRetryAfterDateUsesRealClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		at := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
		c, rec := newMocked(t, respond(202, "", HeaderRetryAfter, at).Then(respond(200, `{"result":[]}`)),
			WithPollPolicy(PollPolicy{MinWait: time.Millisecond, MaxWait: time.Minute}))
		if _, err := c.Scores(context.Background(), testYesterday, testYesterday); err != nil {
			t.Fatal(err)
		}
		reqs := rec.all()
		if len(reqs) != 2 {
			t.Fatalf("%d requests", len(reqs))
		}
		if gap := reqs[1].At.Sub(reqs[0].At); gap < 2*time.Second || gap > 3*time.Second {
			t.Errorf("polled again after %v, want the 3s Retry-After", gap)
		}
	})
}
