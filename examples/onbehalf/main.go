// Command onbehalf prints one subuser's SEQ scores for the last 14 complete
// days, calling the scores endpoint with the parent's key and the
// on-behalf-of header, and names the metric that fell most.
//
//	SENDGRID_API_KEY=SG.xxx go run ./examples/onbehalf -subuser acme-news
//	go run ./examples/onbehalf -sim -subuser petcare-mail
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
		fmt.Fprintln(os.Stderr, "onbehalf:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("onbehalf", flag.ContinueOnError)
	sim := fs.Bool("sim", false, "query a simulated account started in-process instead of SendGrid")
	subuser := fs.String("subuser", "", "the subuser's username (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *subuser == "" {
		return fmt.Errorf("-subuser is required")
	}
	c, done, err := newClient(*sim)
	if err != nil {
		return err
	}
	defer done()

	to := client.Today().AddDays(-1)
	// OnBehalfOf returns a copy that sends "on-behalf-of: <subuser>" and
	// shares the parent client's connections and rate limiter.
	scores, err := c.OnBehalfOf(*subuser).Scores(ctx, to.AddDays(-13), to)
	if err != nil {
		return err
	}
	var first, last *client.Score
	for i, s := range scores {
		v, ok := s.Value()
		if !ok {
			fmt.Fprintf(w, "%s %s  not eligible\n", s.Date, s.Username)
			continue
		}
		fmt.Fprintf(w, "%s %s  %g\n", s.Date, s.Username, v)
		if first == nil {
			first = &scores[i]
		}
		last = &scores[i]
	}
	if first == nil || first == last {
		return nil
	}
	worst, fall := client.Metric(""), 0.0
	for _, m := range client.AllMetrics {
		a, _ := first.Metrics.Get(m)
		b, _ := last.Metrics.Get(m)
		if a-b > fall {
			worst, fall = m, a-b
		}
	}
	if worst == "" {
		fmt.Fprintf(w, "no metric fell between %s and %s\n", first.Date, last.Date)
	} else {
		fmt.Fprintf(w, "largest fall: %s by %g between %s and %s\n", worst, fall, first.Date, last.Date)
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
