package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/status"
)

// monHistoryJSON is one day in "sgseq history -o json".
type monHistoryJSON = status.Day

func newHistoryCmd() *cobra.Command {
	var configPath, format string
	var days int
	cmd := &cobra.Command{
		Use:   "history ACCOUNT",
		Short: "Show an account's stored daily scores and metrics",
		Long: `Show the stored daily SEQ scores and five metrics of ACCOUNT (a subuser's
username, or "(parent)" for the parent account) over the last --days days
ending at its newest stored day. A day without a score is shown as
"ineligible" (table), null (json) or empty cells (csv), never 0.

-o json prints [{"account","date","score","eligible","metrics"}] with metrics
{engagement_recency, open_rate, bounce_classification, bounce_rate,
spam_rate} or null. -o csv columns: account,date,score,eligible,
engagement_recency,open_rate,bounce_classification,bounce_rate,spam_rate.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			if days < 1 {
				return fmt.Errorf("invalid --days %d: want 1 or more", days)
			}
			st, err := monOpenConfigStore(cmd, configPath)
			if err != nil {
				return err
			}
			defer st.Close()
			account := args[0]
			hist, err := status.History(cmd.Context(), st, account, days)
			if err != nil {
				return err
			}
			return writeOutput(cliOut(cmd), format, monHistoryTable(account, hist))
		},
	}
	monAddConfigFlag(cmd, &configPath)
	cliAddOutputFlag(cmd, &format)
	cmd.Flags().IntVar(&days, "days", 30, "number of days to show, ending at the newest stored day")
	return cmd
}

func monHistoryTable(account string, hist []history.DayScore) tableData {
	t := tableData{
		Header: []string{"DATE", "SCORE", "ENGAGEMENT", "OPEN", "BOUNCE_CLASS", "BOUNCE_RATE", "SPAM"},
		CSVHeader: []string{"account", "date", "score", "eligible", "engagement_recency", "open_rate",
			"bounce_classification", "bounce_rate", "spam_rate"},
	}
	for _, h := range hist {
		row := []string{h.Date.String(), monScoreText(h.Score, "ineligible")}
		csvRow := []string{account, h.Date.String(), monScoreText(h.Score, ""), fmt.Sprint(h.Score != nil)}
		for _, m := range client.AllMetrics {
			v, cell := "-", ""
			if h.Metrics != nil {
				x, _ := h.Metrics.Get(m)
				v, cell = cliFloat(x), cliFloat(x)
			}
			row = append(row, v)
			csvRow = append(csvRow, cell)
		}
		t.Rows = append(t.Rows, row)
		t.CSVRows = append(t.CSVRows, csvRow)
	}
	t.JSON = status.Days(account, hist)
	return t
}
