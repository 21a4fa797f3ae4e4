package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

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
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run one sweep, detection and notification, then exit (for cron jobs)",
		Long: `Run one sweep: fetch the missing days, store them, run the detection rules
and notify, exactly as one run of "sgseq monitor".

Exit status: 0 when no alert is firing, 1 when at least one alert is firing
after the run (notified now or earlier), 2 on an error (including a failed
notification).

-o json prints exactly {"alerts":[...]} on stdout: one object per alert that
fired, was reminded or resolved in this run, with the fields key, account,
rule, metric, severity, state, reminder, date, from, to, since, message,
advice. The log notifier (no Slack configured) then writes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("invalid --output %q: want text or json", format)
			}
			cfg, logger, err := monLoad(cmd, configPath, true)
			if err != nil {
				return err
			}
			cfg.HTTP.Addr = ""
			sink := cmd.OutOrStdout()
			if format == "json" {
				sink = cmd.ErrOrStderr()
			}
			d, err := monDaemon(cmd.Context(), cfg, logger, sink)
			if err != nil {
				return err
			}
			defer d.Close()
			res, err := d.Sweep(cmd.Context(), monitor.SweepOptions{})
			if err != nil {
				return monSlackHint(err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				alerts := res.Alerts
				if alerts == nil {
					alerts = []alert.Alert{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(checkJSON{Alerts: alerts}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "checked %d accounts as of %s: %d alert(s) firing; notified %d, resolved %d",
					res.Accounts, res.AsOf, res.Firing, res.Delivered, res.Resolved)
				if len(res.Pending) > 0 {
					fmt.Fprintf(out, "; %d day(s) not ready yet (202), asked again next run", len(res.Pending))
				}
				fmt.Fprintln(out)
			}
			if res.Firing > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	monAddConfigFlag(cmd, &configPath)
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
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
