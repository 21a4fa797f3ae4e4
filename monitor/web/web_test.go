package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/status"
	"github.com/sgseq/sgseq/monitor/store"
	"github.com/sgseq/sgseq/monitor/web"
)

// evil is a subuser username (account-controlled text) that must show
// escaped wherever it appears.
const evil = `<img src=x onerror=alert(1)>"'&`

var (
	lastDay = client.MustParseDate("2026-11-24")
	clock   = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
)

func metricsOf(v float64) *client.Metrics {
	return &client.Metrics{EngagementRecency: v, OpenRate: v, BounceClassification: 5, BounceRate: 5, SpamRate: v}
}

// fixture is a store with 60 days of: the parent (scored 4), good-sender
// (5, no alert), the evil subuser (fell to 2 for six days, two firing alerts whose
// texts quote its name) and quiet (ineligible for its last 5 days, an
// eligibility alert); a failed last sweep after a successful one.
func fixture(t testing.TB) *store.SQLite {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sgseq.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := time.Unix(1_700_000_000, 0)
	for i := range 60 {
		d := lastDay.AddDays(i - 59)
		evilScore := 4.0
		if i >= 54 { // six days at 2: the 7-day median is in tier low for 3 days, so the plan moves it
			evilScore = 2
		}
		subs := []history.DayScore{
			{Account: "good-sender", Score: client.Float(5), Metrics: metricsOf(5), FetchedAt: at},
			{Account: evil, Score: client.Float(evilScore), Metrics: metricsOf(evilScore), FetchedAt: at},
			{Account: "quiet", FetchedAt: at},
		}
		if i < 55 {
			subs[2] = history.DayScore{Account: "quiet", Score: client.Float(3), Metrics: metricsOf(3), FetchedAt: at}
		}
		if err := st.SaveDay(ctx, history.ScopeSubusers, d, subs); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveDay(ctx, history.ScopeParent, d, []history.DayScore{{Account: alert.ParentAccount, Score: client.Float(4), Metrics: metricsOf(4), FetchedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	recs := []alert.Record{
		{Alert: alert.Alert{Key: evil + "/drop", Account: evil, Rule: alert.RuleDrop, Severity: alert.Critical, State: alert.Firing,
			Date: lastDay, From: client.Float(4), To: client.Float(2), Since: lastDay.AddDays(-2),
			Message: evil + ": score fell 4 → 2", Advice: "Look at " + evil + "'s recent sends <b>now</b>."}, FirstFired: clock.Add(-48 * time.Hour)},
		{Alert: alert.Alert{Key: evil + "/metric/spam_rate", Account: evil, Rule: alert.RuleMetric, Metric: client.MetricSpamRate, Severity: alert.Warning,
			State: alert.Firing, Date: lastDay, From: client.Float(4), To: client.Float(2), Since: lastDay.AddDays(-2),
			Message: evil + ": spam_rate fell", Advice: "Stop mailing people who did not opt in."}, FirstFired: clock.Add(-48 * time.Hour)},
		{Alert: alert.Alert{Key: "quiet/eligibility", Account: "quiet", Rule: alert.RuleEligibility, Severity: alert.Info, State: alert.Firing,
			Date: lastDay, Since: lastDay.AddDays(-4), Message: "quiet: no score for 5 days", Advice: "Turn open tracking on."}, FirstFired: clock.Add(-24 * time.Hour)},
	}
	if err := st.SaveAlerts(ctx, recs, nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"low-reputation", "mid-reputation"} {
		if err := st.RecordPools(ctx, clock.Add(time.Duration(i-2)*time.Hour), map[string][]string{"quiet": {p}}); err != nil {
			t.Fatal(err)
		}
	}
	id, err := st.BeginSweep(ctx, clock.Add(-3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishSweep(ctx, id, clock.Add(-3*time.Hour+40*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	id, err = st.BeginSweep(ctx, clock.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishSweep(ctx, id, clock.Add(-time.Hour+12*time.Second), errors.New("fetch subusers: 2026-11-24: <script>HTTP 500</script>")); err != nil {
		t.Fatal(err)
	}
	return st
}

// layout is a pool layout: every subuser sends through the mid pool.
func layout(context.Context) (*pools.State, error) {
	return pools.NewState([]client.IP{{IP: "198.51.100.7", Subusers: []string{"good-sender", evil, "quiet"}, Pools: []string{"mid-reputation"}}},
		[]string{"high-reputation", "mid-reputation", "low-reputation"}), nil
}

type response struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, h http.Handler, method, path string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{rec.Code, rec.Result().Header, string(b)}
}

func checkSecurityHeaders(t *testing.T, r response) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": web.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(web.ContentSecurityPolicy, "default-src 'self'") || !strings.Contains(web.ContentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", web.ContentSecurityPolicy)
	}
}

func TestRoutes(t *testing.T) {
	st := fixture(t)
	plain := web.Handler(st, web.Options{Now: func() time.Time { return clock }})
	withPools := web.Handler(st, web.Options{Now: func() time.Time { return clock }, PoolsConfig: pools.DefaultConfig(),
		Plans: web.NewPlanCache(pools.DefaultConfig(), st, layout, 0, func() time.Time { return clock })})
	evilPath := "/accounts/" + url.PathEscape(evil)
	tests := []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		code    int
		ctype   string
		want    []string
		wantNot []string
		inOrder []string // these appear in this order
	}{
		{name: "overview", h: plain, path: "/", code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"<strong>4</strong> accounts", "<strong>3</strong> alerts firing (1 critical, 1 warning)", "<strong>1</strong> without a score on their latest day",
				"Last sweep failed", "took 12s", "&lt;script&gt;HTTP 500&lt;/script&gt;", "Last successful sweep finished 2026-11-25 06:00 UTC",
				`href="/accounts/%28parent%29"`, `href="/accounts/good-sender"`, `<span class="inel">ineligible</span>`,
				"Stop mailing people who did not opt in.", "Turn open tracking on.", `<svg class="spark"`, "none</span>"},
			wantNot: []string{"Pool · planned tier", "/pools"},
			inOrder: []string{`data-account="` + "&lt;img", `data-account="quiet"`, `data-account="(parent)"`, `data-account="good-sender"`}},
		{name: "overview with pools", h: withPools, path: "/", code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"Pool · planned tier", "mid-reputation", "tier high", "→ high-reputation", `href="/pools"`}},
		{name: "account", h: plain, path: "/accounts/good-sender", code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"good-sender", "Score <strong class=\"lvl-good\">5</strong> on 2026-11-24", "60 days stored from 2026-09-26 to 2026-11-24, 60 with a score",
				`class="chart-svg"`, "Engagement recency", "Spam rate", "No alert is firing for this account.", "No alert has fired for this account.",
				`href="/api/v1/accounts/good-sender/history"`}},
		{name: "account evil", h: plain, path: evilPath, code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"score fell 4 → 2", "fired", "critical", "&lt;b&gt;now&lt;/b&gt;"}},
		{name: "parent", h: withPools, path: "/accounts/(parent)", code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"(parent)", "Score <strong class=\"lvl-good\">4</strong>"}, wantNot: []string{"IP pool and tier"}},
		{name: "parent escaped", h: plain, path: "/accounts/%28parent%29", code: 200, ctype: "text/html; charset=utf-8", want: []string{"(parent)"}},
		{name: "ineligible", h: withPools, path: "/accounts/quiet", code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"<strong class=\"inel\">Ineligible</strong> on 2026-11-24", "60 days stored from 2026-09-26 to 2026-11-24, 55 with a score",
				`class="gap"`, "eligibility", "IP pool and tier", "mid-reputation", "flags: ineligible", "Planned tier",
				"Sent through", "<td>low-reputation</td><td>2026-11-25 07:00 UTC</td>"}},
		{name: "unknown account", h: plain, path: "/accounts/nobody", code: 404, ctype: "text/html; charset=utf-8",
			want: []string{"No stored history for the account &#34;nobody&#34;."}},
		{name: "parent misspelt", h: plain, path: "/accounts/parent", code: 404, ctype: "text/html; charset=utf-8",
			want: []string{"The parent account is &#34;(parent)&#34;."}},
		{name: "unknown evil account", h: plain, path: "/accounts/" + url.PathEscape(evil+"x"), code: 404, ctype: "text/html; charset=utf-8",
			want: []string{"&lt;img src=x"}},
		{name: "unknown page", h: plain, path: "/nope", code: 404, ctype: "text/html; charset=utf-8", want: []string{"No such page."}},
		{name: "pools off", h: plain, path: "/pools", code: 404, ctype: "text/html; charset=utf-8", want: []string{"pools.enabled"}},
		{name: "pools", h: withPools, path: "/pools", code: 200, ctype: "text/html; charset=utf-8",
			want: []string{"IP-pool plan", "As of 2026-11-24", "3 subusers", "high-reputation", "low-reputation", "Proposed moves", "good-sender",
				"<span class=\"flag\">ineligible</span> 1"}},
		{name: "status json", h: plain, path: "/api/v1/status", code: 200, ctype: "application/json",
			want: []string{`"account": "\u003cimg src=x onerror=alert(1)\u003e\"'\u0026"`, `"account": "(parent)"`}},
		{name: "history json", h: plain, path: "/api/v1/accounts/good-sender/history", code: 200, ctype: "application/json",
			want: []string{`"date": "2026-11-24"`, `"date": "2026-10-26"`}, wantNot: []string{`"date": "2026-10-25"`}},
		{name: "history json days", h: plain, path: "/api/v1/accounts/quiet/history?days=2", code: 200, ctype: "application/json",
			want: []string{`"eligible": false`, `"metrics": null`}},
		{name: "history json bad days", h: plain, path: "/api/v1/accounts/quiet/history?days=0", code: 400, ctype: "application/json",
			want: []string{`"error": "invalid days \"0\": want 1 or more"`}},
		{name: "history json unknown", h: plain, path: "/api/v1/accounts/nobody/history", code: 404, ctype: "application/json",
			want: []string{`"error": "no stored history for \"nobody\"`}},
		{name: "stylesheet", h: plain, path: "/static/style.css", code: 200, ctype: "text/css; charset=utf-8"},
		{name: "script", h: plain, path: "/static/refresh.js", code: 200, ctype: "text/javascript; charset=utf-8"},
		{name: "favicon", h: plain, path: "/favicon.ico", code: 200, ctype: "image/svg+xml"},
		{name: "post", h: plain, method: http.MethodPost, path: "/", code: 405},
		{name: "post api", h: plain, method: http.MethodPost, path: "/api/v1/status", code: 405},
		{name: "delete account", h: plain, method: http.MethodDelete, path: "/accounts/good-sender", code: 405},
		{name: "head", h: plain, method: http.MethodHead, path: "/", code: 200, ctype: "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.method
			if m == "" {
				m = http.MethodGet
			}
			r := get(t, tt.h, m, tt.path)
			if r.code != tt.code {
				t.Fatalf("%s %s: %d, want %d\n%s", m, tt.path, r.code, tt.code, r.body)
			}
			checkSecurityHeaders(t, r)
			if tt.ctype != "" && r.header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", r.header.Get("Content-Type"), tt.ctype)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(r.body, w) {
					t.Errorf("body has %q", w)
				}
			}
			pos := -1
			for _, w := range tt.inOrder {
				i := strings.Index(r.body, w)
				if i < 0 || i < pos {
					t.Errorf("%q missing or out of order", w)
				}
				pos = i
			}
			if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				checkNoRawHTML(t, r.body)
			}
		})
	}
}

// checkNoRawHTML fails when account-controlled or stored text shows up
// unescaped in a page.
func checkNoRawHTML(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<img", "onerror=alert(1)>", "<script>HTTP", "<b>now", "\"'&"} {
		if strings.Contains(body, bad) {
			i := strings.Index(body, bad)
			t.Errorf("unescaped %q in the page: …%s…", bad, body[max(i-80, 0):min(i+80, len(body))])
		}
	}
	// No inline script or style: the CSP would block them.
	for _, bad := range []string{"<script>", " style=", "<style", "javascript:", " onclick", " onload"} {
		if strings.Contains(body, bad) {
			t.Errorf("page has %q, which the CSP blocks", bad)
		}
	}
}

// TestEscapedEverywhere checks the evil username on every page it appears
// on, in its escaped forms: text and attributes in HTML, a path-escaped
// link, and JSON's \u escapes.
func TestEscapedEverywhere(t *testing.T) {
	st := fixture(t)
	h := web.Handler(st, web.Options{Now: func() time.Time { return clock }, PoolsConfig: pools.DefaultConfig(),
		Plans: web.NewPlanCache(pools.DefaultConfig(), st, layout, 0, nil)})
	esc := url.PathEscape(evil)
	attr := strings.ReplaceAll(esc, "&", "&amp;") // in an href attribute
	pages := map[string][]string{
		"/":                                    {"&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;", `href="/accounts/` + attr + `"`},
		"/accounts/" + esc:                     {"&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;", `href="/api/v1/accounts/` + attr + `/history"`},
		"/pools":                               {"&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;", `href="/accounts/` + attr + `"`},
		"/api/v1/status":                       {`\u003cimg src=x onerror=alert(1)\u003e\"'\u0026`},
		"/api/v1/accounts/" + esc + "/history": {`\u003cimg src=x onerror=alert(1)\u003e\"'\u0026`},
	}
	for path, wants := range pages {
		t.Run(path, func(t *testing.T) {
			r := get(t, h, http.MethodGet, path)
			if r.code != 200 {
				t.Fatalf("%d\n%s", r.code, r.body)
			}
			for _, w := range wants {
				if !strings.Contains(r.body, w) {
					t.Errorf("lacks %q", w)
				}
			}
			if strings.Contains(r.body, "<img") {
				t.Error("raw <img in the response")
			}
		})
	}
}

// TestAPIIsTheCLIJSON checks that the API serves what package status
// assembles (the same code and encoder as "sgseq status -o json"; the
// byte-for-byte comparison with the command is in cmd/sgseq).
func TestAPIIsTheCLIJSON(t *testing.T) {
	st := fixture(t)
	h := web.Handler(st, web.Options{})
	rows, err := status.Read(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	if err := status.WriteJSON(&want, rows); err != nil {
		t.Fatal(err)
	}
	if r := get(t, h, http.MethodGet, "/api/v1/status"); r.body != want.String() {
		t.Errorf("status JSON differs:\n%s\nwant\n%s", r.body, want.String())
	}
	var back []status.Account
	if err := json.Unmarshal([]byte(get(t, h, http.MethodGet, "/api/v1/status").body), &back); err != nil || len(back) != 4 || back[1].Account != evil {
		t.Errorf("decoded %d rows (%v)", len(back), err)
	}
}

func TestBasicAuth(t *testing.T) {
	st := fixture(t)
	h := web.Handler(st, web.Options{Auth: &web.BasicAuth{Username: "ops", Password: "s3cret"}})
	tests := []struct {
		name       string
		user, pass string
		set        bool
		code       int
	}{
		{"none", "", "", false, 401},
		{"wrong password", "ops", "nope", true, 401},
		{"wrong user", "op", "s3cret", true, 401},
		{"right", "ops", "s3cret", true, 200},
	}
	for _, tt := range tests {
		for _, path := range []string{"/", "/api/v1/status", "/static/style.css"} {
			t.Run(tt.name+path, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if tt.set {
					req.SetBasicAuth(tt.user, tt.pass)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tt.code {
					t.Errorf("%d, want %d", rec.Code, tt.code)
				}
				if tt.code == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
				}
				if rec.Header().Get("X-Frame-Options") != "DENY" {
					t.Error("no security headers on a 401")
				}
				if strings.Contains(rec.Body.String(), "s3cret") {
					t.Error("password in the response")
				}
			})
		}
	}
	if s := (web.BasicAuth{Username: "ops", Password: "s3cret"}).String(); strings.Contains(s, "s3cret") {
		t.Errorf("BasicAuth prints its password: %s", s)
	}
}

func TestEmptyStore(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := web.Handler(st, web.Options{Plans: web.NewPlanCache(pools.DefaultConfig(), st, layout, 0, nil)})
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/", 200, "The store holds no score yet"},
		{"/", 200, "No sweep recorded yet"},
		{"/pools", 200, "IP-pool plan unavailable: no subuser score stored yet"},
		{"/api/v1/status", 200, "[]\n"},
		{"/accounts/x", 404, "No stored history"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := get(t, h, http.MethodGet, tt.path)
			if r.code != tt.code || !strings.Contains(r.body, tt.want) {
				t.Errorf("%d, want %d with %q:\n%s", r.code, tt.code, tt.want, r.body)
			}
		})
	}
}

// TestOverviewFollowsSweeps checks that the overview's rows, reused
// between views, are read again once a sweep changed the store.
func TestOverviewFollowsSweeps(t *testing.T) {
	st := fixture(t)
	ctx := context.Background()
	h := web.Handler(st, web.Options{})
	if r := get(t, h, http.MethodGet, "/"); !strings.Contains(r.body, "<strong>4</strong> accounts") {
		t.Fatalf("before: %s", r.body)
	}
	id, err := st.BeginSweep(ctx, clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveDay(ctx, history.ScopeSubusers, lastDay.AddDays(1), []history.DayScore{{Account: "newcomer", Score: client.Float(1), Metrics: metricsOf(1), FetchedAt: clock}}); err != nil {
		t.Fatal(err)
	}
	r := get(t, h, http.MethodGet, "/")
	if !strings.Contains(r.body, "<strong>5</strong> accounts") || !strings.Contains(r.body, `data-account="newcomer"`) || !strings.Contains(r.body, "has not finished") {
		t.Errorf("sweep started: the overview does not show the new account")
	}
	if err := st.FinishSweep(ctx, id, clock.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if r := get(t, h, http.MethodGet, "/"); !strings.Contains(r.body, "succeeded") || !strings.Contains(r.body, "newest stored day 2026-11-25") {
		t.Errorf("sweep finished: %s", r.body)
	}
}

// TestOddNames checks accounts whose names need path escaping: each gets
// its page through the link the overview shows.
func TestOddNames(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "odd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names := []string{"a/b", "with space", "percent%41", "ünï", "q?x=1#f", "..x", "a+b"}
	var days []history.DayScore
	for _, n := range names {
		days = append(days, history.DayScore{Account: n, Score: client.Float(3), Metrics: metricsOf(3), FetchedAt: clock})
	}
	if err := st.SaveDay(ctx, history.ScopeSubusers, lastDay, days); err != nil {
		t.Fatal(err)
	}
	h := web.Handler(st, web.Options{})
	ov := html.UnescapeString(get(t, h, http.MethodGet, "/").body) // as a browser reads the attributes
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			path := "/accounts/" + url.PathEscape(n)
			if !strings.Contains(ov, `href="`+path+`"`) {
				t.Errorf("overview lacks the link %s", path)
			}
			r := get(t, h, http.MethodGet, path)
			if r.code != 200 || !strings.Contains(r.body, `<h1 class="acct-name">`) {
				t.Fatalf("GET %s: %d", path, r.code)
			}
			if j := get(t, h, http.MethodGet, "/api/v1/accounts/"+url.PathEscape(n)+"/history"); j.code != 200 {
				t.Errorf("history JSON: %d %s", j.code, j.body)
			}
		})
	}
}
