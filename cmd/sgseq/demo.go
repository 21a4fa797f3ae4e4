package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/spf13/cobra"
)

// demoEnv is what each demo section gets: a running simulated account
// (seqtest.DemoAccount ending yesterday), a client for it, a temporary
// directory removed when the demo ends, the output and the demo's "now".
type demoEnv struct {
	Server *seqtest.Server
	Client *client.Client
	Dir    string // temp dir, removed after
	Out    io.Writer
	Now    time.Time
}

// demoSection is one part of "sgseq demo". Orders: 10 client queries, 20
// monitor, 30 IP pools, 40 contact ratings.
type demoSection struct {
	Order int
	Title string
	Run   func(ctx context.Context, env *demoEnv) error
}

// demoAll returns every section of "sgseq demo" in order. Each section's
// Run lives in its own demo_*.go file.
func demoAll() []demoSection {
	return []demoSection{
		{Order: 10, Title: "Client queries: scores, subusers and pools", Run: demoClientQueries},
		{Order: 20, Title: "Monitor: backfill, daily sweeps, Slack alerts", Run: demoMonitor},
		{Order: 30, Title: "IP pools: a grouping plan from subuser scores", Run: demoPools},
		{Order: 40, Title: "Contact ratings from Event Webhook data", Run: demoRating},
	}
}

func newDemoCmd() *cobra.Command {
	var sections string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run sgseq against a simulated SendGrid account (no key, no network)",
		Long: `Start a simulated SendGrid account in-process (36 subusers, 120 days of
scores with drops, metric falls and ineligible days planted in the last 30
days, 8 IPs in 3 pools) and show what sgseq does with it: queries, monitoring,
IP-pool planning and contact ratings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			only, err := demoParseSections(sections)
			if err != nil {
				return err
			}
			return demoRun(cmd.Context(), cmd.OutOrStdout(), only)
		},
	}
	cmd.Flags().StringVar(&sections, "section", "", "run only these sections, e.g. --section 10,30 (10 client queries, 20 monitor, 30 IP pools, 40 contact ratings)")
	return cmd
}

// demoParseSections parses --section: comma-separated section orders,
// each one of demoAll's. The error lists the sections.
func demoParseSections(v string) ([]int, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var only []int
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(part)
		if err != nil || !slices.ContainsFunc(demoAll(), func(s demoSection) bool { return s.Order == n }) {
			return nil, fmt.Errorf("invalid --section %q: want one or more of %s, separated by commas", part, demoSectionList())
		}
		only = append(only, n)
	}
	return only, nil
}

// demoSectionList names the sections: "10 (Client queries…), 20 (…)".
func demoSectionList() string {
	var parts []string
	for _, s := range demoAll() {
		parts = append(parts, fmt.Sprintf("%d (%s)", s.Order, s.Title))
	}
	return strings.Join(parts, ", ")
}

// demoRun runs the registered sections (all, or those in only) against a
// fresh simulated account and writes to out. A failing section is reported
// and the others still run; the error lists the failures.
func demoRun(ctx context.Context, out io.Writer, only []int) error {
	now := cliNow().UTC()
	srv := seqtest.NewServer(seqtest.WithNow(func() time.Time { return now }))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		return fmt.Errorf("demo client: %w", err)
	}
	dir, err := os.MkdirTemp("", "sgseq-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	env := &demoEnv{Server: srv, Client: c, Dir: dir, Out: out, Now: now}

	fmt.Fprintf(out, "sgseq demo: a simulated SendGrid account at %s (scores up to %s)\n",
		srv.URL, client.DateOf(now).AddDays(-1))
	var errs []error
	ran := 0
	for _, s := range demoAll() {
		if len(only) > 0 && !slices.Contains(only, s.Order) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ran++
		heading := fmt.Sprintf("%d. %s", s.Order, s.Title)
		fmt.Fprintf(out, "\n%s\n%s\n\n", heading, strings.Repeat("=", len([]rune(heading))))
		if err := s.Run(ctx, env); err != nil {
			fmt.Fprintf(out, "section failed: %v\n", err)
			errs = append(errs, fmt.Errorf("demo section %q: %w", s.Title, err))
		}
	}
	if ran == 0 {
		return fmt.Errorf("invalid --section %v: want one or more of %s", only, demoSectionList())
	}
	return errors.Join(errs...)
}

// demoClientQueries shows what the query commands print against the
// simulated account, through the same code as the commands themselves.
func demoClientQueries(ctx context.Context, env *demoEnv) error {
	w := env.Out
	end := client.DateOf(env.Now).AddDays(-1)
	step := func(title string, f func() error) error {
		fmt.Fprintf(w, "$ %s\n", title)
		if err := f(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		return nil
	}
	q := scoresQuery{From: end.AddDays(-6), To: end}
	if err := step("sgseq scores   # the parent, last 7 complete days", func() error {
		return scoresRun(ctx, env.Client, w, outputTable, q)
	}); err != nil {
		return err
	}
	q2 := scoresQuery{From: end.AddDays(-17), To: end.AddDays(-11), Subuser: "garden-supply"}
	if err := step(fmt.Sprintf("sgseq scores --subuser garden-supply --from %s --to %s   # ineligible days are never a 0", q2.From, q2.To), func() error {
		return scoresRun(ctx, env.Client, w, outputTable, q2)
	}); err != nil {
		return err
	}
	q3 := scoresQuery{From: end.AddDays(-10), To: end.AddDays(-8), Subuser: "petcare-mail"}
	if err := step(fmt.Sprintf("sgseq scores --subuser petcare-mail --from %s --to %s -o json", q3.From, q3.To), func() error {
		return scoresRun(ctx, env.Client, w, outputJSON, q3)
	}); err != nil {
		return err
	}
	if err := step(fmt.Sprintf("sgseq subusers scores --date %s   # first rows of every page walked", end), func() error {
		scores, err := subusersScoresFetch(ctx, env.Client, end, 10, false)
		if err != nil {
			return err
		}
		t := scoresTable(scores[:min(8, len(scores))])
		t.Footer = []string{fmt.Sprintf("… %d subusers in all (pages of 10)", len(scores))}
		return writeOutput(w, outputTable, t)
	}); err != nil {
		return err
	}
	if err := step("sgseq subusers list --in-region eu", func() error {
		return subusersListRun(ctx, env.Client, w, outputTable, "eu")
	}); err != nil {
		return err
	}
	return step("sgseq pools list", func() error {
		return poolsListRun(ctx, env.Client, w, outputTable)
	})
}
