// Command monitor runs the sgseq monitor once, in-process, through the
// monitor package: it backfills two weeks of scores, sweeps, evaluates the
// rules and prints the notification it would send to Slack.
//
// Without SENDGRID_API_KEY it runs against a simulated account
// (package seqtest, no network); with it, against SendGrid, honouring the
// same environment variables as "sgseq check" (SLACK_WEBHOOK_URL, SGSEQ_DB...).
//
//	go run ./examples/monitor
//	SENDGRID_API_KEY=SG.xxx SGSEQ_DB=/tmp/seq.db go run ./examples/monitor
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.LookupEnv); err != nil {
		log.Fatal(err)
	}
}

// run backfills, sweeps once and writes what it did, and the notification
// text when Slack is not configured, to w. env looks up environment
// variables (os.LookupEnv for the process environment).
func run(ctx context.Context, w io.Writer, env monitor.Env) error {
	opts := []monitor.Option{monitor.WithStdout(w)}
	if key, _ := env(monitor.EnvAPIKey); key == "" {
		// No key: a simulated account with scores falling on known days.
		srv := seqtest.NewServer()
		defer srv.Close()
		dir, err := os.MkdirTemp("", "sgseq-example-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		parent := env
		env = func(key string) (string, bool) {
			switch key {
			case monitor.EnvAPIKey:
				return seqtest.TestAPIKey, true
			case monitor.EnvStorePath:
				return filepath.Join(dir, "sgseq.db"), true
			case monitor.EnvSlackHook, monitor.EnvSlackToken:
				return "", false
			}
			return parent(key)
		}
		opts = append(opts, monitor.WithClientFunc(srv.Client))
		fmt.Fprintln(w, "simulated account at", srv.URL)
	}
	cfg, err := monitor.Load("", env)
	if err != nil {
		return err
	}
	cfg.HTTP.Addr = ""                         // one run: no HTTP server
	cfg.Sweep.PendingBackoff = 2 * time.Second // ask again soon for days not ready
	d, err := monitor.New(ctx, cfg, opts...)
	if err != nil {
		return err
	}
	defer d.Close()

	res, err := d.Sweep(ctx, monitor.SweepOptions{Days: 14, FetchOnly: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "backfilled %d days for %d accounts in %s (%d requests)\n",
		len(res.Fetched), res.Accounts, res.Duration.Round(time.Millisecond), res.Requests)

	// The notification goes to Slack when configured, else to stdout.
	res, err = d.Sweep(ctx, monitor.SweepOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nas of %s: %d alert(s) firing, %d notified, %d resolved\n", res.AsOf, res.Firing, len(res.Alerts), res.Resolved)
	return nil
}
