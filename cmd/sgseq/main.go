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
	"strconv"
	"strings"
	"syscall"
	"time"
	// The time zone database, embedded: a CRON_TZ=Europe/Paris schedule
	// works where the system has no zoneinfo (scratch, distroless, alpine).
	_ "time/tzdata"

	"github.com/spf13/cobra"
)

// newRootCmd builds a fresh "sgseq" command tree: each run (and each test)
// gets its own flags and state. Each subcommand lives in its own file.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sgseq",
		Short: "SendGrid Engagement Quality scores: query, monitor, plan IP pools, rate contacts",
		Long: `sgseq queries SendGrid Engagement Quality (SEQ) scores, monitors subusers
for score drops (SQLite history, Slack), plans IP pools by score and rates
contacts from Event Webhook data.

The API key comes from $SENDGRID_API_KEY or --api-key-file. The monitor's
config file is --config, else $SGSEQ_CONFIG, else
$XDG_CONFIG_HOME/sgseq/sgseq.yaml or ~/.config/sgseq/sgseq.yaml when it
exists, else the defaults and the environment.

` + completionHelp(),
		Version:       readVersion().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return cliStartTimeout(cmd)
		},
	}
	root.Annotations = map[string]string{"sgseq/version": readVersion().String()}
	root.SetVersionTemplate(`{{with .Annotations}}{{index . "sgseq/version"}}{{end}}`)
	root.SetFlagErrorFunc(cliFlagError)
	root.CompletionOptions.DisableDefaultCmd = true
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
		newServeCmd(),
		newConfigCmd(),
		newRateCmd(),
		newEventsCmd(),
		newSimCmd(),
		newDemoCmd(),
		newVersionCmd(),
		newCompletionCmd(),
	)
	cliAddTimeoutFlags(root)
	cliMarkDaemons(root)
	addCompletions(root)
	addExitCodeHelp(root)
	cliUsageOnArgErrors(root)
	cliParentCommands(root)
	return root
}

// cliParentCommands makes each command that only groups others (sgseq
// pools, subusers, config) print its help when run alone and refuse an
// unknown subcommand with exit 2, as the root does.
func cliParentCommands(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c == root || c.Runnable() || !c.HasSubCommands() {
			return
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return cliUnknownCommand(cmd, args[0])
		}
	}
	walk(root)
}

// cliUnknownCommand is the error for an unknown subcommand name of cmd,
// with the nearest names.
func cliUnknownCommand(cmd *cobra.Command, name string) error {
	hint := ""
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		hint = " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return fmt.Errorf("unknown command %q for %q%s; see \"%s --help\"", name, cmd.CommandPath(), hint, cmd.CommandPath())
}

// cliUsageOnArgErrors adds the usage line to the errors of the commands'
// argument checks ("accepts 1 arg(s), received 0" alone does not say which).
func cliUsageOnArgErrors(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Args == nil {
			return
		}
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return fmt.Errorf("%w (usage: %s)", err, cmd.UseLine())
			}
			return nil
		}
	}
	walk(root)
}

// cliTimeouts are the commands that call SendGrid, with the default of
// their --timeout. The daemon (sgseq monitor) is not here: each of its
// sweeps has its own budget.
var cliTimeouts = map[string]time.Duration{
	"sgseq scores":          2 * time.Minute,
	"sgseq subusers scores": 2 * time.Minute,
	"sgseq subusers list":   2 * time.Minute,
	"sgseq pools list":      2 * time.Minute,
	"sgseq pools plan":      2 * time.Minute,
	"sgseq pools apply":     2 * time.Minute,
	// A sweep asks again for days answered 202 (sweep.pending_retries,
	// waits of 30s doubling): its budget covers those rounds.
	"sgseq check":    10 * time.Minute,
	"sgseq backfill": 30 * time.Minute,
}

// cliAddTimeoutFlags adds --timeout to the commands of cliTimeouts.
func cliAddTimeoutFlags(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if d, ok := cliTimeouts[c.CommandPath()]; ok {
			c.Flags().Duration("timeout", d, "give up after this long, e.g. 30s, 5m (0: no limit)")
		}
	}
	walk(root)
}

// cliMarkDaemons annotates the commands that run until stopped.
func cliMarkDaemons(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() == "monitor" || c.Name() == "sim" {
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[annotationDaemon] = "true"
		}
	}
}

// runState is what execute learns from the command that ran.
type runState struct {
	ctx context.Context // the command's context, with its --timeout
}

type runStateKey struct{}

// cliStartTimeout gives the command's context the deadline of --timeout
// (when the command has one and it is not 0).
func cliStartTimeout(cmd *cobra.Command) error {
	if cmd.Flags().Lookup("timeout") == nil {
		return nil
	}
	d, err := cmd.Flags().GetDuration("timeout")
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("invalid --timeout %s: want a positive duration, or 0 for no limit", d)
	}
	if d == 0 {
		return nil
	}
	parent := cmd.Context()
	ctx, cancel := context.WithTimeoutCause(parent, d, &cliContextTimeout{d: d})
	// execute cancels parent when the command returns, which releases the
	// timer.
	context.AfterFunc(parent, cancel)
	cmd.SetContext(ctx)
	if rs, ok := parent.Value(runStateKey{}).(*runState); ok {
		rs.ctx = ctx
	}
	return nil
}

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

// execute runs args on a fresh command tree and returns the command's
// error; an error caused by --timeout says so.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rs := &runState{}
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.DisableSuggestions = true // cliUnknownCommand suggests, on one line
	err := root.ExecuteContext(context.WithValue(ctx, runStateKey{}, rs))
	if name, ok := strings.CutPrefix(fmt.Sprint(err), "unknown command "); ok && err != nil && strings.HasSuffix(name, ` for "sgseq"`) {
		if n, err2 := strconv.Unquote(name[:strings.Index(name+" ", " ")]); err2 == nil {
			err = cliUnknownCommand(root, n)
		}
	}
	if d, ok := cliTimedOut(rs.ctx); ok && err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("gave up after --timeout %s (raise it, or --timeout 0 for no limit): %w", d, err)
	}
	return err
}

// report prints err (if any) once, as "sgseq: …", and returns the process
// exit code (exitcodes.go).
func report(w io.Writer, err error) int {
	code := exitCodeOf(err)
	if err == nil {
		return code
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return code
	}
	fmt.Fprintf(w, "sgseq: %v\n", err)
	return code
}
