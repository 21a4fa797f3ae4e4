package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/sgseq/sgseq/client"
	"github.com/spf13/cobra"
)

// newSubusersCmd returns "sgseq subusers"; its children are "scores" and
// "list".
func newSubusersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subusers",
		Short: "Subusers of the parent account and their SEQ scores",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newSubusersScoresCmd(), newSubusersListCmd())
	return cmd
}

func newSubusersScoresCmd() *cobra.Command {
	var (
		date, format string
		limit        int
		noWait       bool
	)
	cmd := &cobra.Command{
		Use:   "scores",
		Short: "Print every subuser's SEQ score for one day (walks every page)",
		Example: `  sgseq subusers scores
  sgseq subusers scores --date 2026-03-09 -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			d := cliYesterday()
			if date != "" {
				var err error
				if d, err = cliDateFlag("date", date); err != nil {
					return err
				}
			}
			if err := cliScoreDay("date", d); err != nil {
				return err
			}
			if limit < 1 || limit > client.MaxSubuserScoresLimit {
				return fmt.Errorf("invalid --limit %d: want 1 to %d", limit, client.MaxSubuserScoresLimit)
			}
			c, err := cliClient(cmd)
			if err != nil {
				return err
			}
			scores, err := subusersScoresFetch(cmd.Context(), c, d, limit, noWait)
			if err != nil {
				return err
			}
			return writeOutput(cliOut(cmd), format, scoresTable(scores))
		},
	}
	f := cmd.Flags()
	f.StringVar(&date, "date", "", "the day, YYYY-MM-DD UTC (default: yesterday)")
	f.IntVar(&limit, "limit", client.DefaultSubuserScoresLimit, "page size, 1 to 1000 (every page is fetched)")
	f.BoolVar(&noWait, "no-wait", false, "fail at once when scores are not computed yet (202) instead of waiting")
	cliAddOutputFlag(cmd, &format)
	return cmd
}

// subusersScoresFetch walks every page of the subusers' scores for date
// with the client's page walk (which refuses a repeated cursor).
func subusersScoresFetch(ctx context.Context, c *client.Client, date client.Date, limit int, noWait bool) ([]client.Score, error) {
	opts := []client.CallOption{client.PageSize(limit)}
	if noWait {
		opts = append(opts, client.NoWait())
	}
	ctx = cliWaitingFor(ctx, "subuser scores for "+date.String())
	var out []client.Score
	for s, err := range c.SubuserScores(ctx, date, opts...) {
		if err != nil {
			return nil, fmt.Errorf("subuser scores %s: %w", date, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func newSubusersListCmd() *cobra.Command {
	var region, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the parent account's subusers",
		Example: `  sgseq subusers list --in-region eu -o json
  sgseq --region eu subusers list   # through the EU API host`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			switch region {
			case "all", "global", "eu":
			default:
				return fmt.Errorf("invalid --in-region %q: want all, global or eu", region)
			}
			c, err := cliClient(cmd)
			if err != nil {
				return err
			}
			return subusersListRun(cmd.Context(), c, cliOut(cmd), format, region)
		},
	}
	// A filter; --region stays the API host, as for every command.
	cmd.Flags().StringVar(&region, "in-region", "all", "list the subusers of this region: all, global or eu")
	cliAddOutputFlag(cmd, &format)
	return cmd
}

// subusersListRun lists every subuser of region (all, global, eu) to w.
func subusersListRun(ctx context.Context, c *client.Client, w io.Writer, format, region string) error {
	subs := []client.Subuser{}
	for s, err := range c.Subusers(ctx, &client.SubusersOptions{Region: region}) {
		if err != nil {
			return fmt.Errorf("list subusers: %w", err)
		}
		subs = append(subs, s)
	}
	t := tableData{Header: []string{"ID", "USERNAME", "EMAIL", "DISABLED", "REGION"}, JSON: subs,
		CSVHeader: []string{"id", "username", "email", "disabled", "region"}}
	for _, s := range subs {
		row := []string{strconv.FormatInt(s.ID, 10), s.Username, s.Email, strconv.FormatBool(s.Disabled), s.Region}
		t.Rows = append(t.Rows, row)
		t.CSVRows = append(t.CSVRows, row)
	}
	return writeOutput(w, format, t)
}
