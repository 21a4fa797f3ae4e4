// Command quickstart is the SDK quick start of the README, as a program
// that compiles and is tested: the parent's last week of scores, every
// subuser's score for yesterday, one subuser and one customer account
// on behalf of the parent, and the errors to tell apart.
//
//	SENDGRID_API_KEY=SG.xxx go run ./examples/quickstart
//	go run ./examples/quickstart -sim      # against an in-process simulated account
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

func main() {
	sim := flag.Bool("sim", false, "query a simulated account started in-process instead of SendGrid")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, opts := os.Getenv("SENDGRID_API_KEY"), []client.Option(nil)
	if *sim {
		srv := seqtest.NewServer()
		defer srv.Close()
		key, opts = seqtest.TestAPIKey, []client.Option{client.WithBaseURL(srv.URL)}
	}
	if err := quickStart(ctx, os.Stdout, key, opts...); err != nil {
		log.Fatal(err)
	}
}

// quickStart is quoted by README.md from "README begin" to "README end"
// (main_test.go checks that the two agree).
func quickStart(ctx context.Context, w io.Writer, apiKey string, opts ...client.Option) error {
	// README begin
	c, err := client.New(apiKey, opts...) // opts: client.WithRegion(client.EU), client.WithHTTPClient(hc), ...
	if err != nil {
		return err
	}
	// A day's score exists once the day is over (UTC): yesterday is the latest.
	yesterday := client.Today().AddDays(-1)

	// The parent's last week. A day without a score (open tracking off, or under
	// 1,000 messages in 30 days) has Eligible() == false: it never reads as 0.
	scores, err := c.Scores(ctx, yesterday.AddDays(-6), yesterday)
	if err != nil {
		return err
	}
	for _, s := range scores {
		if v, ok := s.Value(); ok {
			fmt.Fprintln(w, s.Date, v, s.Metrics.SpamRate)
		}
	}

	// Every subuser's score for one day; pages are fetched as the loop goes.
	for s, err := range c.SubuserScores(ctx, yesterday) {
		if err != nil {
			return err
		}
		fmt.Fprintln(w, s.Username, s.Eligible())
	}

	// One subuser with the parent's key (on-behalf-of).
	sub, err := c.OnBehalfOf("garden-supply").Scores(ctx, yesterday, yesterday)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "garden-supply:", len(sub), "day(s)")

	// A customer account (on-behalf-of: account-id), and the errors to tell apart.
	_, err = c.Scores(ctx, yesterday, yesterday, client.AccountID("12345"))
	var apiErr *client.APIError
	switch {
	case err == nil:
	case errors.Is(err, client.ErrScoresPending): // 202 and polling gave up (or client.NoWait())
	case errors.Is(err, client.ErrUnauthorized): // also ErrForbidden, ErrNotFound, ErrRateLimited
	case errors.As(err, &apiErr): // status, SendGrid's error list, error id, rate-limit state
		fmt.Fprintln(w, "account 12345:", apiErr.StatusCode)
	default:
		return err
	}
	// README end
	return nil
}
