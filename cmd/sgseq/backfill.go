package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor"
)

func newBackfillCmd() *cobra.Command {
	var configPath, format string
	var days int
	var lockWait time.Duration
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Fetch and store the last N days of scores (no detection, no notification)",
		Long: `Fetch every day of the last --days (at most 90, SendGrid's retention) that
the store does not hold yet, for the parent and the monitored subusers, and
store it. Scores are fetched at once while the subusers are listed. A day
answered 202 (not ready) is asked again after about 1s, 2s, 4s...
(sweep.pending_*) while the other days go on; a day, page or range that
fails (5xx, 429, a cut-off body, a timeout) after the client's retries is
asked again later in the run (sweep.retries). One failure never stops the
others: everything else is stored, and what is still missing is listed
(exit status 3; the next run fetches it). A progress bar is drawn on stderr
when it is a terminal.

-o json prints {"as_of","accounts","fetched","pending","failed","missing",
"requests","duration_seconds"} (fetched, pending, failed: lists of
YYYY-MM-DD; missing: [{"scope","date","reason","error"}]).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != outputJSON {
				return cliFormatError(format, "text or json")
			}
			if days < 1 || days > monitor.MaxWindowDays {
				return fmt.Errorf("invalid --days %d: want 1 to %d", days, monitor.MaxWindowDays)
			}
			cfg, logger, lease, err := monLoadLocked(cmd, configPath, lockWait)
			if err != nil {
				return err
			}
			defer lease.Release()
			d, err := monDaemon(cmd.Context(), cfg, logger, cmd.OutOrStdout(), monitor.WithoutPoolDetector())
			if err != nil {
				return err
			}
			defer d.Close()
			opts := monitor.SweepOptions{Days: days, FetchOnly: true}
			var bar *monProgress
			if monIsTerminal(cmd.ErrOrStderr()) {
				bar = &monProgress{w: cmd.ErrOrStderr()}
				opts.Progress = bar.update
			}
			res, err := d.Sweep(cmd.Context(), opts)
			if bar != nil {
				bar.done()
			}
			if err != nil && !monitor.IsIncomplete(err) {
				return err
			}
			out := cmd.OutOrStdout()
			if format == outputJSON {
				if err := writeJSON(out, monBackfillJSONOf(res)); err != nil {
					return err
				}
				return backfillMissing(io.Discard, res, err)
			}
			fmt.Fprintln(out, monBackfillLine(res, days, cfg.Store.RetentionDays))
			return backfillMissing(out, res, err)
		},
	}
	monAddConfigFlag(cmd, &configPath)
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	monAddLockFlag(cmd, &lockWait)
	cmd.Flags().IntVar(&days, "days", monitor.MaxWindowDays, "number of days to fill, ending yesterday (1-90)")
	return cmd
}

// monBackfillJSON is the output of "sgseq backfill -o json".
type monBackfillJSON struct {
	AsOf     client.Date          `json:"as_of"`
	Accounts int                  `json:"accounts"`
	Fetched  []client.Date        `json:"fetched"`
	Pending  []client.Date        `json:"pending"`
	Failed   []client.Date        `json:"failed"`
	Missing  []monitor.MissingDay `json:"missing"`
	Requests int64                `json:"requests"`
	Seconds  float64              `json:"duration_seconds"`
}

func monBackfillJSONOf(res *monitor.SweepResult) monBackfillJSON {
	nonNil := func(d []client.Date) []client.Date {
		if d == nil {
			return []client.Date{}
		}
		return d
	}
	missing := res.Missing
	if missing == nil {
		missing = []monitor.MissingDay{}
	}
	return monBackfillJSON{AsOf: res.AsOf, Accounts: res.Accounts, Fetched: nonNil(res.Fetched), Pending: nonNil(res.Pending),
		Failed: nonNil(res.Failed), Missing: missing, Requests: res.Requests, Seconds: res.Duration.Seconds()}
}

// monBackfillLine is the summary line of "sgseq backfill" (and the demo's).
func monBackfillLine(res *monitor.SweepResult, days, retentionDays int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "backfilled %d day(s) for %d accounts up to %s in %s (%d requests)",
		len(res.Fetched), res.Accounts, res.AsOf, res.Duration.Round(time.Millisecond), res.Requests)
	if len(res.Pending) > 0 {
		fmt.Fprintf(&b, "; %d day(s) not ready yet (202): run again later", len(res.Pending))
	}
	if r := retentionDays; r > 0 && days > r {
		fmt.Fprintf(&b, "; only the last %d day(s): store.retention_days is %d", r, r)
	}
	return b.String()
}

// backfillMissing lists what a backfill left missing on w and returns the
// exit error for it (nil when nothing is missing). err is the sweep's
// error, an incomplete fetch (monitor.IsIncomplete) or nil.
func backfillMissing(w io.Writer, res *monitor.SweepResult, err error) error {
	if len(res.Missing) == 0 && err == nil {
		return nil
	}
	days := map[client.Date]bool{}
	if len(res.Missing) > 0 {
		fmt.Fprintln(w, "missing (the next run fetches them):")
	}
	for _, m := range res.Missing {
		days[m.Date] = true
		fmt.Fprintf(w, "  %s  %-8s  %s: %s\n", m.Date, m.Scope, m.Reason, m.Error)
	}
	msg := fmt.Sprintf("%d day(s) missing, run again to fetch them", len(days))
	if err != nil {
		msg += ": " + err.Error()
	}
	return &exitError{code: exitPartial, err: errors.New(msg)}
}

// monIsTerminal reports whether w is a terminal.
func monIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// monProgress draws a one-line progress bar.
type monProgress struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

func (p *monProgress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total <= 0 {
		return
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
	p.drawn = true
}

func (p *monProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
