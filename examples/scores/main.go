// Command scores prints the parent account's SEQ scores for the last 7
// complete UTC days.
//
//	SENDGRID_API_KEY=SG.xxx go run ./examples/scores
//	go run ./examples/scores -sim      # against an in-process simulated account
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scores:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("scores", flag.ContinueOnError)
	sim := fs.Bool("sim", false, "query a simulated account started in-process instead of SendGrid")
	days := fs.Int("days", 7, "number of complete days to print")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *days < 1 || *days > 90 {
		return fmt.Errorf("-days %d: want 1 to 90", *days)
	}
	c, done, err := newClient(*sim)
	if err != nil {
		return err
	}
	defer done()

	to := client.Today().AddDays(-1) // today's scores are not computed yet
	from := to.AddDays(-(*days - 1))
	scores, err := c.Scores(ctx, from, to)
	if err != nil {
		return err
	}
	for _, s := range scores {
		v, ok := s.Value()
		if !ok {
			fmt.Fprintf(w, "%s  not eligible (open tracking off or under 1,000 messages in 30 days)\n", s.Date)
			continue
		}
		fmt.Fprintf(w, "%s  score %g  engagement_recency %g  open_rate %g  bounce_classification %g  bounce_rate %g  spam_rate %g\n",
			s.Date, v, s.Metrics.EngagementRecency, s.Metrics.OpenRate, s.Metrics.BounceClassification, s.Metrics.BounceRate, s.Metrics.SpamRate)
	}
	return nil
}

// newClient returns a client for SendGrid (key from SENDGRID_API_KEY) or,
// with sim, for a simulated account; done releases it.
func newClient(sim bool) (*client.Client, func(), error) {
	if sim {
		srv := seqtest.NewServer()
		c, err := srv.Client()
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		return c, srv.Close, nil
	}
	key := os.Getenv("SENDGRID_API_KEY")
	if key == "" {
		return nil, nil, fmt.Errorf("set SENDGRID_API_KEY, or pass -sim")
	}
	c, err := client.New(key)
	return c, func() {}, err
}
