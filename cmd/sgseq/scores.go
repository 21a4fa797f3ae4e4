package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sgseq/sgseq/client"
	"github.com/spf13/cobra"
)

// scoresQuery is what "sgseq scores" asks for.
type scoresQuery struct {
	From, To  client.Date
	Subuser   string // on-behalf-of <username>
	AccountID string // on-behalf-of account-id <id>
	NoWait    bool   // fail on 202 instead of polling
}

func newScoresCmd() *cobra.Command {
	var (
		from, to, subuser, accountID, format string
		noWait                               bool
	)
	cmd := &cobra.Command{
		Use:   "scores",
		Short: "Print the SEQ scores of the parent account, a subuser or a customer account for a date range",
		Long: `Print one row per day of SendGrid Engagement Quality scores and their five
metrics. Without --from/--to, the last 7 complete UTC days. Days on which
the account was not eligible for a score show "n/a (ineligible)" (JSON:
"eligible": false and no score).

The API key comes from $SENDGRID_API_KEY or --api-key-file.`,
		Example: `  sgseq scores
  sgseq scores --from 2026-03-01 --to 2026-03-07 --subuser acme-news -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			if err := cliExclusive(cmd, "subuser", "account-id"); err != nil {
				return err
			}
			q := scoresQuery{Subuser: subuser, AccountID: accountID, NoWait: noWait}
			q.To = cliYesterday()
			if to != "" {
				d, err := cliDateFlag("to", to)
				if err != nil {
					return err
				}
				q.To = d
			}
			q.From = q.To.AddDays(-6)
			if from != "" {
				d, err := cliDateFlag("from", from)
				if err != nil {
					return err
				}
				q.From = d
			}
			if q.From.After(q.To) {
				return fmt.Errorf("invalid --from %s: after --to %s", q.From, q.To)
			}
			if err := cliScoreDay("to", q.To); err != nil {
				return err
			}
			if err := cliScoreDay("from", q.From); err != nil {
				return err
			}
			c, err := cliClient(cmd)
			if err != nil {
				return err
			}
			return scoresRun(cmd.Context(), c, cliOut(cmd), format, q)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "first day, YYYY-MM-DD UTC (default: 6 days before --to)")
	f.StringVar(&to, "to", "", "last day, YYYY-MM-DD UTC (default: yesterday)")
	f.StringVar(&subuser, "subuser", "", "scores of this subuser (on-behalf-of)")
	f.StringVar(&accountID, "account-id", "", "scores of this customer account (on-behalf-of: account-id)")
	f.BoolVar(&noWait, "no-wait", false, "fail at once when scores are not computed yet (202) instead of waiting")
	cliAddOutputFlag(cmd, &format)
	return cmd
}

// scoresRun fetches q with c and writes it to w in format. The demo calls it
// too.
func scoresRun(ctx context.Context, c *client.Client, w io.Writer, format string, q scoresQuery) error {
	switch {
	case q.Subuser != "":
		c = c.OnBehalfOf(q.Subuser)
	case q.AccountID != "":
		c = c.OnBehalfOfAccount(q.AccountID)
	}
	var opts []client.CallOption
	if q.NoWait {
		opts = append(opts, client.NoWait())
	}
	ctx = cliWaitingFor(ctx, fmt.Sprintf("scores for %s..%s", q.From, q.To))
	scores, err := c.Scores(ctx, q.From, q.To, opts...)
	if err != nil {
		return fmt.Errorf("scores %s..%s: %w", q.From, q.To, err)
	}
	return writeOutput(w, format, scoresTable(scores))
}
