package web_test

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/status"
)

// EnvSkipBrowser set to 1 skips the browser test when no Chromium is
// installed; without it, a missing browser fails the test.
const EnvSkipBrowser = "SGSEQ_SKIP_BROWSER"

var screenshot = flag.String("screenshot", "", "write a screenshot of the overview (demo account) to this PNG file, e.g. ../../docs/status-page.png")

// findBrowser returns the Chromium executable, or fails (skips only with
// SGSEQ_SKIP_BROWSER=1): the end-to-end test must not pass silently in CI.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found in PATH (chromium, chromium-browser, google-chrome): install it (Debian: apt-get install -y chromium)"
	if os.Getenv(EnvSkipBrowser) == "1" {
		t.Skip(msg + "; skipped because " + EnvSkipBrowser + "=1")
	}
	t.Fatal(msg + ", or set " + EnvSkipBrowser + "=1 to skip this test")
	return ""
}

// quietNotifier accepts every notification.
type quietNotifier struct{}

func (quietNotifier) Name() string { return "quiet" }
func (quietNotifier) Notify(_ context.Context, m notify.Message) ([]string, error) {
	keys := make([]string, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		keys = append(keys, a.Key)
	}
	return keys, nil
}

// demoDaemon runs what "sgseq demo" runs in its monitor section against
// the simulated demo account: a 30-day backfill, then a week of daily
// sweeps with the clock moved back, here with the IP-pool tiers of the
// demo's pools section enabled.
func demoDaemon(t testing.TB) (*monitor.Daemon, func() time.Time) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	srv := seqtest.NewServer(seqtest.WithNow(func() time.Time { return now }))
	t.Cleanup(srv.Close)
	end := client.DateOf(now).AddDays(-1)
	start := end.AddDays(-7)
	var mu sync.Mutex
	clockAt := start.AddDays(1).Time().Add(6 * time.Hour)
	// The clock moves 40 ms a reading, so that a sweep takes a while.
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clockAt = clockAt.Add(40 * time.Millisecond)
		return clockAt
	}
	cfg := monitor.DefaultConfig()
	cfg.SendGrid.APIKey = "demo"
	cfg.Store.Path = filepath.Join(t.TempDir(), "monitor.db")
	cfg.HTTP.Addr = ""
	cfg.Notify.RepeatInterval = 14 * 24 * time.Hour
	cfg.Sweep.PendingBackoff = time.Millisecond
	cfg.Pools = pools.DefaultConfig()
	cfg.Pools.Tiers = []pools.Tier{
		{Name: "high", MinScore: 4.5, Pool: "transactional"},
		{Name: "mid", MinScore: 3.5, Pool: "marketing"},
		{Name: "low", MinScore: 1, Pool: "shared"},
	}
	d, err := monitor.New(ctx, cfg, monitor.WithClientFunc(srv.Client), monitor.WithClock(clock), monitor.WithNotifier(quietNotifier{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Sweep(ctx, monitor.SweepOptions{Days: 30, FetchOnly: true}); err != nil {
		t.Fatal(err)
	}
	for day := start; !day.After(end); day = day.AddDays(1) {
		mu.Lock()
		clockAt = day.AddDays(1).Time().Add(6 * time.Hour)
		mu.Unlock()
		if _, err := d.Sweep(ctx, monitor.SweepOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	clockAt = clockAt.Add(2 * time.Hour)
	mu.Unlock()
	return d, clock
}

// browserLog collects what the page did: console messages, exceptions,
// browser log entries and every request.
type browserLog struct {
	mu       sync.Mutex
	problems []string
	requests []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			b.problems = append(b.problems, fmt.Sprintf("browser log (%s, %s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	}
}

func (b *browserLog) take() (problems, requests []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	problems, requests = b.problems, b.requests
	b.problems, b.requests = nil, nil
	return problems, requests
}

// countNodes counts the elements matching sel through the DOM domain of
// the protocol, which works with JavaScript disabled.
func countNodes(ctx context.Context, sel string) (int, error) {
	depth := int64(-1)
	doc, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{Depth: &depth})
	if err != nil {
		return 0, err
	}
	res, err := chromedp.Call(ctx, dom.QuerySelectorAll, dom.QuerySelectorAllParams{NodeID: doc.Root.NodeID, Selector: sel})
	if err != nil {
		return 0, err
	}
	return len(res.NodeIDs), nil
}

// browserRow is what the browser sees of one overview row.
type browserRow struct {
	Account string `json:"account"`
	Alerts  int    `json:"alerts"`
	Score   string `json:"score"`
}

// TestBrowser drives a real headless Chromium against a daemon swept from
// the simulated account: the overview lists every account and every firing
// alert, an account page draws its history charts, with and without
// JavaScript, no console error, and no request leaves the server.
func TestBrowser(t *testing.T) {
	exe := findBrowser(t)
	d, _ := demoDaemon(t)
	ts := httptest.NewServer(d.Handler())
	defer ts.Close()

	rows, err := status.Read(context.Background(), d.Store())
	if err != nil {
		t.Fatal(err)
	}
	wantAlerts := map[string]int{}
	withAlerts, firing := 0, 0
	for _, r := range rows {
		wantAlerts[r.Account] = len(r.Alerts)
		firing += len(r.Alerts)
		if len(r.Alerts) > 0 {
			withAlerts++
		}
	}
	if withAlerts == 0 || len(rows) < 10 {
		t.Fatalf("the swept demo account has %d accounts, %d with firing alerts: not a useful test", len(rows), withAlerts)
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	defer cancel()
	var bl browserLog
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(bl.listen))
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	checkClean := func(t *testing.T, what string) {
		t.Helper()
		problems, requests := bl.take()
		for _, p := range problems {
			t.Errorf("%s: %s", what, p)
		}
		if len(requests) == 0 {
			t.Errorf("%s: no request seen", what)
		}
		for _, u := range requests {
			if !strings.HasPrefix(u, ts.URL+"/") {
				t.Errorf("%s: request left the server: %s", what, u)
			}
		}
	}

	t.Run("overview", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.overview"))); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]browserRow](`Array.from(document.querySelectorAll("tr.row")).map(r => ({
			account: r.dataset.account, alerts: r.querySelectorAll("details.alert").length,
			score: r.querySelector("td.score").textContent.trim()}))`))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Errorf("overview shows %d accounts, the store has %d", len(got), len(rows))
		}
		seen := map[string]bool{}
		for i, r := range got {
			seen[r.Account] = true
			if r.Alerts != wantAlerts[r.Account] {
				t.Errorf("%s: %d alerts shown, %d firing", r.Account, r.Alerts, wantAlerts[r.Account])
			}
			// Worst first: no account without alerts above one with.
			if i > 0 && r.Alerts > 0 && got[i-1].Alerts == 0 {
				t.Errorf("%s (alerts firing) listed after %s (none)", r.Account, got[i-1].Account)
			}
		}
		for a, n := range wantAlerts {
			if n > 0 && !seen[a] {
				t.Errorf("account %s with %d firing alerts not on the overview", a, n)
			}
		}
		// Sparklines are drawn: each has a visible box.
		w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("svg.spark").getBoundingClientRect().width`))
		if err != nil || w < 50 {
			t.Errorf("sparkline width %v (%v)", w, err)
		}
		if *screenshot != "" {
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", *screenshot, len(png))
		}
		checkClean(t, "overview")
	})

	// The first account with a firing alert.
	var target string
	for _, r := range rows {
		if len(r.Alerts) > 0 {
			target = r.Account
			break
		}
	}
	t.Run("account", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/accounts/"+url.PathEscape(target)),
			chromedp.WaitVisible(chromedp.CSS("svg.chart-svg path.series"))); err != nil {
			t.Fatal(err)
		}
		type chartInfo struct {
			Title  string  `json:"title"`
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
			Path   int     `json:"path"`
		}
		charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartInfo](`Array.from(document.querySelectorAll("figure.chart")).map(f => {
			const s = f.querySelector("svg"), p = s.querySelector("path.series"), b = s.getBoundingClientRect();
			return {title: f.querySelector("figcaption").textContent, width: b.width, height: b.height, path: p ? p.getAttribute("d").length : 0};
		})`))
		if err != nil {
			t.Fatal(err)
		}
		titles := []string{}
		for _, c := range charts {
			titles = append(titles, c.Title)
			if c.Width < 300 || c.Height < 30 || c.Path == 0 {
				t.Errorf("chart %q: %vx%v, path of %d bytes", c.Title, c.Width, c.Height, c.Path)
			}
		}
		if !slices.Equal(titles, []string{"Score", "Engagement recency", "Open rate", "Bounce classification", "Bounce rate", "Spam rate"}) {
			t.Errorf("charts %v", titles)
		}
		h1, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("h1").textContent`))
		if err != nil || h1 != target {
			t.Errorf("h1 %q (%v), want %q", h1, err, target)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".alert-list details.alert").length`))
		if err != nil || n != wantAlerts[target] {
			t.Errorf("%d firing alerts shown (%v), want %d", n, err, wantAlerts[target])
		}
		if target != "(parent)" {
			if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.tiers tbody tr, table.pool-history tbody tr").length`)); err != nil || n < 2 {
				t.Errorf("%d rows of tier and pool history (%v), want both", n, err)
			}
		}
		checkClean(t, "account page")
	})

	t.Run("pools", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/pools"), chromedp.WaitVisible(chromedp.CSS("table.pools-summary"))); err != nil {
			t.Fatal(err)
		}
		checkClean(t, "pools page")
	})

	t.Run("without JavaScript", func(t *testing.T) {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		defer chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/accounts/"+url.PathEscape(target)),
			chromedp.WaitVisible(chromedp.CSS("svg.chart-svg path.series"))); err != nil {
			t.Fatal(err)
		}
		if n, err := countNodes(ctx, "figure.chart svg path.series"); err != nil || n != 6 {
			t.Errorf("%d charts without JavaScript (%v)", n, err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.overview"))); err != nil {
			t.Fatal(err)
		}
		if n, err := countNodes(ctx, "tr.row"); err != nil || n != len(rows) {
			t.Errorf("%d rows without JavaScript (%v), want %d", n, err, len(rows))
		}
		if n, err := countNodes(ctx, "tr.row details.alert"); err != nil || n != firing {
			t.Errorf("%d alerts without JavaScript (%v), want %d", n, err, firing)
		}
		checkClean(t, "pages without JavaScript")
	})
}
