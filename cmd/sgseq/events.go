package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/events"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/rating"
)

const (
	envEventsDir     = "SGSEQ_EVENTS_DIR"
	envWebhookKey    = "SENDGRID_WEBHOOK_PUBLIC_KEY"
	envEventsAuth    = "SGSEQ_EVENTS_BASIC_AUTH"
	eventsDefaultAdr = "127.0.0.1:8025"
)

func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Receive SendGrid's signed Event Webhook into a durable, deduplicated event store",
		Long: `The events commands keep an event store: "serve" is the Event Webhook receiver
(signed posts verified, answered 2xx once durable), "import" loads event
files, "export" prints every stored event once, "stats" summarises the store
and "prune" bounds it. "sgseq rate --events DIR" rates from the store,
incrementally. The store directory is --dir, else $` + envEventsDir + `, else
$XDG_STATE_HOME/sgseq/events (~/.local/state/sgseq/events). See docs/events.md.`,
	}
	cmd.AddCommand(newEventsServeCmd(), newEventsImportCmd(), newEventsExportCmd(), newEventsStatsCmd(), newEventsPruneCmd())
	return cmd
}

// eventsLoggerDir is the logger of cmd's flags and the store directory of
// --dir (eventsDir), for the commands that write to the store.
func eventsLoggerDir(cmd *cobra.Command, dir string) (*slog.Logger, string, error) {
	logger, err := cliLoggerE(cmd)
	if err != nil {
		return nil, "", err
	}
	d, err := eventsDir(dir)
	return logger, d, err
}

// eventsDir resolves the store directory: --dir, $SGSEQ_EVENTS_DIR, or the
// default under the user's state directory.
func eventsDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if d := os.Getenv(envEventsDir); d != "" {
		return d, nil
	}
	return events.DefaultDir()
}

// eventsExisting resolves the directory of a store that must exist.
func eventsExisting(flag string) (string, error) {
	dir, err := eventsDir(flag)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "ID")); err != nil {
		return "", fmt.Errorf("no event store in %s (run \"sgseq events serve\" or \"sgseq events import\" first)", dir)
	}
	return dir, nil
}

func newEventsServeCmd() *cobra.Command {
	var addr, dir, keyFile, authFile string
	var maxAge time.Duration
	var maxBody int64
	var insecure bool
	var maxConns int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Event Webhook receiver",
		Long: `Serve receives SendGrid's Event Webhook. It prints "listening on http://ADDR"
first on stdout (--addr with port 0 picks a free port).

Verification keys: $` + envWebhookKey + ` (base64 DER as SendGrid shows it;
several comma-separated, one per webhook) or --public-key-file (one per line,
or PEM). Basic auth: $` + envEventsAuth + ` or --basic-auth-file, as
user:password. With neither keys nor basic auth it refuses to start, unless
--insecure-no-auth is given with a loopback --addr.

Answers: 200 once the batch's new events are fsynced; 401 bad basic auth; 403
missing or bad signature; 400 not a JSON array of objects; 413 over
--max-body; 503 the store cannot take it. GET /healthz, /readyz, /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, d, err := eventsLoggerDir(cmd, dir)
			if err != nil {
				return err
			}
			cfg := events.ReceiverConfig{MaxAge: maxAge, MaxBody: maxBody, Logger: logger}
			if cfg.Keys, err = eventsKeys(keyFile); err != nil {
				return err
			}
			if cfg.User, cfg.Password, err = eventsBasicAuth(authFile); err != nil {
				return err
			}
			if len(cfg.Keys) == 0 && cfg.User == "" {
				if !insecure {
					return fmt.Errorf("events serve: no verification key ($%s or --public-key-file) and no basic auth ($%s or --basic-auth-file): refusing to accept unauthenticated events (--insecure-no-auth allows it on a loopback address)", envWebhookKey, envEventsAuth)
				}
				if !eventsLoopback(addr) {
					return fmt.Errorf("events serve: --insecure-no-auth needs a loopback --addr (127.0.0.1, ::1 or localhost), not %q", addr)
				}
				cfg.Insecure = true
			}
			var rc *events.Receiver
			store, err := events.Open(d, events.Options{Logger: logger, OnCommit: func(n int, took time.Duration) {
				if rc != nil {
					rc.ObserveCommit(n, took)
				}
			}})
			if err != nil {
				return fmt.Errorf("events serve: %w", err)
			}
			defer store.Close()
			if rc, err = events.NewReceiver(store, cfg); err != nil {
				return fmt.Errorf("events serve: %w", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("events serve: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s\n", ln.Addr())
			logger.Info("events: receiver started", "addr", ln.Addr().String(), "dir", d, "events", store.Len(),
				"keys", len(cfg.Keys), "basic_auth", cfg.User != "")
			return eventsServe(cmd.Context(), ln, rc, maxConns)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", eventsDefaultAdr, "listen address (port 0: a free port)")
	cmd.Flags().StringVar(&dir, "dir", "", "event store directory (default: $"+envEventsDir+", else under the user's state directory)")
	cmd.Flags().StringVar(&keyFile, "public-key-file", "", "verification keys, one per line (base64 DER) or PEM (default: $"+envWebhookKey+")")
	cmd.Flags().StringVar(&authFile, "basic-auth-file", "", "require HTTP basic auth: a file holding user:password (default: $"+envEventsAuth+")")
	cmd.Flags().DurationVar(&maxAge, "max-age", 0, "reject batches whose signed timestamp is further than this from now (default: accept any correctly signed batch)")
	cmd.Flags().Int64Var(&maxBody, "max-body", events.DefaultMaxBody, "request size limit in bytes (413 above)")
	cmd.Flags().BoolVar(&insecure, "insecure-no-auth", false, "accept unsigned, unauthenticated posts (loopback --addr only)")
	cmd.Flags().IntVar(&maxConns, "max-conns", 256, "concurrent connections at most")
	return cmd
}

func eventsKeys(file string) ([]events.PublicKey, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --public-key-file: %w", err)
		}
		keys, err := events.ParsePublicKeys(string(b))
		if err != nil {
			return nil, fmt.Errorf("--public-key-file %s: %w", file, err)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("--public-key-file %s holds no key", file)
		}
		return keys, nil
	}
	keys, err := events.ParsePublicKeys(os.Getenv(envWebhookKey))
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", envWebhookKey, err)
	}
	return keys, nil
}

func eventsBasicAuth(file string) (string, secret.Secret, error) {
	v, src := os.Getenv(envEventsAuth), "$"+envEventsAuth
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("read --basic-auth-file: %w", err)
		}
		v, src = strings.TrimSpace(string(b)), "--basic-auth-file "+file
	}
	if v == "" {
		return "", "", nil
	}
	user, pass, ok := strings.Cut(v, ":")
	if !ok || user == "" || pass == "" {
		return "", "", fmt.Errorf("%s: want user:password", src)
	}
	return user, secret.Secret(pass), nil
}

func eventsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// eventsServe serves rc on ln until ctx ends, then shuts down gracefully
// (requests in flight get their answer).
func eventsServe(ctx context.Context, ln net.Listener, rc http.Handler, maxConns int) error {
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limitListener(ln, maxConns)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("events serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("events serve: shutdown: %w", err)
	}
	return nil
}

// limitListener accepts at most n connections at a time (as
// golang.org/x/net/netutil.LimitListener).
func limitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, sem: make(chan struct{}, n)}
}

type limitedListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func newEventsImportCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "import [--dir DIR] FILE...",
		Short: "Load event files into the store (deduplicated by sg_event_id)",
		Long: `Import loads existing event files: every input "sgseq rate" reads (JSON
arrays as posted, NDJSON or a JSON array spanning lines, CSV with a header;
.gz by extension; - for stdin). Each file is checked whole first: a malformed
one stores nothing (the error names file:line). JSON events keep all their
fields; CSV rows become objects of the columns rating reads. It needs the
store to itself: stop "sgseq events serve" first, or post to it instead.`,
		Example: `  sgseq events import --dir /var/lib/sgseq/events old-events-*.ndjson.gz`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, d, err := eventsLoggerDir(cmd, dir)
			if err != nil {
				return err
			}
			store, err := events.Open(d, events.Options{Logger: logger})
			if err != nil {
				return fmt.Errorf("events import: %w", err)
			}
			defer store.Close()
			var total events.ImportResult
			for _, path := range args {
				open, cleanup, err := eventsOpener(path, cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("events import %s: %w", path, err)
				}
				res, err := events.Import(cmd.Context(), store, path, open)
				cleanup()
				if err != nil {
					var se *events.SyntaxError
					var pe *rating.ParseError
					if errors.As(err, &se) || errors.As(err, &pe) {
						return fmt.Errorf("events import: %w", err) // names file:line already
					}
					return fmt.Errorf("events import %s: %w", path, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d events, %d stored, %d duplicates\n", path, res.Events, res.Stored, res.Duplicates)
				total.Events += res.Events
				total.Stored += res.Stored
				total.Duplicates += res.Duplicates
			}
			if len(args) > 1 {
				fmt.Fprintf(cmd.OutOrStdout(), "total: %d events, %d stored, %d duplicates\n", total.Events, total.Stored, total.Duplicates)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "event store directory (default: $"+envEventsDir+", else under the user's state directory)")
	return cmd
}

// eventsOpener returns a function opening path for each pass of Import:
// .gz is decompressed; - (stdin) is first copied to a temporary file,
// since Import reads its input twice.
func eventsOpener(path string, stdin io.Reader) (func() (io.ReadCloser, error), func(), error) {
	name := path
	cleanup := func() {}
	if path == "-" {
		tmp, err := os.CreateTemp("", "sgseq-import-*")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
		if _, err := io.Copy(tmp, stdin); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("read stdin: %w", err)
		}
		name = tmp.Name()
	}
	open := func() (io.ReadCloser, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(strings.ToLower(path), ".gz") {
			return f, nil
		}
		return events.Gunzip(f)
	}
	return open, cleanup, nil
}

func newEventsExportCmd() *cobra.Command {
	var dir, since, format string
	cmd := &cobra.Command{
		Use:   "export [--dir DIR] [--since T] [-o ndjson]",
		Short: "Print every stored event once, with its original fields",
		Long: `Export prints each stored event once (webhook retries were dropped when they
arrived), as NDJSON: the event object as received, one per line, in the
order stored. --since keeps events whose timestamp is at or after T (RFC 3339,
YYYY-MM-DD or Unix seconds). "sgseq rate" reads the output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "ndjson" {
				return fmt.Errorf("events export: unknown output format %q: want ndjson", format)
			}
			var t time.Time
			if since != "" {
				var err error
				if t, err = eventsParseSince(since); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			d, err := eventsExisting(dir)
			if err != nil {
				return err
			}
			if _, err := events.Export(cmd.Context(), d, cmd.OutOrStdout(), t); err != nil {
				return fmt.Errorf("events export: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "event store directory (default: $"+envEventsDir+", else under the user's state directory)")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time (RFC 3339, YYYY-MM-DD or Unix seconds)")
	cmd.Flags().StringVarP(&format, "output", "o", "ndjson", "output format: ndjson")
	return cmd
}

// eventsParseSince is rateParseTime, except that a date means the start
// of that day.
func eventsParseSince(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return rateParseTime(s)
}

func newEventsStatsCmd() *cobra.Command {
	var dir, format string
	cmd := &cobra.Command{
		Use:   "stats [--dir DIR]",
		Short: "Summarise the event store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != outputTable && format != outputJSON {
				return fmt.Errorf("events stats: unknown output format %q: want table or json", format)
			}
			d, err := eventsExisting(dir)
			if err != nil {
				return err
			}
			st, err := events.ReadStats(cmd.Context(), d)
			if err != nil {
				return fmt.Errorf("events stats: %w", err)
			}
			w := cmd.OutOrStdout()
			if format == outputJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintf(w, "store      %s\n", st.Dir)
			fmt.Fprintf(w, "segments   %d (%s on disk)\n", st.Segments, rateBytes(st.Bytes))
			fmt.Fprintf(w, "events     %d (each sg_event_id once; %d rating cannot read)\n", st.Events, st.Unrated)
			fmt.Fprintf(w, "contacts   %d\n", st.Contacts)
			if !st.Oldest.IsZero() {
				fmt.Fprintf(w, "oldest     %s\nnewest     %s\n", st.Oldest.Format(time.RFC3339), st.Newest.Format(time.RFC3339))
			}
			if st.Events > 0 {
				fmt.Fprintf(w, "bytes/event %d\n", st.Bytes/st.Events)
			}
			fmt.Fprintln(w, "by event:")
			for _, k := range st.EventTypes() {
				fmt.Fprintf(w, "  %-22s %10d\n", k, st.ByEvent[k])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "event store directory (default: $"+envEventsDir+", else under the user's state directory)")
	cmd.Flags().StringVarP(&format, "output", "o", outputTable, "output format: table or json")
	return cmd
}

func newEventsPruneCmd() *cobra.Command {
	var dir, before string
	cmd := &cobra.Command{
		Use:   "prune --before T [--dir DIR]",
		Short: "Delete the oldest segments whose every event is before T",
		Long: `Prune bounds the store: it deletes whole segment files, oldest first, while
every event in them is older than T (RFC 3339, YYYY-MM-DD or Unix seconds),
never the segment being written. Ratings from the store then start at what is
left (export the old events first to keep them). Stop "sgseq events serve"
first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if before == "" {
				return errors.New("events prune: --before is required")
			}
			t, err := eventsParseSince(before)
			if err != nil {
				return fmt.Errorf("--before: %w", err)
			}
			d, err := eventsExisting(dir)
			if err != nil {
				return err
			}
			store, err := events.Open(d, events.Options{Logger: cliLogger(cmd)})
			if err != nil {
				return fmt.Errorf("events prune: %w", err)
			}
			defer store.Close()
			n, err := store.Prune(cmd.Context(), t)
			if err != nil {
				return fmt.Errorf("events prune: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pruned %d events; %d left\n", n, store.Len())
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "event store directory (default: $"+envEventsDir+", else under the user's state directory)")
	cmd.Flags().StringVar(&before, "before", "", "delete segments whose every event is before this time")
	return cmd
}
