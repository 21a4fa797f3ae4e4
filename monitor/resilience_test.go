package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/history"
)

// flakyDate makes the subuser scores of one date answer a proxy's HTML
// 502 while bad() is true; other dates are served normally.
func flakyDate(srv *seqtest.Server, acct *seqtest.Account, clk *testClock, date client.Date, bad func() bool) {
	healthy := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	srv.Handle(seqtest.RouteSubuserScores, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("date") == date.String() && bad() {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"))
			return
		}
		healthy.ServeHTTP(w, r)
	})
}

// TestSweepContinuesPastFailures: one date that keeps failing does not
// stop the sweep: every other day is stored, the date is retried within
// the run, listed as missing, the error is an incomplete fetch, and the
// next sweep fills the hole.
func TestSweepContinuesPastFailures(t *testing.T) {
	t.Parallel()
	acct := seqtest.DemoAccount(demoEnd)
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(acct), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	bad := demoEnd.AddDays(-3)
	var mu sync.Mutex
	broken := true
	flakyDate(srv, acct, clk, bad, func() bool { mu.Lock(); defer mu.Unlock(); return broken })
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.Retries = 2
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{})
	ctx := context.Background()

	res, err := d.Sweep(ctx, SweepOptions{Days: 10, FetchOnly: true})
	if !IsIncomplete(err) || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want an incomplete fetch", err)
	}
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
		t.Errorf("err = %v, want the 502 inside", err)
	}
	want := []MissingDay{{Scope: history.ScopeSubusers, Date: bad, Reason: MissingFailed}}
	if len(res.Missing) != 1 || res.Missing[0].Scope != want[0].Scope || res.Missing[0].Date != bad || res.Missing[0].Reason != MissingFailed {
		t.Fatalf("missing = %+v, want %+v", res.Missing, want)
	}
	if res.Retried < cfg.Sweep.Retries {
		t.Errorf("retried %d, want at least %d (sweep.retries)", res.Retried, cfg.Sweep.Retries)
	}
	if !slices.Equal(res.Failed, []client.Date{bad}) || len(res.Fetched) != 10 {
		t.Errorf("failed %v, fetched %d days; want %s failed and all 10 dates fetched for the parent", res.Failed, len(res.Fetched), bad)
	}
	done, err := st.CompletedDates(ctx, history.ScopeSubusers, demoEnd.AddDays(-9), demoEnd)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 9 || done[bad] {
		t.Errorf("subusers complete on %d days (bad day stored: %v), want the 9 others", len(done), done[bad])
	}

	mu.Lock()
	broken = false
	mu.Unlock()
	res, err = d.Sweep(ctx, SweepOptions{FetchOnly: true})
	if err != nil || len(res.Missing) != 0 || !slices.Contains(res.Fetched, bad) {
		t.Fatalf("next sweep: err %v, missing %+v, fetched %v; want the hole filled", err, res.Missing, res.Fetched)
	}
	assertComplete(t, st, demoEnd.AddDays(-9), demoEnd)
}

// TestSweepNonTransientFailureIsNotIncomplete: an answer that retrying
// cannot fix (403) is a plain error, not asked again within the run.
func TestSweepNonTransientFailureIsNotIncomplete(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(seqtest.DemoAccount(demoEnd)), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	srv.FailOn(http.MethodGet, "/v3/engagementquality/subusers/scores", http.StatusForbidden, 0)
	d := newTestDaemon(t, testConfig(), srv, openTestStore(t), clk, &recorder{})
	res, err := d.Sweep(context.Background(), SweepOptions{Days: 3, FetchOnly: true})
	if err == nil || IsIncomplete(err) || !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("err = %v, want a 403 that is not merely incomplete", err)
	}
	if res.Retried != 0 || len(res.Missing) != 3 {
		t.Errorf("retried %d, missing %+v; want no retry and 3 days missing", res.Retried, res.Missing)
	}
}

// TestSweepDiscoveryFailure: when the subusers cannot be listed the
// parent's days are still stored, nothing is detected, and the error says
// why.
func TestSweepDiscoveryFailure(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(seqtest.DemoAccount(demoEnd)), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	srv.FailOn(http.MethodGet, "/v3/subusers", http.StatusServiceUnavailable, 0)
	st := openTestStore(t)
	rec := &recorder{}
	d := newTestDaemon(t, testConfig(), srv, st, clk, rec)
	ctx := context.Background()
	res, err := d.Sweep(ctx, SweepOptions{Days: 4})
	if !IsIncomplete(err) {
		t.Fatalf("err = %v, want an incomplete fetch", err)
	}
	done, _ := st.CompletedDates(ctx, history.ScopeParent, demoEnd.AddDays(-3), demoEnd)
	subs, _ := st.CompletedDates(ctx, history.ScopeSubusers, demoEnd.AddDays(-3), demoEnd)
	if len(done) != 4 || len(subs) != 0 {
		t.Errorf("parent days %d, subuser days %d; want 4 and 0", len(done), len(subs))
	}
	if len(rec.alerts()) != 0 || len(res.Alerts) != 0 {
		t.Errorf("alerts notified without knowing the accounts: %v", res.Alerts)
	}
	if len(res.Missing) != 4 {
		t.Errorf("missing %+v, want the 4 subuser days", res.Missing)
	}
}

// TestPendingAskedAgainWhileOthersGoOn: dates answering 202 once or twice
// are asked again with a growing wait within the run, the other dates are
// stored meanwhile, and each wait is reported.
func TestPendingAskedAgainWhileOthersGoOn(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	late1, late2 := demoEnd.AddDays(-1), demoEnd.AddDays(-4)
	srv := seqtest.NewServer(seqtest.WithAccount(seqtest.DemoAccount(demoEnd)), seqtest.WithNow(clk.Now),
		seqtest.WithPendingDates(map[client.Date]int{late1: 1, late2: 2}))
	t.Cleanup(srv.Close)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Accounts.IncludeParent = false
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{})
	var mu sync.Mutex
	var waits []PendingWait
	res, err := d.Sweep(context.Background(), SweepOptions{Days: 7, FetchOnly: true, OnPending: func(w PendingWait) {
		mu.Lock()
		waits = append(waits, w)
		mu.Unlock()
	}})
	if err != nil || len(res.Missing) != 0 || len(res.Fetched) != 7 {
		t.Fatalf("err %v, missing %+v, fetched %d; want all 7 days", err, res.Missing, len(res.Fetched))
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[string][]int{}
	for _, w := range waits {
		got[w.Date] = append(got[w.Date], w.Attempt)
		if w.Scope != history.ScopeSubusers || w.Wait < 0 {
			t.Errorf("wait %+v", w)
		}
	}
	if !slices.Equal(got[late1.String()], []int{1}) || !slices.Equal(got[late2.String()], []int{1, 2}) || len(got) != 2 {
		t.Errorf("waits by date %v, want %s: [1], %s: [1 2]", got, late1, late2)
	}
	if res.Retried != 3 {
		t.Errorf("retried %d, want 3", res.Retried)
	}
}

// TestIsIncomplete covers the joins a sweep returns.
func TestIsIncomplete(t *testing.T) {
	t.Parallel()
	cause := &client.APIError{StatusCode: 502, Method: "GET", Path: "/v3/x"}
	inc := &incompleteError{err: fmt.Errorf("subusers 2026-12-01: %w", cause)}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("store"), false},
		{"the sentinel", ErrIncomplete, true},
		{"wrapped", fmt.Errorf("fetch subusers: %w", inc), true},
		{"two incomplete scopes", errors.Join(fmt.Errorf("fetch parent: %w", inc), fmt.Errorf("fetch subusers: %w", inc)), true},
		{"incomplete and a notify failure", errors.Join(inc, errors.New("notify")), false},
		{"the cause alone", cause, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsIncomplete(tt.err); got != tt.want {
				t.Errorf("IsIncomplete(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(inc, ErrIncomplete) || !errors.Is(inc, cause) {
		t.Error("an incomplete error must match ErrIncomplete and its cause")
	}
}

// TestNoSubusersNoRefetch: an account without subusers to monitor does
// not fetch subuser days at every sweep.
func TestNoSubusersNoRefetch(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := seqtest.NewServer(seqtest.WithAccount(seqtest.GenerateAccount(1, 0, 20, demoEnd)), seqtest.WithNow(clk.Now))
	t.Cleanup(srv.Close)
	d := newTestDaemon(t, testConfig(), srv, openTestStore(t), clk, &recorder{}, WithoutPoolDetector())
	ctx := context.Background()
	if _, err := d.Sweep(ctx, SweepOptions{Days: 10, FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Calls())
	res, err := d.Sweep(ctx, SweepOptions{Days: 10, FetchOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var subScores int
	for _, c := range srv.Calls()[before:] {
		if c.Path == "/v3/engagementquality/subusers/scores" {
			subScores++
		}
	}
	if subScores != 0 || res.Requests != 1 {
		t.Errorf("second sweep: %d requests, %d for subuser scores; want only the subuser listing", res.Requests, subScores)
	}
}
