package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

// exampleNow pins "today" for the examples: the simulated account's latest
// scores are for 2026-03-09.
var exampleNow = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

// newExampleServer starts the simulated SendGrid account the examples run
// against; with a real account use client.New(os.Getenv("SENDGRID_API_KEY")).
func newExampleServer(opts ...seqtest.Option) *seqtest.Server {
	return seqtest.NewServer(append([]seqtest.Option{seqtest.WithNow(func() time.Time { return exampleNow })}, opts...)...)
}

func ExampleNew() {
	// The key never prints: the client shows REDACTED instead.
	c, err := client.New("SG.example-key", client.WithRegion(client.EU))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.BaseURL())
	fmt.Printf("%v\n", c)

	_, err = client.New("")
	fmt.Println(err)
	// Output:
	// https://api.eu.sendgrid.com
	// client.Client{baseURL: "https://api.eu.sendgrid.com", key: REDACTED}
	// client: empty API key
}

func ExampleClient_Scores() {
	srv := newExampleServer()
	defer srv.Close()
	c, err := client.New(seqtest.TestAPIKey,
		client.WithBaseURL(srv.URL),
		client.WithNow(func() time.Time { return exampleNow }))
	if err != nil {
		log.Fatal(err)
	}

	to := client.MustParseDate("2026-03-09")
	scores, err := c.Scores(context.Background(), to.AddDays(-3), to)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range scores {
		if v, ok := s.Value(); ok {
			fmt.Printf("%s %s score %.0f (spam rate %.0f)\n", s.Date, s.Username, v, s.Metrics.SpamRate)
		} else {
			fmt.Printf("%s %s not eligible\n", s.Date, s.Username)
		}
	}
	// Output:
	// 2026-03-06 sgseq-demo score 4 (spam rate 4)
	// 2026-03-07 sgseq-demo score 3 (spam rate 4)
	// 2026-03-08 sgseq-demo score 3 (spam rate 4)
	// 2026-03-09 sgseq-demo score 3 (spam rate 4)
}

func ExampleClient_SubuserScores() {
	srv := newExampleServer()
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	// The iterator fetches pages of 1,000 as needed.
	var eligible, ineligible int
	var low []string
	for s, err := range c.SubuserScores(context.Background(), client.MustParseDate("2026-03-09")) {
		if err != nil {
			log.Fatal(err)
		}
		v, ok := s.Value()
		switch {
		case !ok:
			ineligible++ // no score that day: not a zero
		case v <= 2:
			eligible++
			low = append(low, s.Username)
		default:
			eligible++
		}
	}
	fmt.Println("eligible:", eligible, "not eligible:", ineligible)
	fmt.Println("score 2 or less:", low)
	// Output:
	// eligible: 34 not eligible: 2
	// score 2 or less: [lastminute-travel]
}

func ExampleClient_OnBehalfOf() {
	srv := newExampleServer()
	defer srv.Close()
	parent, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	day := client.MustParseDate("2026-03-09")

	// A copy that sends "on-behalf-of: petcare-mail" on every call; it
	// shares the parent's connections and rate limiter.
	petcare := parent.OnBehalfOf("petcare-mail")
	scores, err := petcare.Scores(ctx, day, day)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(scores[0].Username, *scores[0].Score, scores[0].Metrics.SpamRate)

	// Or per call, for a subuser or a customer account.
	scores, err = parent.Scores(ctx, day, day, client.AsSubuser("bookworm-club"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(scores[0].Username, *scores[0].Score, scores[0].Metrics.OpenRate)
	// Output:
	// petcare-mail 3 1
	// bookworm-club 5 3
}

func ExampleAPIError() {
	srv := newExampleServer(seqtest.WithPending(1))
	defer srv.Close()
	ctx := context.Background()
	day := client.MustParseDate("2026-03-09")

	// A wrong key: the *APIError carries the status and SendGrid's message.
	bad, err := client.New("SG.wrong-key", client.WithBaseURL(srv.URL), client.WithNow(func() time.Time { return exampleNow }))
	if err != nil {
		log.Fatal(err)
	}
	_, err = bad.Scores(ctx, day, day)
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Message(), errors.Is(err, client.ErrUnauthorized))
	}

	// Scores not computed yet (202): with NoWait the call returns at once.
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Scores(ctx, day, day, client.NoWait())
	fmt.Println(errors.Is(err, client.ErrScoresPending))

	// Arguments are checked before any request.
	_, err = c.Scores(ctx, day, day.AddDays(5))
	var ve *client.ValidationError
	fmt.Println(errors.As(err, &ve), ve.Field, err)
	// Output:
	// 401 authorization required true
	// true
	// true to invalid "to" (2026-03-14): "to" cannot be in the future
}

func ExampleClient_AllSubusers() {
	srv := newExampleServer()
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	// Pages of 10, four at a time after the first.
	subs, err := c.AllSubusers(context.Background(), &client.SubusersOptions{Limit: 10}, 4)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(subs), subs[0].Username)
	// Output:
	// 36 shopfront-tx
}

func ExampleWithPollHook() {
	srv := newExampleServer(seqtest.WithPendingDates(map[client.Date]int{client.MustParseDate("2026-03-09"): 2}))
	defer srv.Close()
	c, err := srv.Client(
		client.WithPollPolicy(client.PollPolicy{MinWait: time.Millisecond, MaxWait: 4 * time.Millisecond}),
		client.WithPollHook(func(e client.PollEvent) {
			// A real program would print e.Wait too: "asking again in 4s".
			fmt.Printf("scores for %s not ready (202), attempt %d\n", e.Date, e.Attempt)
		}))
	if err != nil {
		log.Fatal(err)
	}
	d := client.MustParseDate("2026-03-09")
	scores, err := c.Scores(context.Background(), d, d)
	fmt.Println(len(scores), err)
	// Output:
	// scores for 2026-03-09 not ready (202), attempt 1
	// scores for 2026-03-09 not ready (202), attempt 2
	// 1 <nil>
}

func ExampleBodyError() {
	srv := newExampleServer(seqtest.WithFaultMix(seqtest.Faults{CutBody: 1}))
	defer srv.Close()
	c, err := srv.Client(client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}
	// Every answer is cut off: retried, then reported.
	_, err = c.SubuserScoresPage(context.Background(), client.MustParseDate("2026-03-09"), nil)
	var be *client.BodyError
	if errors.As(err, &be) {
		// A complete HTTP exchange (Content-Length matches), broken JSON.
		fmt.Println(be.StatusCode, be.Attempts, be.Read == be.ContentLength, be.Offset == be.Read, be.Err)
	}
	// Output:
	// 200 3 true true unexpected end of JSON input
}
