package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/notify"
)

// checkJSON is the stable output of "sgseq check -o json".
type checkJSON struct {
	// Alerts holds one object per alert that fired, was reminded or
	// resolved in this run.
	Alerts []alert.Alert `json:"alerts"`
}

func newCheckCmd() *cobra.Command {
	var configPath, format string
	var dryRun bool
	var lockWait time.Duration
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run one sweep, detection and notification, then exit (for cron jobs)",
		Long: `Run one sweep: fetch the missing days, store them, run the detection rules
and notify, exactly as one run of "sgseq monitor".

--dry-run detects and prints, but notifies nobody and changes no stored
alert state (the scores fetched are stored): the alerts listed are what a
real run would send now. Use it for a first run with Slack configured,
which would otherwise post every standing alert.

On a terminal the text output is wrapped to its width; -o wide leaves the
lines whole.

Days that still fail after the run's retries (5xx, 429, cut-off bodies,
timeouts) are left for the next run; detection uses the days stored, and
the missing days are reported: as the error (exit 3) when no alert is
firing, as a warning on stderr when alerts fire (exit 1). Days SendGrid has
not computed yet (202) are normal: they are asked again next run. An
error, including a failed notification, and another check, backfill or
monitor holding the store (see --lock-wait), exits 2.

-o json prints exactly {"alerts":[...]} on stdout: one object per alert that
fired, was reminded or resolved in this run, with the fields key, account,
rule, metric, severity, state, reminder, date, from, to, since, message,
advice. The log notifier (no Slack configured) then writes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != outputWide && format != outputJSON {
				return cliFormatError(format, "text, wide or json")
			}
			cfg, logger, err := monLoad(cmd, configPath, true)
			if err != nil {
				return err
			}
			cfg.HTTP.Addr = ""
			lease, err := monLock(cmd.Context(), &cfg, lockWait, logger)
			if err != nil {
				return err
			}
			defer lease.Release()
			var out io.Writer = cmd.OutOrStdout()
			if format == "text" {
				lw := &lineWrapper{w: out, width: cliTerminalWidth(out)}
				defer lw.Flush()
				out = lw
			}
			sink := out
			if format == outputJSON {
				sink = cmd.ErrOrStderr()
			}
			d, err := monDaemon(cmd.Context(), cfg, logger, sink)
			if err != nil {
				return err
			}
			defer d.Close()
			res, err := d.Sweep(cmd.Context(), monitor.SweepOptions{DryRun: dryRun})
			if err != nil && !monitor.IsIncomplete(err) {
				return monSlackHint(err)
			}
			incomplete := err // days missing after the run's retries: detection ran on the rest
			if format == outputJSON {
				alerts := res.Alerts
				if alerts == nil {
					alerts = []alert.Alert{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(checkJSON{Alerts: alerts}); err != nil {
					return err
				}
			} else if dryRun {
				if len(res.Alerts) > 0 || len(res.TierChanges) > 0 {
					fmt.Fprintf(out, "dry run: a real run would send:\n%s\n", notify.Text(notify.Message{Date: res.AsOf, Alerts: res.Alerts, TierChanges: res.TierChanges}))
				}
				fmt.Fprintf(out, "dry run: checked %d accounts as of %s: %d alert(s) would be firing; would notify %d, resolve %d; nothing sent, no alert state changed",
					res.Accounts, res.AsOf, res.Firing, len(res.Alerts), res.Resolved)
				if len(res.Pending) > 0 {
					fmt.Fprintf(out, "; %d day(s) not ready yet (202)", len(res.Pending))
				}
				fmt.Fprintln(out)
			} else {
				fmt.Fprintf(out, "checked %d accounts as of %s: %d alert(s) firing; notified %d, resolved %d",
					res.Accounts, res.AsOf, res.Firing, res.Delivered, res.Resolved)
				if len(res.Pending) > 0 {
					fmt.Fprintf(out, "; %d day(s) not ready yet (202), asked again next run", len(res.Pending))
				}
				fmt.Fprintln(out)
			}
			if res.Firing > 0 {
				if incomplete != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "sgseq: warning: %s\n", checkMissingText(res, incomplete))
				}
				return &exitError{code: exitFiring}
			}
			if incomplete != nil {
				return &exitError{code: exitPartial, err: errors.New(checkMissingText(res, incomplete))}
			}
			return nil
		},
	}
	monAddConfigFlag(cmd, &configPath)
	monAddLockFlag(cmd, &lockWait)
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text, wide (text, lines not wrapped) or json")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "detect and print, but notify nobody and change no alert state")
	return cmd
}

// monSlackHint adds what to check to a Slack delivery error whose cause
// is the configuration (channel or credentials); other errors pass
// through. errors.Is/As still see the original error.
func monSlackHint(err error) error {
	switch {
	case errors.Is(err, notify.ErrChannelNotFound):
		return fmt.Errorf("%w (check $%s / notify.slack.channel: use the channel ID, and invite the bot to the channel)", err, monitor.EnvSlackChan)
	case errors.Is(err, notify.ErrAuth):
		return fmt.Errorf("%w (check the bot token or webhook URL, and the bot's chat:write scope)", err)
	case errors.Is(err, notify.ErrUnexpectedResponse):
		return fmt.Errorf("%w (something other than Slack answered: check the webhook URL or $%s, and any proxy on the way)", err, monitor.EnvSlackAPIURL)
	}
	return err
}

// checkMissingText says which days a check could not fetch (detection ran
// on the rest; the next run fetches them).
func checkMissingText(res *monitor.SweepResult, err error) string {
	days := map[client.Date]bool{}
	for _, m := range res.Missing {
		days[m.Date] = true
	}
	return fmt.Sprintf("%d day(s) could not be fetched and were left for the next run (detection used the days stored): %v", len(days), err)
}
