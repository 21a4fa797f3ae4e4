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

// rootCmd is the top-level command. Each subcommand lives in its own file
// and adds itself in that file's init function.
var rootCmd = &cobra.Command{
	Use:           "sgseq",
	Short:         "SendGrid Engagement Quality scores: query, monitor, plan IP pools, rate contacts",
	SilenceUsage:  true,
	SilenceErrors: true,
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
	err := rootCmd.ExecuteContext(ctx)
	stop()
	os.Exit(report(os.Stderr, err))
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
