package seqtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
)

func TestClientEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"plain", nil},
		{"pending", []Option{WithPending(3)}},
		{"faults", []Option{WithFaults(0.2, 3)}},
		{"rate limited", []Option{WithRateLimit(50, time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, tc.opts...)
			c, err := s.Client()
			if err != nil {
				t.Fatal(err)
			}
			scores, err := c.Scores(ctx, testEnd.AddDays(-6), testEnd)
			if err != nil || len(scores) != 7 {
				t.Fatalf("Scores: %d, %v", len(scores), err)
			}
			n, ineligible := 0, 0
			for sc, err := range c.SubuserScores(ctx, testEnd) {
				if err != nil {
					t.Fatalf("SubuserScores: %v", err)
				}
				n++
				if !sc.Eligible() {
					ineligible++
				}
			}
			// summer-promo, old-newsletter and fresh-start (scored from E-4: eligible) .
			if n != 36 || ineligible != 2 {
				t.Errorf("%d subusers, %d ineligible; want 36, 2", n, ineligible)
			}
			sub, err := c.OnBehalfOf("garden-supply").Scores(ctx, testEnd.AddDays(-16), testEnd.AddDays(-13))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range sub {
				if d.Eligible() || d.Username != "garden-supply" {
					t.Errorf("garden-supply %v should be ineligible", d.Date)
				}
			}
		})
	}
}

func TestClientMutationsAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestServer(t)
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePool(ctx, "cold pool"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddIPToPool(ctx, "cold pool", "198.51.100.32"); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pool(ctx, "cold pool")
	if err != nil || len(p.IPs) != 1 || p.IPs[0].IP != "198.51.100.32" || !p.IPs[0].Warmup {
		t.Fatalf("Pool: %+v %v", p, err)
	}
	if _, err := c.Pool(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown pool: %v", err)
	}
	if _, err := c.AssignSubuserIPs(ctx, "kids-books", []string{"198.51.100.32"}); err != nil {
		t.Fatal(err)
	}
	var ips []string
	for ip, err := range c.IPs(ctx, &client.IPsOptions{Subuser: "kids-books"}) {
		if err != nil {
			t.Fatal(err)
		}
		ips = append(ips, ip.IP)
	}
	if len(ips) != 1 || ips[0] != "198.51.100.32" {
		t.Errorf("kids-books IPs %v", ips)
	}
	if _, err := c.OnBehalfOf("nobody").Scores(ctx, testEnd, testEnd); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("unknown subuser: %v", err)
	}
	bad, err := client.New("SG.wrong", client.WithBaseURL(s.URL), client.WithNow(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Pools(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong key: %v", err)
	}
	c2, _ := s.Client(client.WithPollPolicy(client.PollPolicy{NoWait: true}))
	if _, err := c2.Scores(ctx, testEnd.AddDays(1), testEnd.AddDays(1)); !errors.Is(err, client.ErrScoresPending) {
		t.Errorf("today: %v", err)
	}
}

// A concurrent sweep through one client stays within the rate limit: the
// client's shared limiter reads the headers and waits for the reset.
func TestClientConcurrentSweepRespectsRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithRateLimit(40, time.Second))
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.OnBehalfOf(s.acct.Subusers[i%36].Username).Scores(context.Background(), testEnd, testEnd)
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := s.Stats()
	if st.ByStatus[200] != 60 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("stats %+v", st)
}
