// Command sgseq is the command-line tool for SendGrid Engagement Quality
// (SEQ) scores: it queries the SEQ and account APIs, monitors subusers for
// score drops, plans IP-pool groupings and rates contacts from Event Webhook
// data. Run "sgseq help" for the list of subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// newRootCmd builds a fresh "sgseq" command tree: each run (and each test)
// gets its own flags and state. Each subcommand lives in its own file.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "sgseq",
		Short:         "SendGrid Engagement Quality scores: query, monitor, plan IP pools, rate contacts",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cliAddPersistentFlags(root)
	root.AddCommand(
		newScoresCmd(),
		newSubusersCmd(),
		newPoolsCmd(),
		newMonitorCmd(),
		newCheckCmd(),
		newBackfillCmd(),
		newStatusCmd(),
		newHistoryCmd(),
		newConfigCmd(),
		newRateCmd(),
		newEventsCmd(),
		newSimCmd(),
		newDemoCmd(),
	)
	return root
}

// exitError carries a specific process exit code (for example 1 for "alerts
// fired" from sgseq check) together with an optional error to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes sgseq with args on a fresh command tree and returns the
// process exit code (see report).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return report(stderr, execute(ctx, args, stdout, stderr))
}

// execute runs args on a fresh command tree and returns the command's error.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// report prints err (if any) and returns the process exit code: 0 for
// success, the code of an *exitError, and 2 for any other error.
func report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(w, "sgseq: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(w, "sgseq: %v\n", err)
	return 2
}
