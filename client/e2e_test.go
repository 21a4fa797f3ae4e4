package client_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

var e2eDay = client.MustParseDate("2026-03-09")

// TestE2EConcurrentSweepStaysWithinRateLimit sweeps every demo subuser's
// week of scores from 8 goroutines against a server allowing 15 requests a
// second, with retries off: the shared limiter must avoid every 429.
func TestE2EConcurrentSweepStaysWithinRateLimit(t *testing.T) {
	t.Parallel()
	srv := newExampleServer(seqtest.WithRateLimit(15, time.Second), seqtest.WithLatency(2*time.Millisecond))
	defer srv.Close()
	c, err := srv.Client(client.WithRetryPolicy(client.RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var users []string
	for s, err := range c.Subusers(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, s.Username)
	}
	if len(users) != 36 {
		t.Fatalf("%d subusers", len(users))
	}
	var mu sync.Mutex
	got := map[string]int{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, u := range users {
		g.Go(func() error {
			scores, err := c.OnBehalfOf(u).Scores(gctx, e2eDay.AddDays(-6), e2eDay)
			if err != nil {
				return err
			}
			mu.Lock()
			got[u] = len(scores)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("sweep failed: %v", err)
	}
	st := srv.Stats()
	if st.Throttled != 0 {
		t.Errorf("%d requests throttled (stats %+v)", st.Throttled, st)
	}
	if len(got) != len(users) {
		t.Errorf("scores for %d of %d subusers", len(got), len(users))
	}
	if r := c.Rate(); r.Limit != 15 {
		t.Errorf("Rate() = %v", r)
	}
}

// TestE2EFaultsAndPending walks a large account's scores through injected
// 5xx/429 faults and 202s: retries and polling must deliver every item.
func TestE2EFaultsAndPending(t *testing.T) {
	t.Parallel()
	acct := seqtest.GenerateAccount(7, 2500, 1, e2eDay)
	srv := newExampleServer(seqtest.WithAccount(acct), seqtest.WithFaults(0.2, 42), seqtest.WithPending(2))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ineligible := 0
	for s, err := range c.SubuserScores(context.Background(), e2eDay) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[s.UserID] {
			t.Fatalf("user %s seen twice", s.UserID)
		}
		seen[s.UserID] = true
		if !s.Eligible() {
			ineligible++
		}
	}
	if len(seen) != 2500 {
		t.Errorf("%d scores, want 2500", len(seen))
	}
	st := srv.Stats()
	faults := st.ByStatus[500] + st.ByStatus[502] + st.ByStatus[503] + st.ByStatus[429]
	if faults == 0 || st.ByStatus[202] == 0 {
		t.Errorf("no faults or 202s injected: %+v", st)
	}
	t.Logf("%d ineligible; server stats %+v", ineligible, st)

	// NoWait on a fresh key returns ErrScoresPending.
	_, err = c.Scores(context.Background(), e2eDay, e2eDay, client.NoWait())
	if !errors.Is(err, client.ErrScoresPending) {
		t.Errorf("err = %v, want ErrScoresPending", err)
	}
}

func TestE2EPoolsRoundTrip(t *testing.T) {
	t.Parallel()
	srv := newExampleServer()
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pools, err := c.Pools(ctx)
	if err != nil || len(pools) == 0 {
		t.Fatalf("Pools() = %v, %v", pools, err)
	}
	var ips []client.IP
	for ip, err := range c.IPs(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		ips = append(ips, ip)
	}
	if len(ips) == 0 {
		t.Fatal("no IPs")
	}
	if _, err := c.CreatePool(ctx, "hot pool"); err != nil {
		t.Fatal(err)
	}
	ip := ips[0].IP
	if err := c.AddIPToPool(ctx, "hot pool", ip); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pool(ctx, "hot pool")
	if err != nil || p.Name != "hot pool" || len(p.IPs) != 1 || p.IPs[0].IP != ip {
		t.Fatalf("Pool() = %+v, %v", p, err)
	}
	if err := c.RemoveIPFromPool(ctx, "hot pool", ip); err != nil {
		t.Fatal(err)
	}
	assigned, err := c.AssignSubuserIPs(ctx, "acme-news", []string{ip})
	if err != nil || !slices.Equal(assigned, []string{ip}) {
		t.Errorf("AssignSubuserIPs = %v, %v", assigned, err)
	}
	if _, err := c.Pool(ctx, "no such pool"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown pool: err = %v", err)
	}
	var paths []string
	for _, call := range srv.Calls() {
		if call.Method != "GET" {
			paths = append(paths, call.Method+" "+call.Path)
		}
	}
	want := []string{
		"POST /v3/ips/pools",
		"POST /v3/ips/pools/hot%20pool/ips",
		"DELETE /v3/ips/pools/hot%20pool/ips/" + ip,
		"PUT /v3/subusers/acme-news/ips",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("calls = %q\nwant %q", paths, want)
	}
}

func TestE2ERegionFilter(t *testing.T) {
	t.Parallel()
	srv := newExampleServer()
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	var eu []client.Subuser
	for s, err := range c.Subusers(context.Background(), &client.SubusersOptions{Region: "eu", Limit: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		eu = append(eu, s)
	}
	if len(eu) != 1 || eu[0].Username != "eu-retail" || eu[0].Region != "eu" {
		t.Errorf("EU subusers = %+v", eu)
	}
}

// BenchmarkSubuserScores10k iterates over 10,000 subusers' scores for one
// day (10 pages of 1,000) from the simulated server over loopback.
func BenchmarkSubuserScores10k(b *testing.B) {
	acct := seqtest.GenerateAccount(1, 10000, 1, e2eDay)
	srv := newExampleServer(seqtest.WithAccount(acct))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range c.SubuserScores(context.Background(), e2eDay) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10000 {
			b.Fatalf("%d scores", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/score")
}
