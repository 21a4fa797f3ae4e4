package seqtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
)

// testNow is the fixed clock of these tests: "today" is 2026-03-10, the
// demo account ends on 2026-03-09.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

var testEnd = client.MustParseDate("2026-03-09")

func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithNow(func() time.Time { return testNow })}, opts...)
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request with the test key (unless key is set in hdr).
func do(t *testing.T, s *Server, method, path, body string, hdr map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+TestAPIKey)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func get(t *testing.T, s *Server, path string) reply {
	t.Helper()
	return do(t, s, http.MethodGet, path, "", nil)
}

func errBody(field, msg string) string {
	f := "null"
	if field != "" {
		f = strconv.Quote(field)
	}
	b, _ := json.Marshal(msg)
	return `{"errors":[{"field":` + f + `,"message":` + string(b) + `}]}`
}

type result struct {
	Result   []map[string]any `json:"result"`
	Metadata *struct {
		NextParams *struct {
			AfterKey *string `json:"after_key"`
		} `json:"next_params"`
	} `json:"_metadata"`
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong key", "Bearer SG.other", http.StatusUnauthorized},
		{"not bearer", TestAPIKey, http.StatusUnauthorized},
		{"ok", "Bearer " + TestAPIKey, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, http.MethodGet, "/v3/ips/pools", "", map[string]string{"Authorization": tc.auth})
			if r.status != tc.want {
				t.Fatalf("status %d, want %d (%s)", r.status, tc.want, r.body)
			}
			if tc.want == http.StatusUnauthorized && r.body != errBody("", "authorization required") {
				t.Errorf("body %s", r.body)
			}
		})
	}
}

func TestScoresValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name, query, field, msg string
	}{
		{"from missing", "to=2026-03-01", "from", `failed to parse request: "from" must be provided`},
		{"from invalid", "from=2026-3-1&to=2026-03-01", "from", `failed to parse request: "from" is invalid`},
		{"from impossible day", "from=2026-02-30&to=2026-03-01", "from", `failed to parse request: "from" is invalid`},
		{"to missing", "from=2026-03-01", "to", `failed to parse request: "to" must be provided`},
		{"to invalid", "from=2026-03-01&to=yesterday", "to", `failed to parse request: "to" is invalid`},
		{"from after to", "from=2026-03-05&to=2026-03-01", "from", `failed to parse request: "from" cannot come after "to"`},
		{"to in future", "from=2026-03-05&to=2026-03-11", "to", `failed to parse request: "to" cannot be in the future`},
		{"from in future", "from=2026-03-11&to=2026-03-12", "from", `failed to parse request: "from" cannot be in the future`},
		{"from too old", "from=2025-12-09&to=2026-03-01", "from", `failed to parse request: "from" cannot be more than 90 days in the past`},
		{"to too old", "from=2025-12-01&to=2025-12-02", "from", `failed to parse request: "from" cannot be more than 90 days in the past`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, s, "/v3/engagementquality/scores?"+tc.query)
			if r.status != http.StatusBadRequest || r.body != errBody(tc.field, tc.msg) {
				t.Fatalf("got %d %s, want 400 %s", r.status, r.body, errBody(tc.field, tc.msg))
			}
		})
	}
	t.Run("exactly 90 days back is allowed", func(t *testing.T) {
		r := get(t, s, "/v3/engagementquality/scores?from=2025-12-10&to=2025-12-10")
		if r.status != http.StatusOK {
			t.Fatalf("status %d %s", r.status, r.body)
		}
	})
}

func TestScores(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name, query, obo string
		status           int
		wantUser         string
		wantDays         int
	}{
		{"parent week", "from=2026-03-03&to=2026-03-09", "", 200, "sgseq-demo", 7},
		{"range into today stops at yesterday", "from=2026-03-08&to=2026-03-10", "", 200, "sgseq-demo", 2},
		{"today only is pending", "from=2026-03-10&to=2026-03-10", "", 202, "", 0},
		{"subuser", "from=2026-03-01&to=2026-03-02", "acme-news", 200, "acme-news", 2},
		{"customer account", "from=2026-03-01&to=2026-03-02", "account-id 7001", 200, "customer-7001", 2},
		{"unknown subuser", "from=2026-03-01&to=2026-03-02", "nobody", 403, "", 0},
		{"unknown account id", "from=2026-03-01&to=2026-03-02", "account-id 999", 403, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, http.MethodGet, "/v3/engagementquality/scores?"+tc.query, "", map[string]string{"on-behalf-of": tc.obo})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			switch tc.status {
			case 202:
				if r.body != "{}" {
					t.Errorf("202 body %q, want {}", r.body)
				}
			case 403:
				if !strings.Contains(r.body, `"errors"`) {
					t.Errorf("403 body %s", r.body)
				}
			case 200:
				res := decode[result](t, r)
				if len(res.Result) != tc.wantDays {
					t.Fatalf("%d days, want %d", len(res.Result), tc.wantDays)
				}
				for _, it := range res.Result {
					if it["username"] != tc.wantUser || it["user_id"] == "" {
						t.Errorf("item %v, want user %s", it, tc.wantUser)
					}
				}
			}
		})
	}
}

func TestScoresIneligibleDay(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	// garden-supply is ineligible E-16..E-13 (2026-02-21..2026-02-24).
	r := do(t, s, http.MethodGet, "/v3/engagementquality/scores?from=2026-02-20&to=2026-02-25", "", map[string]string{"on-behalf-of": "garden-supply"})
	res := decode[result](t, r)
	if len(res.Result) != 6 {
		t.Fatalf("%d items", len(res.Result))
	}
	for i, it := range res.Result {
		_, hasScore := it["score"]
		_, hasMetrics := it["metrics"]
		wantScore := i == 0 || i == 5
		if hasScore != wantScore || hasMetrics != wantScore {
			t.Errorf("day %v: score present %v metrics %v, want %v", it["date"], hasScore, hasMetrics, wantScore)
		}
		if it["user_id"] != "4200114" || it["date"] == nil {
			t.Errorf("item %v lacks user_id/date", it)
		}
	}
}

func TestSubuserScoresPages(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	var names []string
	var ids []int64
	after := ""
	pages := 0
	for {
		q := "/v3/engagementquality/subusers/scores?date=2026-03-09&limit=10"
		if after != "" {
			q += "&after_key=" + after
		}
		r := get(t, s, q)
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		res := decode[result](t, r)
		pages++
		for _, it := range res.Result {
			names = append(names, it["username"].(string))
			id, _ := strconv.ParseInt(it["user_id"].(string), 10, 64)
			ids = append(ids, id)
		}
		if res.Metadata == nil {
			break
		}
		if res.Metadata.NextParams == nil || res.Metadata.NextParams.AfterKey == nil {
			t.Fatal("metadata without after_key")
		}
		// The after_key is a string holding the last user id of the page.
		if want := strconv.FormatInt(ids[len(ids)-1], 10); *res.Metadata.NextParams.AfterKey != want {
			t.Fatalf("after_key %q, want %q", *res.Metadata.NextParams.AfterKey, want)
		}
		after = *res.Metadata.NextParams.AfterKey
		if pages > 10 {
			t.Fatal("too many pages")
		}
	}
	if pages != 4 || len(names) != 36 {
		t.Fatalf("%d pages, %d subusers; want 4, 36", pages, len(names))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not ascending: %v", ids)
		}
	}
	// An exact multiple: a page that ends the list carries no next_params.
	r := get(t, s, "/v3/engagementquality/subusers/scores?date=2026-03-09&limit=6&after_key="+strconv.FormatInt(ids[29], 10))
	if res := decode[result](t, r); len(res.Result) != 6 || res.Metadata != nil {
		t.Fatalf("last full page: %d items, metadata %v", len(res.Result), res.Metadata)
	}
	// Default limit returns everything in one page.
	if res := decode[result](t, get(t, s, "/v3/engagementquality/subusers/scores?date=2026-03-09")); len(res.Result) != 36 || res.Metadata != nil {
		t.Fatalf("default limit: %d items", len(res.Result))
	}
}

func TestSubuserScoresValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name, query string
		status      int
		field, msg  string
	}{
		{"date missing", "", 400, "date", `failed to parse request: "date" must be provided`},
		{"date invalid", "date=03/09/2026", 400, "date", `failed to parse request: "date" is invalid`},
		{"date future", "date=2026-03-11", 400, "date", `failed to parse request: "date" cannot be in the future`},
		{"date too old", "date=2025-12-01", 400, "date", `failed to parse request: "date" cannot be more than 90 days in the past`},
		{"limit zero", "date=2026-03-09&limit=0", 400, "limit", `failed to parse request: "limit" must be an integer between 1 and 1000`},
		{"limit too big", "date=2026-03-09&limit=1001", 400, "limit", `failed to parse request: "limit" must be an integer between 1 and 1000`},
		{"limit not a number", "date=2026-03-09&limit=ten", 400, "limit", `failed to parse request: "limit" must be an integer between 1 and 1000`},
		{"after_key invalid", "date=2026-03-09&after_key=abc", 400, "after_key", `failed to parse request: "after_key" is invalid`},
		{"today pending", "date=2026-03-10", 202, "", ""},
		{"limit 1000 ok", "date=2026-03-09&limit=1000", 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, s, "/v3/engagementquality/subusers/scores?"+tc.query)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 400 && r.body != errBody(tc.field, tc.msg) {
				t.Errorf("body %s, want %s", r.body, errBody(tc.field, tc.msg))
			}
			if tc.status == 202 && r.body != "" {
				t.Errorf("202 body %q, want none", r.body)
			}
		})
	}
}

func TestPending(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithPending(2))
	seq := func(path, obo string) []int {
		var out []int
		for range 3 {
			out = append(out, do(t, s, http.MethodGet, path, "", map[string]string{"on-behalf-of": obo}).status)
		}
		return out
	}
	want := []int{202, 202, 200}
	for _, tc := range []struct{ name, path, obo string }{
		{"scores", "/v3/engagementquality/scores?from=2026-03-01&to=2026-03-02", ""},
		{"scores other range", "/v3/engagementquality/scores?from=2026-03-01&to=2026-03-03", ""},
		{"scores on behalf", "/v3/engagementquality/scores?from=2026-03-01&to=2026-03-02", "acme-news"},
		{"subuser scores", "/v3/engagementquality/subusers/scores?date=2026-03-09", ""},
	} {
		if got := seq(tc.path, tc.obo); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: statuses %v, want %v", tc.name, got, want)
		}
	}
	// Validation still comes first.
	if r := get(t, s, "/v3/engagementquality/scores?from=x&to=2026-03-01"); r.status != 400 {
		t.Errorf("invalid request while pending: %d", r.status)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithRateLimit(3, time.Hour))
	before := time.Now().Unix()
	for i := range 5 {
		r := get(t, s, "/v3/ips/pools")
		wantStatus, wantRemaining := 200, strconv.Itoa(2-i)
		if i >= 3 {
			wantStatus, wantRemaining = 429, "0"
		}
		if r.status != wantStatus {
			t.Fatalf("request %d: status %d, want %d", i, r.status, wantStatus)
		}
		if got := r.header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("limit header %q", got)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != wantRemaining {
			t.Errorf("request %d: remaining %q, want %s", i, got, wantRemaining)
		}
		reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || reset <= before || reset > before+3601 {
			t.Errorf("reset %q not a Unix time within the hour", r.header.Get("X-RateLimit-Reset"))
		}
		if i >= 3 && r.body != errBody("", "too many requests") {
			t.Errorf("429 body %s", r.body)
		}
	}
	st := s.Stats()
	if st.Throttled != 2 || st.ByStatus[429] != 2 || st.ByStatus[200] != 3 || st.Requests != 5 {
		t.Errorf("stats %+v", st)
	}
	// Unauthenticated requests do not spend the budget and carry no headers.
	if r := do(t, s, http.MethodGet, "/v3/ips/pools", "", map[string]string{"Authorization": ""}); r.status != 401 || r.header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("unauthenticated: %d %v", r.status, r.header)
	}
}

func TestRateLimiterWindows(t *testing.T) {
	t.Parallel()
	l := newRateLimiter(2, time.Second)
	t0 := time.Unix(1_700_000_000, 250_000_000)
	steps := []struct {
		at        time.Duration
		ok        bool
		remaining int
		reset     int64
	}{
		{0, true, 1, 1_700_000_001},
		{100 * time.Millisecond, true, 0, 1_700_000_001},
		{200 * time.Millisecond, false, 0, 1_700_000_001},
		{750 * time.Millisecond, true, 1, 1_700_000_002}, // next window
	}
	for i, st := range steps {
		ok, rs := l.take("k", t0.Add(st.at))
		h := http.Header{}
		rs.setHeaders(h)
		if ok != st.ok || rs.remaining != st.remaining || h.Get("X-RateLimit-Reset") != strconv.FormatInt(st.reset, 10) {
			t.Errorf("step %d: ok %v remaining %d reset %s; want %v %d %d", i, ok, rs.remaining, h.Get("X-RateLimit-Reset"), st.ok, st.remaining, st.reset)
		}
	}
	if newRateLimiter(0, time.Second) != nil || newRateLimiter(1, 0) != nil {
		t.Error("non-positive limit or window should disable the limiter")
	}
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []int {
		s := newTestServer(t, WithFaults(0.4, seed))
		var out []int
		for range 60 {
			out = append(out, get(t, s, "/v3/ips/pools").status)
		}
		// Mutations are never faulted.
		for i := range 5 {
			if r := do(t, s, http.MethodPost, "/v3/ips/pools", fmt.Sprintf(`{"name":"p%d"}`, i), nil); r.status != 200 {
				t.Errorf("POST faulted: %d", r.status)
			}
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("different seeds gave the same sequence")
	}
	seen := map[int]int{}
	for _, st := range a {
		seen[st]++
	}
	if seen[200] == 0 || seen[200] == 60 {
		t.Fatalf("fault rate 0.4 gave %v", seen)
	}
	for st := range seen {
		switch st {
		case 200, 500, 502, 503, 429:
		default:
			t.Errorf("unexpected status %d", st)
		}
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	const latency = 20 * time.Millisecond
	s := newTestServer(t, WithLatency(latency))
	start := time.Now()
	if r := get(t, s, "/v3/ips/pools"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	// Only a lower bound: a loaded machine can make a request slower, never
	// faster than the injected latency.
	if got := time.Since(start); got < latency {
		t.Errorf("answered after %v, want at least the %v latency", got, latency)
	}
}

func TestSubusersList(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	type sub struct {
		ID       int64   `json:"id"`
		Username string  `json:"username"`
		Email    string  `json:"email"`
		Disabled bool    `json:"disabled"`
		Region   *string `json:"region"`
	}
	for _, tc := range []struct {
		name, query string
		status      int
		count       int
		first       string
		region      bool
	}{
		{"default page", "", 200, 36, "shopfront-tx", false},
		{"limit offset", "limit=5&offset=10", 200, 5, "acme-news", false},
		{"offset past end", "offset=100", 200, 0, "", false},
		{"eu", "region=eu", 200, 1, "eu-retail", true},
		{"global", "region=global", 200, 35, "shopfront-tx", true},
		{"all", "region=all&limit=2", 200, 2, "shopfront-tx", true},
		{"include region", "include_region=true&limit=1", 200, 1, "shopfront-tx", true},
		{"username", "username=petcare-mail", 200, 1, "petcare-mail", false},
		{"bad region", "region=mars", 400, 0, "", false},
		{"bad limit", "limit=-1", 400, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, s, "/v3/subusers?"+tc.query)
			if r.status != tc.status {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if tc.status != 200 {
				return
			}
			subs := decode[[]sub](t, r)
			if len(subs) != tc.count {
				t.Fatalf("%d subusers, want %d", len(subs), tc.count)
			}
			if tc.count > 0 && subs[0].Username != tc.first {
				t.Errorf("first %s, want %s", subs[0].Username, tc.first)
			}
			for _, x := range subs {
				if (x.Region != nil) != tc.region {
					t.Errorf("%s: region present %v, want %v", x.Username, x.Region != nil, tc.region)
				}
			}
		})
	}
	disabled := 0
	for _, x := range decode[[]sub](t, get(t, s, "/v3/subusers")) {
		if x.Disabled {
			disabled++
		}
	}
	if disabled != 2 {
		t.Errorf("%d disabled subusers, want 2", disabled)
	}
}

type ipItem struct {
	IP           string   `json:"ip"`
	Subusers     []string `json:"subusers"`
	Pools        []string `json:"pools"`
	RDNS         string   `json:"rdns"`
	Warmup       bool     `json:"warmup"`
	StartDate    int64    `json:"start_date"`
	Whitelabeled bool     `json:"whitelabeled"`
	AssignedAt   int64    `json:"assigned_at"`
}

func TestIPsList(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"default limit 10", "", []string{"198.51.100.11", "198.51.100.12", "198.51.100.21", "198.51.100.22", "198.51.100.23", "198.51.100.31", "198.51.100.32", "203.0.113.41"}},
		{"page", "limit=3&offset=6", []string{"198.51.100.32", "203.0.113.41"}},
		{"subuser", "subuser=eu-retail", []string{"203.0.113.41"}},
		{"subuser on two ips", "subuser=shopfront-tx", []string{"198.51.100.11", "198.51.100.12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ips := decode[[]ipItem](t, get(t, s, "/v3/ips?"+tc.query))
			var got []string
			for _, ip := range ips {
				got = append(got, ip.IP)
				if ip.Subusers == nil || ip.Pools == nil || ip.RDNS == "" || ip.StartDate == 0 {
					t.Errorf("incomplete item %+v", ip)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ips %v, want %v", got, tc.want)
			}
		})
	}
	if r := get(t, s, "/v3/ips?limit=0"); r.status != 400 {
		t.Errorf("limit=0: %d", r.status)
	}
}

func TestPoolsAndMutations(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"list", "GET", "/v3/ips/pools", "", 200, `[{"name":"transactional"},{"name":"marketing"},{"name":"shared"}]`},
		{"get", "GET", "/v3/ips/pools/transactional", "", 200, `{"pool_name":"transactional","ips":[{"ip":"198.51.100.11","start_date":1741478400,"warmup":false},{"ip":"198.51.100.12","start_date":1741478400,"warmup":false}]}`},
		{"get unknown", "GET", "/v3/ips/pools/nope", "", 404, errBody("", "pool not found")},
		{"create", "POST", "/v3/ips/pools", `{"name":"hot pool"}`, 200, `{"name":"hot pool"}`},
		{"create duplicate", "POST", "/v3/ips/pools", `{"name":"hot pool"}`, 400, errBody("name", "This pool name is already in use")},
		{"create empty", "POST", "/v3/ips/pools", `{"name":""}`, 400, errBody("name", "name is required")},
		{"create bad json", "POST", "/v3/ips/pools", `{`, 400, errBody("", "invalid JSON body")},
		{"get new empty", "GET", "/v3/ips/pools/hot%20pool", "", 200, `{"pool_name":"hot pool","ips":[]}`},
		{"add ip", "POST", "/v3/ips/pools/hot%20pool/ips", `{"ip":"198.51.100.31"}`, 201, `{"ip":"198.51.100.31","pools":["shared","hot pool"],"start_date":1741478400,"warmup":false}`},
		{"add ip again", "POST", "/v3/ips/pools/hot%20pool/ips", `{"ip":"198.51.100.31"}`, 201, `{"ip":"198.51.100.31","pools":["shared","hot pool"],"start_date":1741478400,"warmup":false}`},
		{"add unknown ip", "POST", "/v3/ips/pools/hot%20pool/ips", `{"ip":"10.9.9.9"}`, 404, errBody("ip", "ip not found")},
		{"add to unknown pool", "POST", "/v3/ips/pools/nope/ips", `{"ip":"198.51.100.31"}`, 404, errBody("", "pool not found")},
		{"get after add", "GET", "/v3/ips/pools/hot%20pool", "", 200, `{"pool_name":"hot pool","ips":[{"ip":"198.51.100.31","start_date":1741478400,"warmup":false}]}`},
		{"remove from shared", "DELETE", "/v3/ips/pools/shared/ips/198.51.100.31", "", 204, ""},
		{"remove again", "DELETE", "/v3/ips/pools/shared/ips/198.51.100.31", "", 404, errBody("ip", "ip not found in pool")},
		{"remove unknown pool", "DELETE", "/v3/ips/pools/nope/ips/198.51.100.31", "", 404, errBody("", "pool not found")},
		{"assign", "PUT", "/v3/subusers/acme-news/ips", `["198.51.100.31","198.51.100.11"]`, 200, `{"ips":["198.51.100.31","198.51.100.11"]}`},
		{"assign unknown subuser", "PUT", "/v3/subusers/nobody/ips", `["198.51.100.31"]`, 404, errBody("", "subuser not found")},
		{"assign unknown ip", "PUT", "/v3/subusers/acme-news/ips", `["10.9.9.9"]`, 400, errBody("ips", "unknown ip 10.9.9.9")},
		{"assign empty", "PUT", "/v3/subusers/acme-news/ips", `[]`, 400, errBody("ips", "at least one ip is required")},
		{"list after create", "GET", "/v3/ips/pools", "", 200, `[{"name":"transactional"},{"name":"marketing"},{"name":"shared"},{"name":"hot pool"}]`},
		{"unknown route", "GET", "/v3/nothing", "", 404, errBody("", "not found")},
	}
	for _, st := range steps {
		r := do(t, s, st.method, st.path, st.body, nil)
		if r.status != st.status || r.body != st.want {
			t.Errorf("%s: got %d %s\nwant %d %s", st.name, r.status, r.body, st.status, st.want)
		}
	}
	// The IPs reflect the mutations.
	ips := decode[[]ipItem](t, get(t, s, "/v3/ips?subuser=acme-news"))
	var got []string
	for _, ip := range ips {
		got = append(got, ip.IP+":"+strings.Join(ip.Pools, "+"))
	}
	if want := []string{"198.51.100.11:transactional", "198.51.100.31:hot pool"}; !reflect.DeepEqual(got, want) {
		t.Errorf("acme-news IPs %v, want %v", got, want)
	}
	// Account() shows the same state; the original DemoAccount is untouched.
	acct := s.Account()
	if len(acct.Pools) != 4 {
		t.Errorf("Account().Pools = %v", acct.Pools)
	}
	if fresh := DemoAccount(testEnd); len(fresh.Pools) != 3 {
		t.Errorf("DemoAccount mutated: %v", fresh.Pools)
	}
	// Calls records the escaped path and body.
	var found bool
	for _, c := range s.Calls() {
		if c.Method == "POST" && c.Path == "/v3/ips/pools/hot%20pool/ips" && c.Body == `{"ip":"198.51.100.31"}` {
			found = true
		}
	}
	if !found {
		t.Error("Calls lacks the escaped POST")
	}
}

func TestFailOn(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.FailOn(http.MethodPost, "/v3/ips/pools/marketing/ips", http.StatusInternalServerError, 1)
	s.FailOn(http.MethodPut, "/v3/subusers/", http.StatusServiceUnavailable, 0)
	want := []int{201, 500, 500}
	for i, w := range want {
		if r := do(t, s, "POST", "/v3/ips/pools/marketing/ips", `{"ip":"198.51.100.11"}`, nil); r.status != w {
			t.Errorf("POST %d: %d, want %d", i, r.status, w)
		}
	}
	if r := do(t, s, "POST", "/v3/ips/pools/shared/ips", `{"ip":"198.51.100.11"}`, nil); r.status != 201 {
		t.Errorf("other pool: %d", r.status)
	}
	if r := do(t, s, "PUT", "/v3/subusers/acme-news/ips", `["198.51.100.11"]`, nil); r.status != 503 {
		t.Errorf("PUT: %d", r.status)
	}
	if r := get(t, s, "/v3/ips/pools/marketing"); r.status != 200 {
		t.Errorf("GET matched a POST rule: %d", r.status)
	}
}

func TestHandleOverride(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.Handle(RoutePool, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, r.PathValue("name"))
	})
	if r := get(t, s, "/v3/ips/pools/a%20b"); r.status != 418 || r.body != "a b" {
		t.Fatalf("override: %d %q", r.status, r.body)
	}
	s.Handle(RoutePool, nil)
	if r := get(t, s, "/v3/ips/pools/marketing"); r.status != 200 {
		t.Fatalf("restored: %d", r.status)
	}
}

func TestCallsAndStatsConcurrent(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", s.URL+"/v3/subusers?limit=1&offset="+strconv.Itoa(i), nil)
			req.Header.Set("Authorization", "Bearer "+TestAPIKey)
			req.Header.Set("on-behalf-of", "x")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			_ = s.Stats()
			_ = s.Calls()
		}()
	}
	wg.Wait()
	calls := s.Calls()
	if len(calls) != 8 || s.Stats().Requests != 8 || s.Stats().ByStatus[200] != 8 {
		t.Fatalf("calls %d stats %+v", len(calls), s.Stats())
	}
	c := calls[0]
	if c.Method != "GET" || c.Path != "/v3/subusers" || c.Query.Get("limit") != "1" || c.OnBehalfOf != "x" {
		t.Errorf("call %+v", c)
	}
	// Stats returns a copy.
	st := s.Stats()
	st.ByStatus[200] = 0
	if s.Stats().ByStatus[200] != 8 {
		t.Error("Stats shares its map")
	}
}

func TestNewServerAt(t *testing.T) {
	t.Parallel()
	s, err := NewServerAt("127.0.0.1:0", WithNow(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := url.Parse(s.URL)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "0" {
		t.Fatalf("URL %q", s.URL)
	}
	if r := get(t, s, "/v3/ips/pools"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if _, err := NewServerAt("256.0.0.1:1"); err == nil {
		t.Error("bad address accepted")
	}
}
