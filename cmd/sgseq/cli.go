package main

// Shared CLI plumbing for every sgseq command. These names are stable; other
// command files call them:
//
//	cliClient(cmd, opts...) (*client.Client, error)  client from the key, --base-url, --region, logger
//	cliAPIKey(cmd) (secret.Secret, error)            SENDGRID_API_KEY or --api-key-file
//	cliLogger(cmd) *slog.Logger                      --log-level / --log-format, to stderr
//	cliAddOutputFlag(cmd, &format)                   adds -o/--output table|json|csv
//	checkOutputFormat(format) error                  validate -o before doing any work
//	writeOutput(w, format, tableData) error          render a table, JSON or CSV
//	cliDateFlag(name, value string) (client.Date, error)  parse a YYYY-MM-DD flag, error names the flag
//	cliYesterday() client.Date                       the latest complete UTC day
//	cliFloat(v float64) string                       a score as text: 4, 3.5
//
// Persistent flags on the root command (cliAddPersistentFlags):
// --api-key-file, --base-url (env SENDGRID_BASE_URL), --region global|eu,
// --log-level debug|info|warn|error, --log-format text|json.

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/spf13/cobra"
)

// Environment variables the CLI reads.
const (
	envAPIKey  = "SENDGRID_API_KEY"
	envBaseURL = "SENDGRID_BASE_URL"
)

// Output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputCSV   = "csv"
)

// cliAddPersistentFlags adds the flags every command takes to root.
func cliAddPersistentFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.String("api-key-file", "", "read the SendGrid API key from this file (default: $"+envAPIKey+")")
	pf.String("base-url", "", "SendGrid API base URL, e.g. a proxy or \"sgseq sim\" (default: $"+envBaseURL+", else by --region)")
	pf.String("region", string(client.Global), "API region: global or eu")
	pf.String("log-level", "info", "log level: debug, info, warn or error")
	pf.String("log-format", "text", "log format: text or json")
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

// cliLogger returns a slog logger writing to the command's stderr with the
// level and format of --log-level and --log-format (invalid values fall
// back to info and text; cliClient reports them as errors).
func cliLogger(cmd *cobra.Command) *slog.Logger {
	l, _ := cliLoggerE(cmd)
	return l
}

func cliLoggerE(cmd *cobra.Command) (*slog.Logger, error) {
	levelName := cliPersistent(cmd, "log-level")
	format := cliPersistent(cmd, "log-format")
	var errs []error
	var level slog.Level
	switch strings.ToLower(levelName) {
	case "debug":
		level = slog.LevelDebug
	case "", "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", levelName))
	}
	opts := &slog.HandlerOptions{Level: level}
	w := cmd.ErrOrStderr()
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), errors.Join(errs...)
	case "", "text":
	default:
		errs = append(errs, fmt.Errorf("invalid --log-format %q: want text or json", format))
	}
	return slog.New(slog.NewTextHandler(w, opts)), errors.Join(errs...)
}

// cliPersistent returns the value of one of the root's persistent flags.
// It reads the root's flag set, so a subcommand may define a local flag of
// the same name (e.g. "subusers list --region" is a filter) without hiding
// the global one.
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
	if region != string(client.Global) && region != string(client.EU) {
		return nil, fmt.Errorf("invalid --region %q: want global or eu", region)
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
		return nil, errors.New(secret.Scrub(err.Error(), key))
	}
	return c, nil
}

// cliAddOutputFlag adds -o/--output (table, json or csv; default table).
func cliAddOutputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", outputTable, "output format: table, json or csv")
}

// checkOutputFormat validates a -o value.
func checkOutputFormat(format string) error {
	switch format {
	case outputTable, outputJSON, outputCSV:
		return nil
	}
	return fmt.Errorf("invalid --output %q: want table, json or csv", format)
}

// tableData is what a command prints, in every format.
type tableData struct {
	// Header and Rows make the table (and the CSV unless CSVHeader is set).
	Header []string
	Rows   [][]string
	// CSVHeader and CSVRows, when CSVHeader is set, replace Header and
	// Rows for -o csv (e.g. empty cells where the table says "n/a").
	CSVHeader []string
	CSVRows   [][]string
	// JSON is the value printed by -o json. When nil, each row becomes an
	// object keyed by Header.
	JSON any
	// Footer lines are printed after the table only.
	Footer []string
}

// writeOutput renders t to w as a tab-aligned table, a JSON document or
// CSV with a header row.
func writeOutput(w io.Writer, format string, t tableData) error {
	if err := checkOutputFormat(format); err != nil {
		return err
	}
	switch format {
	case outputJSON:
		v := t.JSON
		if v == nil {
			objs := make([]map[string]string, 0, len(t.Rows))
			for _, r := range t.Rows {
				o := make(map[string]string, len(t.Header))
				for i, h := range t.Header {
					if i < len(r) {
						o[h] = r[i]
					}
				}
				objs = append(objs, o)
			}
			v = objs
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outputCSV:
		header, rows := t.Header, t.Rows
		if t.CSVHeader != nil {
			header, rows = t.CSVHeader, t.CSVRows
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
		for _, r := range t.Rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, f := range t.Footer {
			if _, err := fmt.Fprintln(w, f); err != nil {
				return err
			}
		}
		return nil
	}
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

// cliNow is the CLI's clock (UTC days are derived from it).
var cliNow = time.Now

// cliYesterday returns the latest complete UTC day.
func cliYesterday() client.Date { return client.DateOf(cliNow()).AddDays(-1) }

// cliFloat formats a score or metric: 4, 3.5.
func cliFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
