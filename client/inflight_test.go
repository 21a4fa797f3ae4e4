package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestLimiterPerEndpoint: a spent budget on one endpoint does not hold
// requests to another (SendGrid limits each endpoint on its own).
func TestLimiterPerEndpoint(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		c, _ := newMocked(t, func(req *http.Request) (*http.Response, error) {
			if req.URL.Path == "/v3/ips/pools" {
				return jsonResp(200, `[]`, HeaderRateLimit, "1", HeaderRateRemaining, "0", HeaderRateReset, reset), nil
			}
			return jsonResp(200, fullPage, HeaderRateLimit, "100", HeaderRateRemaining, "99", HeaderRateReset, reset), nil
		})
		ctx := context.Background()
		if _, err := c.Pools(ctx); err != nil {
			t.Fatal(err)
		}
		// The pools budget is spent for the hour; scores must not wait.
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := c.SubuserScoresPage(sctx, testYesterday, nil); err != nil {
			t.Fatalf("scores held by the pools budget: %v", err)
		}
		// While pools requests are held.
		pctx, cancel2 := context.WithTimeout(ctx, time.Second)
		defer cancel2()
		if _, err := c.Pools(pctx); err == nil {
			t.Error("a second pools request went through a spent budget")
		}
	})
}

// TestMaxInFlight: no more than n requests to an endpoint at once.
func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var cur, peak atomic.Int32
		c, rec := newMocked(t, func(*http.Request) (*http.Response, error) {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			cur.Add(-1)
			return jsonResp(200, fullPage), nil
		}, WithMaxInFlight(3))
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := c.SubuserScoresPage(context.Background(), testYesterday, nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if p := peak.Load(); p != 3 || rec.count() != 10 {
			t.Errorf("peak in flight %d over %d requests, want 3 over 10", p, rec.count())
		}
	})
	if _, err := New(testKey, WithMaxInFlight(-1)); err == nil {
		t.Error("WithMaxInFlight(-1) accepted")
	}
}

// TestPollHook: each wait after a 202 is reported with the date and the
// wait, before it starts.
func TestPollHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var evs []PollEvent
	c, rec := newMocked(t, sequence(respond(202, ""), respond(202, "{}"), respond(200, fullPage)),
		WithPollHook(func(e PollEvent) { mu.Lock(); evs = append(evs, e); mu.Unlock() }))
	if _, err := c.SubuserScoresPage(context.Background(), testYesterday, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 2 || rec.count() != 3 {
		t.Fatalf("events %+v after %d requests, want 2 after 3", evs, rec.count())
	}
	for i, e := range evs {
		if e.Date != testYesterday.String() || e.Attempt != i+1 || e.Wait <= 0 || e.Route != "/v3/engagementquality/subusers/scores" {
			t.Errorf("event %d = %+v", i, e)
		}
	}
	if evs[1].Waited != evs[0].Wait {
		t.Errorf("second event waited %s, want the first wait %s", evs[1].Waited, evs[0].Wait)
	}
}

// TestAllSubusers: every subuser once, from offset pages fetched in
// waves after a full first page.
func TestAllSubusers(t *testing.T) {
	t.Parallel()
	const total, limit = 1234, 100
	c, rec := newMocked(t, func(req *http.Request) (*http.Response, error) {
		off, _ := strconv.Atoi(req.URL.Query().Get("offset"))
		var page []Subuser
		for i := off; i < min(off+limit, total); i++ {
			page = append(page, Subuser{ID: int64(i + 1), Username: fmt.Sprintf("u%04d", i+1)})
		}
		b, _ := json.Marshal(page)
		if page == nil {
			b = []byte(`[]`)
		}
		return jsonResp(200, string(b)), nil
	})
	subs, err := c.AllSubusers(context.Background(), &SubusersOptions{Limit: limit}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != total || subs[0].Username != "u0001" || subs[total-1].Username != "u1234" {
		t.Errorf("got %d subusers (%v … %v), want %d in order", len(subs), subs[0], subs[len(subs)-1], total)
	}
	// 13 pages are needed; waves of 4 after the first page: 1 + 4 + 4 + 4.
	if n := rec.count(); n != 13 {
		t.Errorf("%d requests, want 13", n)
	}
	if reqs := rec.all(); reqs[0].Query.Get("offset") != "0" {
		t.Errorf("first request offset %s", reqs[0].Query.Get("offset"))
	}
}
