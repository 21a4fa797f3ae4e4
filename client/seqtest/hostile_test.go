package seqtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
)

// rawGet sends one GET with the test key and reads the whole body.
func rawGet(t *testing.T, hc *http.Client, s *Server, path string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+TestAPIKey)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestFaultMix checks each fault shape on the wire, with a plain
// http.Client.
func TestFaultMix(t *testing.T) {
	t.Parallel()
	const path = "/v3/engagementquality/subusers/scores?date=2026-03-09"
	tests := []struct {
		name  string
		f     Faults
		hc    *http.Client
		check func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{"cut body with matching Content-Length", Faults{CutBody: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %v, err %v: want a complete 200 exchange", resp, err)
			}
			if resp.ContentLength != int64(len(body)) || json.Valid(body) {
				t.Errorf("Content-Length %d, %d bytes, valid JSON %v: want a matching length and broken JSON", resp.ContentLength, len(body), json.Valid(body))
			}
		}},
		{"reset mid-body", Faults{ResetBody: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err == nil || resp == nil || int64(len(body)) >= resp.ContentLength {
				t.Errorf("err %v, %d bytes: want a read error before Content-Length", err, len(body))
			}
		}},
		{"slow body past the client's timeout", Faults{SlowBody: 1, SlowFor: time.Minute}, &http.Client{Timeout: 300 * time.Millisecond}, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err == nil || resp == nil || resp.StatusCode != 200 {
				t.Errorf("resp %v, err %v: want a 200 whose body times out", resp, err)
			}
		}},
		{"slow body, patient client", Faults{SlowBody: 1, SlowFor: 10 * time.Millisecond}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || !json.Valid(body) {
				t.Errorf("err %v, valid %v: want the whole body", err, json.Valid(body))
			}
		}},
		{"proxy HTML 5xx", Faults{ProxyHTML: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode < 502 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "nginx") {
				t.Errorf("resp %v, err %v, body %q: want an nginx error page", resp, err, body)
			}
		}},
		{"429 with Retry-After", Faults{Throttle: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("resp %v, err %v: want 429 with Retry-After: 1", resp, err)
			}
		}},
		{"429 without Retry-After", Faults{ThrottleBare: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
				t.Errorf("resp %v, err %v: want 429 without Retry-After", resp, err)
			}
		}},
		{"HTML 200", Faults{HTML200: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || json.Valid(body) {
				t.Errorf("resp %v, err %v: want an HTML 200", resp, err)
			}
		}},
		{"5xx JSON", Faults{Status5xx: 1}, http.DefaultClient, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode < 500 || !json.Valid(body) {
				t.Errorf("resp %v, err %v: want a 5xx with a JSON body", resp, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, WithFaultMix(tt.f))
			resp, body, err := rawGet(t, tt.hc, s, path)
			tt.check(t, resp, body, err)
		})
	}
}

// TestPendingDates: a listed date answers 202 its number of times, other
// dates at once; a range answers as its most pending date.
func TestPendingDates(t *testing.T) {
	t.Parallel()
	d := testEnd.AddDays(-2)
	s := newTestServer(t, WithPendingDates(map[client.Date]int{d: 2}))
	statuses := func(path string, n int) []int {
		var out []int
		for range n {
			resp, _, err := rawGet(t, http.DefaultClient, s, path)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, resp.StatusCode)
		}
		return out
	}
	if got := statuses("/v3/engagementquality/subusers/scores?date="+d.String(), 3); got[0] != 202 || got[1] != 202 || got[2] != 200 {
		t.Errorf("pending date: %v, want 202 202 200", got)
	}
	if got := statuses("/v3/engagementquality/subusers/scores?date="+testEnd.String(), 1); got[0] != 200 {
		t.Errorf("other date: %v, want 200", got)
	}
	if got := statuses("/v3/engagementquality/scores?from="+d.AddDays(-1).String()+"&to="+testEnd.String(), 3); got[0] != 202 || got[2] != 200 {
		t.Errorf("range with the date: %v, want 202 202 200", got)
	}
}

// TestEndpointRateLimit: each limited route has its own window; a spent
// one does not throttle another route.
func TestEndpointRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithEndpointRateLimit(2, time.Hour, RouteSubuserScores))
	path := "/v3/engagementquality/subusers/scores?date=" + testEnd.String()
	var codes []int
	for range 3 {
		resp, _, err := rawGet(t, http.DefaultClient, s, path)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, resp.StatusCode)
		if resp.Header.Get("X-RateLimit-Limit") != "2" {
			t.Errorf("X-RateLimit-Limit = %q, want 2", resp.Header.Get("X-RateLimit-Limit"))
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("statuses %v, want 200 200 429", codes)
	}
	resp, _, err := rawGet(t, http.DefaultClient, s, "/v3/subusers")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("subusers: %v %v: want 200 without a window", resp, err)
	}
}

// TestHostileClient: the client gets every row of every page, and the
// parent's range, through the hostile preset.
func TestHostileClient(t *testing.T) {
	t.Parallel()
	acct := GenerateAccount(3, 2500, 20, testEnd)
	s := newTestServer(t, Hostile(7), WithAccount(acct), WithLatencyRange(0, 5*time.Millisecond))
	c, err := s.Client(client.WithPollPolicy(client.PollPolicy{MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range []client.Date{testEnd, testEnd.AddDays(-5), testEnd.AddDays(-6)} {
		n := 0
		for _, err := range c.SubuserScores(ctx, d, client.PageSize(500)) {
			if err != nil {
				t.Fatalf("%s: %v", d, err)
			}
			n++
		}
		if n != 2500 {
			t.Errorf("%s: %d scores, want 2500", d, n)
		}
	}
	subs, err := c.AllSubusers(ctx, &client.SubusersOptions{Limit: 500}, 4)
	if err != nil || len(subs) != 2500 {
		t.Errorf("AllSubusers: %d, %v; want 2500", len(subs), err)
	}
	st := s.Stats()
	if st.Requests <= st.ByStatus[200] {
		t.Errorf("stats %+v: the preset injected nothing", st)
	}
}
