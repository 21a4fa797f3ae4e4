package monitor

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMetricsDropUnmonitoredAccounts: an account the filters leave out on
// the second sweep loses its sgseq_score, sgseq_metric and sgseq_eligible
// series, while the others keep theirs; a scrape during the sweep always
// sees a full set.
func TestMetricsDropUnmonitoredAccounts(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 3
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
	h := d.Handler()
	ctx := context.Background()

	if _, err := d.Sweep(ctx, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	series := []string{
		`sgseq_score{account="acme-news"}`,
		`sgseq_eligible{account="acme-news"}`,
		`sgseq_metric{account="acme-news",metric="open_rate"}`,
	}
	kept := []string{
		`sgseq_score{account="(parent)"}`,
		`sgseq_eligible{account="petcare-mail"}`,
		`sgseq_metric{account="petcare-mail",metric="spam_rate"}`,
	}
	_, body := get(t, h, "/metrics")
	for _, s := range append(series, kept...) {
		if !strings.Contains(body, s) {
			t.Fatalf("after the first sweep /metrics lacks %s", s)
		}
	}

	// Scrape while the second sweep runs: every scrape has the accounts
	// monitored both before and after it.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, body := get(t, h, "/metrics")
			if !strings.Contains(body, kept[1]) {
				t.Errorf("a scrape during the sweep lacks %s", kept[1])
				return
			}
		}
	})
	d.cfg.Accounts.Exclude = []string{"acme-news"}
	_, err := d.Sweep(ctx, SweepOptions{})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	_, body = get(t, h, "/metrics")
	for _, s := range series {
		if strings.Contains(body, s) {
			t.Errorf("after acme-news was excluded /metrics still has %s", s)
		}
	}
	for _, s := range kept {
		if !strings.Contains(body, s) {
			t.Errorf("after the second sweep /metrics lacks %s", s)
		}
	}
}

// TestMetricsBeforeDiscovery: before any discovery (a restarted daemon),
// the per-account series come from the store, filtered by the static
// account filters.
func TestMetricsBeforeDiscovery(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st := openTestStore(t)
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 3
	if _, err := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector()).Sweep(context.Background(), SweepOptions{FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	cfg.Accounts.Exclude = []string{"acme-*"}
	cfg.Accounts.IncludeParent = false
	d := newTestDaemon(t, cfg, srv, st, clk, &recorder{}, WithoutPoolDetector())
	d.refreshGauges(context.Background())
	_, body := get(t, d.Handler(), "/metrics")
	for _, tc := range []struct {
		series string
		want   bool
	}{
		{`sgseq_eligible{account="petcare-mail"}`, true},
		{`sgseq_eligible{account="acme-news"}`, false},
		{`sgseq_eligible{account="(parent)"}`, false},
	} {
		if got := strings.Contains(body, tc.series); got != tc.want {
			t.Errorf("/metrics has %s = %v, want %v", tc.series, got, tc.want)
		}
	}
}
