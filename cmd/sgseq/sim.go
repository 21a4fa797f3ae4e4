package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/spf13/cobra"
)

// simOptions are the flags of "sgseq sim".
type simOptions struct {
	addr      string
	pending   int
	rateLimit string
	faults    float64
	seed      int64
	hostile   bool
}

func newSimCmd() *cobra.Command {
	var o simOptions
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve the simulated SendGrid account over HTTP until interrupted",
		Long: `Serve the demo account of "sgseq demo" (36 subusers, 120 days of scores
ending yesterday, IPs and pools) on --addr so that any client can use it:
curl, your own code, or sgseq itself with --base-url. It accepts one API
key, printed at start-up. Stop it with Ctrl-C (SIGINT) or SIGTERM.

--hostile serves seqtest's Hostile preset (see docs/seqtest.md): latency
100-300 ms, 20 requests per 2 s on each Engagement Quality endpoint, days
answering 202 once or twice, and about 21% of GET requests answered with a
5xx (JSON or a proxy's HTML page), a 429 (with and without Retry-After), a
200 cut off with a matching Content-Length, reset mid-body, stalled 2 s
half-way, or an HTML page. --seed seeds it; --pending, --rate-limit and
--faults given with it override its settings.`,
		Example: `  sgseq sim --addr 127.0.0.1:8080 --rate-limit 10/s --pending 1 --faults 0.05
  sgseq sim --hostile --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return simRun(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	f.IntVar(&o.pending, "pending", 0, "answer each scores request 202 this many times before 200")
	f.StringVar(&o.rateLimit, "rate-limit", "", `rate limit per API key, as N/s, N/m, N/h or N/<duration> (e.g. 10/s, 600/1m); empty: none`)
	f.Float64Var(&o.faults, "faults", 0, "fraction (0..1) of GET requests answered 500, 502, 503 or 429")
	f.Int64Var(&o.seed, "seed", 1, "seed of the injected faults")
	f.BoolVar(&o.hostile, "hostile", false, "serve the hostile preset: latency, per-endpoint rate limits, 202s, 5xx/429, cut, reset, slow and HTML bodies")
	return cmd
}

// simParseRate parses "N/s", "N/m", "N/h" or "N/<duration>".
func simParseRate(s string) (int, time.Duration, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	limit, err := strconv.Atoi(n)
	if !ok || err != nil || limit < 1 {
		return 0, 0, fmt.Errorf("invalid --rate-limit %q: want N/s, N/m, N/h or N/<duration> with N ≥ 1", s)
	}
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		d, err = time.ParseDuration(per)
		if err != nil || d < time.Second {
			return 0, 0, fmt.Errorf("invalid --rate-limit %q: the window must be s, m, h or a duration of at least 1s", s)
		}
	}
	return limit, d, nil
}

// simRun serves until ctx ends.
func simRun(ctx context.Context, cmd *cobra.Command, o simOptions) error {
	if o.faults < 0 || o.faults > 1 {
		return fmt.Errorf("invalid --faults %v: want a fraction between 0 and 1", o.faults)
	}
	if o.pending < 0 {
		return fmt.Errorf("invalid --pending %d: want 0 or more", o.pending)
	}
	var opts []seqtest.Option
	if o.hostile {
		opts = append(opts, seqtest.Hostile(o.seed))
	}
	opts = append(opts, seqtest.WithPending(o.pending))
	if o.rateLimit != "" {
		limit, per, err := simParseRate(o.rateLimit)
		if err != nil {
			return err
		}
		opts = append(opts, seqtest.WithRateLimit(limit, per))
	}
	if o.faults > 0 {
		opts = append(opts, seqtest.WithFaults(o.faults, o.seed))
	}
	srv, err := seqtest.NewServerAt(o.addr, opts...)
	if err != nil {
		return err
	}
	defer srv.Close()
	simBanner(cmd.OutOrStdout(), srv.URL, client.DateOf(cliNow()).AddDays(-1))
	cliLogger(cmd).Info("simulated SendGrid account serving", "url", srv.URL, "pending", o.pending,
		"rate_limit", o.rateLimit, "faults", o.faults, "hostile", o.hostile)
	<-ctx.Done()
	st := srv.Stats()
	cliLogger(cmd).Info("simulated SendGrid account stopped", "requests", st.Requests, "throttled", st.Throttled)
	return nil
}

// simBanner prints how to use the running simulator.
func simBanner(w io.Writer, url string, end client.Date) {
	fmt.Fprintf(w, `Simulated SendGrid account listening on %[1]s
API key: %[2]s   (the only key it accepts; scores up to %[3]s)

Try:
  curl -H "Authorization: Bearer %[2]s" "%[1]s/v3/engagementquality/scores?from=%[4]s&to=%[3]s"
  SENDGRID_API_KEY=%[2]s sgseq --base-url %[1]s subusers scores --date %[3]s

Press Ctrl-C to stop.
`, url, seqtest.TestAPIKey, end, end.AddDays(-6))
}
