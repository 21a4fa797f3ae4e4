// Command subusers walks every subuser's SEQ score for yesterday (UTC),
// page by page, and prints a line per subuser and a summary.
//
//	SENDGRID_API_KEY=SG.xxx go run ./examples/subusers
//	go run ./examples/subusers -sim
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "subusers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("subusers", flag.ContinueOnError)
	sim := fs.Bool("sim", false, "query a simulated account started in-process instead of SendGrid")
	below := fs.Float64("below", 0, "print only subusers scoring at or below this (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, done, err := newClient(*sim)
	if err != nil {
		return err
	}
	defer done()

	date := client.Today().AddDays(-1)
	total, ineligible := 0, 0
	// SubuserScores follows the after_key cursor across every page.
	for s, err := range c.SubuserScores(ctx, date) {
		if err != nil {
			return err
		}
		total++
		v, ok := s.Value()
		switch {
		case !ok:
			ineligible++
			if *below == 0 {
				fmt.Fprintf(w, "%-20s not eligible\n", s.Username)
			}
		case *below == 0 || v <= *below:
			fmt.Fprintf(w, "%-20s %g\n", s.Username, v)
		}
	}
	fmt.Fprintf(w, "%s: %d subusers, %d not eligible\n", date, total, ineligible)
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
