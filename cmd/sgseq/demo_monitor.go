package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/notify"
)

// monDemoDays is how many daily sweeps the demo replays.
const monDemoDays = 7

// monDemoNotifier renders each message as the Slack plain-text fallback
// (notify.Text) without the advice lines, to keep the demo short.
type monDemoNotifier struct {
	w     io.Writer
	quiet bool
	keys  []string
}

func (n *monDemoNotifier) Name() string { return "demo" }

func (n *monDemoNotifier) Notify(_ context.Context, m notify.Message) ([]string, error) {
	var keys []string
	for _, a := range m.Alerts {
		keys = append(keys, a.Key)
	}
	n.keys = keys
	if n.quiet {
		return keys, nil
	}
	fmt.Fprintf(n.w, "--- Slack message for %s ---\n", m.Date)
	for _, line := range strings.Split(strings.TrimRight(notify.Text(m), "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Advice:") || strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintln(n.w, line)
	}
	return keys, nil
}

// demoMonitor backfills the demo account into a store in env.Dir, sweeps
// the last week day by day as the daemon would (its clock moved back),
// prints each day's Slack message and ends with the status table.
func demoMonitor(ctx context.Context, env *demoEnv) error {
	out := env.Out
	end := client.DateOf(env.Now).AddDays(-1)
	start := end.AddDays(-monDemoDays)
	clock := start.AddDays(1).Time().Add(6 * time.Hour)
	now := func() time.Time { return clock }

	cfg := monitor.DefaultConfig()
	cfg.SendGrid.APIKey = "demo"
	cfg.Store.Path = filepath.Join(env.Dir, "monitor.db")
	cfg.HTTP.Addr = ""
	cfg.Notify.RepeatInterval = 14 * 24 * time.Hour // no reminders in a one-week replay
	cfg.Sweep.PendingBackoff = time.Millisecond
	n := &monDemoNotifier{w: out, quiet: true}
	d, err := monitor.New(ctx, cfg, monitor.WithClientFunc(env.Server.Client), monitor.WithClock(now), monitor.WithNotifier(n))
	if err != nil {
		return err
	}
	defer d.Close()

	fmt.Fprintf(out, "$ sgseq backfill --days 30      (as of %s)\n", start)
	res, err := d.Sweep(ctx, monitor.SweepOptions{Days: 30, FetchOnly: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, monBackfillLine(res, 30, cfg.Store.RetentionDays))
	res, err = d.Sweep(ctx, monitor.SweepOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "first check as of %s: %d alerts already firing (%s)\n", start, res.Firing, monDemoKeys(n.keys))

	fmt.Fprintf(out, "\n$ sgseq monitor   (daily sweeps %s .. %s, Slack messages as plain text, advice omitted)\n", start.AddDays(1), end)
	n.quiet = false
	for day := start.AddDays(1); !day.After(end); day = day.AddDays(1) {
		clock = day.AddDays(1).Time().Add(6 * time.Hour)
		n.keys = nil
		if _, err := d.Sweep(ctx, monitor.SweepOptions{}); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "\n$ sgseq status --firing\n")
	rows, err := monStatus(ctx, d.Store())
	if err != nil {
		return err
	}
	firing := monFiringOnly(rows)
	if err := monWriteStatus(out, outputTable, firing, false); err != nil {
		return err
	}
	fmt.Fprintf(out, "(%d other accounts have no firing alert; \"sgseq history ACCOUNT\" shows the daily metrics)\n", len(rows)-len(firing))
	return monDemoPage(ctx, out, d)
}

// monDemoPage serves the daemon's status pages on a loopback port while
// the section runs, fetches the overview to show it works, and says how to
// see the pages afterwards.
func monDemoPage(ctx context.Context, out io.Writer, d *monitor.Daemon) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status page: %s", resp.Status)
	}
	fmt.Fprintf(out, "\n$ open %s/   (the status page sgseq monitor serves on http.addr, here while this section runs)\n", base)
	fmt.Fprintf(out, "GET / → %d, %d KB: %d accounts worst first, 30-day sparklines, firing alerts with advice; also /accounts/{account}, /api/v1/status (and /pools with pools.enabled)\n",
		resp.StatusCode, len(body)/1024, strings.Count(string(body), `<tr class="row `))
	fmt.Fprintln(out, "To browse it yourself: run \"sgseq sim\" and point SENDGRID_API_KEY / SENDGRID_BASE_URL at it, then")
	fmt.Fprintln(out, "\"sgseq backfill\" and \"sgseq serve\" (read-only, from the store), and open http://127.0.0.1:9464/")
	return nil
}

// monDemoKeys lists the accounts of alert keys, briefly.
func monDemoKeys(keys []string) string {
	seen := map[string]bool{}
	var accts []string
	for _, k := range keys {
		a, _, _ := strings.Cut(k, "/")
		if !seen[a] {
			seen[a] = true
			accts = append(accts, a)
		}
	}
	slices.Sort(accts)
	if len(accts) == 0 {
		return "none"
	}
	return strings.Join(accts, ", ")
}
