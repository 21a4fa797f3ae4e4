package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/monitor/status"
)

// monTrendDays is the length of the status trend.
const monTrendDays = status.TrendDays

// monStatusJSON is one account in "sgseq status -o json".
type monStatusJSON = status.Account

func newStatusCmd() *cobra.Command {
	var configPath, format string
	var firingOnly bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every monitored account's latest score, 7-day trend and firing alerts (from the store)",
		Long: `Show, from the store (no API call), every account's latest stored score, its
trend over the 7 days ending at the newest stored day (a sparkline
▁▂▃▄▅▆▇█ on a terminal, the values otherwise; "·" or "-" for a day without
a score) and its firing alerts.

-o json prints [{"account","date","score","eligible","trend","alerts"}]
(score null when ineligible; trend oldest first, null for a day without a
score; alerts as in "sgseq check -o json"). -o csv prints the columns
account,date,score,eligible,trend,alerts (trend values space-separated,
alert keys semicolon-separated). --firing lists only the accounts with a
firing alert.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			st, err := monOpenConfigStore(cmd, configPath)
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := monStatus(cmd.Context(), st)
			if err != nil {
				return err
			}
			if firingOnly {
				rows = monFiringOnly(rows)
			}
			return monWriteStatus(cliOut(cmd), format, rows, monIsTerminal(cmd.OutOrStdout()))
		},
	}
	monAddConfigFlag(cmd, &configPath)
	cliAddOutputFlag(cmd, &format)
	cmd.Flags().BoolVar(&firingOnly, "firing", false, "only the accounts with firing alerts")
	return cmd
}

// monStatus reads the status of every stored account.
func monStatus(ctx context.Context, st status.Source) ([]monStatusJSON, error) {
	return status.Read(ctx, st)
}

// monFiringOnly keeps the rows with at least one firing alert.
func monFiringOnly(rows []monStatusJSON) []monStatusJSON {
	out := make([]monStatusJSON, 0, len(rows))
	for _, r := range rows {
		if len(r.Alerts) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// monSparkline renders scores 1-5 as ▁..█, "·" for a day without a score.
func monSparkline(v []*float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	r := []rune(bars)
	var b strings.Builder
	for _, p := range v {
		if p == nil {
			b.WriteRune('·')
			continue
		}
		i := int(math.Round((min(max(*p, 1), 5) - 1) / 4 * float64(len(r)-1)))
		b.WriteRune(r[i])
	}
	return b.String()
}

// monTrendText renders scores as "5 5 4 - 3".
func monTrendText(v []*float64) string {
	parts := make([]string, len(v))
	for i, p := range v {
		if p == nil {
			parts[i] = "-"
		} else {
			parts[i] = cliFloat(*p)
		}
	}
	return strings.Join(parts, " ")
}

func monScoreText(p *float64, none string) string {
	if p == nil {
		return none
	}
	return cliFloat(*p)
}

func monWriteStatus(w io.Writer, format string, rows []monStatusJSON, tty bool) error {
	t := tableData{
		Header:    []string{"ACCOUNT", "DATE", "SCORE", "TREND", "ALERTS"},
		CSVHeader: []string{"account", "date", "score", "eligible", "trend", "alerts"},
		JSON:      rows,
	}
	firing := 0
	for _, r := range rows {
		trend := monTrendText(r.Trend)
		if tty {
			trend = monSparkline(r.Trend)
		}
		var keys, descr []string
		for _, a := range r.Alerts {
			keys = append(keys, a.Key)
			d := string(a.Rule)
			if a.Metric != "" {
				d += ":" + string(a.Metric)
			}
			descr = append(descr, d+" ("+string(a.Severity)+")")
		}
		firing += len(r.Alerts)
		al := strings.Join(descr, ", ")
		if al == "" {
			al = "-"
		}
		t.Rows = append(t.Rows, []string{r.Account, r.Date.String(), monScoreText(r.Score, "ineligible"), trend, al})
		t.CSVRows = append(t.CSVRows, []string{r.Account, r.Date.String(), monScoreText(r.Score, ""), fmt.Sprint(r.Eligible),
			monTrendText(r.Trend), strings.Join(keys, ";")})
	}
	t.Footer = []string{fmt.Sprintf("%d accounts, %d alert(s) firing", len(rows), firing)}
	return writeOutput(w, format, t)
}
