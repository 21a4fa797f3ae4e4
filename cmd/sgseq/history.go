package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// monHistoryJSON is one day in "sgseq history -o json".
type monHistoryJSON struct {
	Account  string          `json:"account"`
	Date     client.Date     `json:"date"`
	Score    *float64        `json:"score"`
	Eligible bool            `json:"eligible"`
	Metrics  *client.Metrics `json:"metrics"`
}

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
			cfg, _, err := monLoad(cmd, configPath, false)
			if err != nil {
				return err
			}
			st, err := monOpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			account := args[0]
			all, err := st.History(cmd.Context(), account, client.Date{}, client.Date{})
			if err != nil {
				return err
			}
			if len(all) == 0 {
				if strings.EqualFold(strings.Trim(account, "()"), "parent") && account != alert.ParentAccount {
					return fmt.Errorf("no stored history for %q: the parent account is %q (quote it in a shell: sgseq history '%s')", account, alert.ParentAccount, alert.ParentAccount)
				}
				return fmt.Errorf("no stored history for %q (see \"sgseq status\" for the accounts)", account)
			}
			end := all[len(all)-1].Date
			var hist []history.DayScore
			for _, h := range all {
				if !h.Date.Before(end.AddDays(-(days - 1))) {
					hist = append(hist, h)
				}
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
	js := make([]monHistoryJSON, 0, len(hist))
	for _, h := range hist {
		js = append(js, monHistoryJSON{Account: account, Date: h.Date, Score: h.Score, Eligible: h.Score != nil, Metrics: h.Metrics})
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
	t.JSON = js
	return t
}
