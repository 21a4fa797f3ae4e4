package main

// Shared CLI plumbing for every sgseq command. These names are stable; other
// command files call them:
//
//	cliClient(cmd, opts...) (*client.Client, error)  client from the key, --base-url, --region, logger
//	cliAPIKey(cmd) (secret.Secret, error)            SENDGRID_API_KEY or --api-key-file
//	cliLogger(cmd) *slog.Logger                      --log-level / --log-format / --quiet, to stderr
//	cliAddOutputFlag(cmd, &format)                   adds -o/--output table|wide|json|csv and --no-headers (output.go)
//	checkOutputFormat(format) error                  validate -o before doing any work (output.go)
//	writeOutput(cliOut(cmd), format, tableData) error  render a table, JSON or CSV (output.go)
//	cliDateFlag(name, value string) (client.Date, error)  parse a YYYY-MM-DD flag, error names the flag
//	cliScoreDay(name string, d client.Date) error    refuse a day SendGrid has no score for (today, future, > 90 days)
//	cliExclusive(cmd, names...) error                at most one of these flags
//	cliCheckOutPath(flag, path string) error         an --out file that can be written, before any work
//	cliWaitingFor(ctx, what) context.Context         name what a wait message says is not ready (progress.go)
//	cliYesterday() client.Date                       the latest complete UTC day
//	cliFloat(v float64) string                       a score as text: 4, 3.5
//
// Persistent flags on the root command (cliAddPersistentFlags):
// --api-key-file, --base-url (env SENDGRID_BASE_URL), --region global|eu,
// --log-level debug|info|warn|error, --log-format text|json, -q/--quiet.
// Commands that call SendGrid also take --timeout (main.go).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/logging"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Environment variables the CLI reads.
const (
	envAPIKey  = "SENDGRID_API_KEY"
	envBaseURL = "SENDGRID_BASE_URL"
	envConfig  = "SGSEQ_CONFIG"
)

// Regions of --region.
var cliRegions = []string{string(client.Global), string(client.EU)}

// cliAddPersistentFlags adds the flags every command takes to root.
func cliAddPersistentFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.String("api-key-file", "", "read the SendGrid API key from this file (default: $"+envAPIKey+")")
	pf.String("base-url", "", "SendGrid API base URL, e.g. a proxy or \"sgseq sim\" (default: $"+envBaseURL+", else by --region)")
	pf.String("region", string(client.Global), "SendGrid API host: global (api.sendgrid.com) or eu (api.eu.sendgrid.com)")
	pf.String("log-level", "", "log level: debug, info, warn or error (default: warn when stderr is a terminal, else info; the daemons: info)")
	pf.String("log-format", "text", "log format: text or json")
	pf.BoolP("quiet", "q", false, "print errors only: no log lines below error, no progress messages")
}

// cliAPIKey returns the API key: the contents of --api-key-file (trimmed)
// when the flag is set, else $SENDGRID_API_KEY. There is deliberately no
// flag that takes the key itself (it would show in ps and shell history).
func cliAPIKey(cmd *cobra.Command) (secret.Secret, error) {
	path := cliPersistent(cmd, "api-key-file")
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read --api-key-file %q: %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && secret.ReadableByOthers(fi) {
			fmt.Fprintf(cmd.ErrOrStderr(), "sgseq: warning: --api-key-file %s is readable by group or others (mode %04o): chmod 600 %s\n", path, fi.Mode().Perm(), path)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("--api-key-file %q is empty", path)
		}
		return secret.Secret(key), nil
	}
	if key := strings.TrimSpace(os.Getenv(envAPIKey)); key != "" {
		return secret.Secret(key), nil
	}
	return "", fmt.Errorf("no API key: set %s or pass --api-key-file", envAPIKey)
}

// cliDaemon reports whether cmd runs until stopped (sgseq monitor, sgseq
// sim): those log at info by default and show no progress messages.
func cliDaemon(cmd *cobra.Command) bool {
	return cmd.Annotations[annotationDaemon] == "true"
}

// annotationDaemon marks the long-running commands (see cliDaemon).
const annotationDaemon = "sgseq/daemon"

// cliQuiet reports whether --quiet was given.
func cliQuiet(cmd *cobra.Command) bool { return cliPersistent(cmd, "quiet") == "true" }

// cliLevel returns the log level of cmd: --log-level when given; else
// error with --quiet; else configured (the config's log.level, "" for
// info), lowered to warn for an interactive command whose stderr is a
// terminal (so that a summary is not buried under info lines).
func cliLevel(cmd *cobra.Command, configured string) (slog.Level, error) {
	if cmd.Root().PersistentFlags().Changed("log-level") {
		name := cliPersistent(cmd, "log-level")
		l, err := logging.ParseLevel(name)
		if err != nil {
			return slog.LevelInfo, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", name)
		}
		return l, nil
	}
	if cliQuiet(cmd) {
		return slog.LevelError, nil
	}
	l, err := logging.ParseLevel(configured)
	if err != nil {
		return slog.LevelInfo, err
	}
	if l == slog.LevelInfo && !cliDaemon(cmd) && monIsTerminal(cmd.ErrOrStderr()) {
		l = slog.LevelWarn
	}
	return l, nil
}

// cliLogger returns a slog logger writing to the command's stderr with the
// level of cliLevel and the format of --log-format (invalid values fall
// back to info and text; cliClient reports them as errors).
func cliLogger(cmd *cobra.Command) *slog.Logger {
	l, _ := cliLoggerE(cmd)
	return l
}

func cliLoggerE(cmd *cobra.Command) (*slog.Logger, error) {
	var errs []error
	level, err := cliLevel(cmd, "")
	if err != nil {
		errs = append(errs, err)
	}
	format := cliPersistent(cmd, "log-format")
	opts := &slog.HandlerOptions{Level: level}
	w := cmd.ErrOrStderr()
	var h slog.Handler
	switch strings.ToLower(format) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	default:
		errs = append(errs, fmt.Errorf("invalid --log-format %q: want text or json", format))
		h = slog.NewTextHandler(w, opts)
	}
	return cliWrapLogger(cmd, slog.New(h)), errors.Join(errs...)
}

// cliWrapLogger adds the progress messages of long waits to an interactive
// command's logger and drops the log record of an error the command
// reports itself (see progress.go). A daemon's logger is returned as is.
func cliWrapLogger(cmd *cobra.Command, l *slog.Logger) *slog.Logger {
	if cliDaemon(cmd) {
		return l
	}
	return slog.New(&cliHandler{
		inner:           l.Handler(),
		mu:              &sync.Mutex{},
		w:               cmd.ErrOrStderr(),
		tty:             monIsTerminal(cmd.ErrOrStderr()),
		progress:        !cliQuiet(cmd),
		dropSweepFailed: true,
		now:             time.Now,
	})
}

// cliPersistent returns the value of one of the root's persistent flags.
func cliPersistent(cmd *cobra.Command, name string) string {
	f := cmd.Root().PersistentFlags().Lookup(name)
	if f == nil {
		f = cmd.Flags().Lookup(name)
	}
	if f == nil {
		return ""
	}
	return f.Value.String()
}

// cliCheckRegion validates a --region value.
func cliCheckRegion(region string) error {
	for _, r := range cliRegions {
		if region == r {
			return nil
		}
	}
	return fmt.Errorf("invalid --region %q: want %s", region, strings.Join(cliRegions, " or "))
}

// cliClient builds a client from the key (see cliAPIKey), --base-url or
// $SENDGRID_BASE_URL, --region and the logger. opts are applied last.
func cliClient(cmd *cobra.Command, opts ...client.Option) (*client.Client, error) {
	logger, err := cliLoggerE(cmd)
	if err != nil {
		return nil, err
	}
	key, err := cliAPIKey(cmd)
	if err != nil {
		return nil, err
	}
	region := cliPersistent(cmd, "region")
	if region == "" {
		region = string(client.Global)
	}
	if err := cliCheckRegion(region); err != nil {
		return nil, err
	}
	base := []client.Option{client.WithRegion(client.Region(region)), client.WithLogger(logger)}
	baseURL := cliPersistent(cmd, "base-url")
	if baseURL == "" {
		baseURL = os.Getenv(envBaseURL)
	}
	if baseURL != "" {
		base = append(base, client.WithBaseURL(baseURL))
	}
	c, err := client.New(key.Reveal(), append(base, opts...)...)
	if err != nil {
		return nil, secret.ScrubError(err, key)
	}
	return c, nil
}

// cliDateFlag parses the YYYY-MM-DD value of flag name; the error names
// the flag.
func cliDateFlag(name, value string) (client.Date, error) {
	d, err := client.ParseDate(strings.TrimSpace(value))
	if err != nil {
		return client.Date{}, fmt.Errorf("invalid --%s %q: want a date as YYYY-MM-DD", name, value)
	}
	return d, nil
}

// cliScoreDay refuses, naming flag name, a day SendGrid cannot have a
// score for: today (UTC) or later, since a day's score is computed after
// the day ends, or a day older than SendGrid keeps scores.
func cliScoreDay(name string, d client.Date) error {
	today := client.DateOf(cliNow())
	latest := today.AddDays(-1)
	oldest := today.AddDays(-client.RetentionDays)
	switch {
	case d == today:
		return fmt.Errorf("invalid --%s %s: that is today (UTC), which has no score yet: SendGrid computes a day's score after the day ends (the latest is %s)", name, d, latest)
	case d.After(today):
		return fmt.Errorf("invalid --%s %s: that is in the future (today is %s UTC); the latest day with a score is %s", name, d, today, latest)
	case d.Before(oldest):
		return fmt.Errorf("invalid --%s %s: SendGrid keeps %d days of scores; the oldest day it has is %s", name, d, client.RetentionDays, oldest)
	}
	return nil
}

// cliExclusive returns an error naming the flags when more than one of
// names was given.
func cliExclusive(cmd *cobra.Command, names ...string) error {
	var set []string
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			set = append(set, "--"+n)
		}
	}
	if len(set) > 1 {
		return fmt.Errorf("%s cannot be used together: pass one of them", strings.Join(set, " and "))
	}
	return nil
}

// cliCheckOutPath checks, before any work, that the file of flag (e.g.
// "out") can be written at path: not a directory, in a directory that
// exists. The error names the flag and the path as given. "-" and "" (no
// file) pass.
func cliCheckOutPath(flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("--%s %s: is a directory; give the path of a file", flag, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--%s %s: directory %s does not exist", flag, path, dir)
	case err != nil:
		return fmt.Errorf("--%s %s: %w", flag, path, errors.Unwrap(err))
	case !fi.IsDir():
		return fmt.Errorf("--%s %s: %s is not a directory", flag, path, dir)
	}
	return nil
}

// cliNow is the CLI's clock (UTC days are derived from it).
var cliNow = time.Now

// cliYesterday returns the latest complete UTC day.
func cliYesterday() client.Date { return client.DateOf(cliNow()).AddDays(-1) }

// cliFloat formats a score or metric: 4, 3.5.
func cliFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// cliContextTimeout is the cause of a context ended by --timeout.
type cliContextTimeout struct{ d time.Duration }

func (e *cliContextTimeout) Error() string { return fmt.Sprintf("--timeout %s", e.d) }

// cliTimedOut reports the --timeout that ended ctx, if that is what did.
func cliTimedOut(ctx context.Context) (time.Duration, bool) {
	var t *cliContextTimeout
	if ctx != nil && errors.As(context.Cause(ctx), &t) {
		return t.d, true
	}
	return 0, false
}

// cliFlagError rewrites the flag parser's errors in the user's words: an
// invalid value names the flag and what it wants (never a strconv
// message); the others point at --help.
func cliFlagError(cmd *cobra.Command, err error) error {
	var ive *pflag.InvalidValueError
	if errors.As(err, &ive) {
		f := ive.GetFlag()
		return fmt.Errorf("invalid --%s %q: %s", f.Name, ive.GetValue(), cliFlagWant(f))
	}
	var vre *pflag.ValueRequiredError
	if errors.As(err, &vre) {
		if f := vre.GetFlag(); f != nil {
			return fmt.Errorf("--%s needs a value (see \"%s --help\")", f.Name, cmd.CommandPath())
		}
	}
	return fmt.Errorf("%w (see \"%s --help\")", err, cmd.CommandPath())
}

// cliFlagWant says what kind of value a flag takes.
func cliFlagWant(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "int64", "int32", "uint", "uint64":
		return "want a whole number"
	case "intSlice", "int64Slice", "uintSlice":
		return "want whole numbers separated by commas"
	case "float64", "float32":
		return "want a number"
	case "duration":
		return "want a duration such as 90s, 5m or 1h30m"
	case "bool":
		return "want true or false"
	}
	return "see --help for the accepted values"
}
