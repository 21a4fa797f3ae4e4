package main

// Progress messages for long waits, and the quiet logs of interactive runs.
//
// The client and the monitor log their waits (202 polling, retries, a spent
// rate-limit budget, the sweep's 202 rounds); cliHandler, wrapped around
// the CLI's log handler, turns each wait longer than cliWaitThreshold into
// one line on stderr: a plain "sgseq: … asking again in 4s…" line when
// stderr is a terminal, else an info log record (shown at --log-level info
// or debug). --quiet shows none.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cliWaitThreshold is the shortest wait worth a message.
const cliWaitThreshold = time.Second

// The log messages cliHandler recognises (client, go-retryablehttp through
// the client's adapter, monitor).
const (
	// logMsgPolling is logged by the client before each wait after a 202
	// (attrs date, path, attempt, wait) and by the monitor's sweep before
	// it asks a 202 day again (attrs scope, date, attempt, wait).
	logMsgPolling     = "scores not ready (202), asking again"
	logMsgRetrying    = "retryablehttp: retrying request"
	logMsgRateLimited = "sgseq: rate limit budget exhausted, holding request"
	// logMsgSweepFailed is logged by the monitor for scheduled runs, which
	// have no caller to report to. An interactive command reports the
	// same error as "sgseq: …", so the log line is dropped there.
	logMsgSweepFailed = "sweep failed"
)

// cliWaitKey is the context key of the text that names what a command
// waits for, e.g. "scores for 2026-12-04".
type cliWaitKey struct{}

// cliWaitingFor returns ctx labelled with what the command asks for; the
// progress messages of the requests made with ctx use it.
func cliWaitingFor(ctx context.Context, what string) context.Context {
	return context.WithValue(ctx, cliWaitKey{}, what)
}

// cliHandler wraps the handler of an interactive command's logger.
type cliHandler struct {
	inner    slog.Handler
	mu       *sync.Mutex
	w        io.Writer // stderr
	tty      bool      // stderr is a terminal: plain progress lines
	progress bool      // false with --quiet
	// dropSweepFailed drops the monitor's "sweep failed" record (the
	// command prints the error itself).
	dropSweepFailed bool
	now             func() time.Time
}

// Enabled reports true for every level while progress messages are on:
// the waits are logged at debug.
func (h *cliHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.progress || h.inner.Enabled(ctx, l)
}

// Handle prints the progress message of a wait, then passes the record to
// the inner handler if that one takes its level.
func (h *cliHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.dropSweepFailed && r.Message == logMsgSweepFailed {
		return nil
	}
	if h.progress {
		if text, ok := cliWaitText(ctx, r, h.now()); ok {
			// The message replaces the record: a plain line on a terminal,
			// else an info record in the log's format.
			if h.tty {
				h.mu.Lock()
				fmt.Fprintf(h.w, "sgseq: %s\n", text)
				h.mu.Unlock()
				return nil
			}
			if h.inner.Enabled(ctx, slog.LevelInfo) {
				return h.inner.Handle(ctx, slog.NewRecord(r.Time, slog.LevelInfo, text, r.PC))
			}
			return nil
		}
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns the handler with attrs added to the inner one.
func (h *cliHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	return &c
}

// WithGroup returns the handler with the group opened on the inner one.
func (h *cliHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

// cliWaitText returns the progress message of r when r logs a wait longer
// than cliWaitThreshold.
func cliWaitText(ctx context.Context, r slog.Record, now time.Time) (string, bool) {
	attrs := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Resolve()
		return true
	})
	what, _ := ctx.Value(cliWaitKey{}).(string)
	switch r.Message {
	case logMsgPolling:
		wait := attrDuration(attrs["wait"])
		if wait <= cliWaitThreshold {
			return "", false
		}
		attempt := attrInt(attrs["attempt"]) + 1
		if scope, ok := attrs["scope"]; ok { // the sweep
			return fmt.Sprintf("%s scores for %s not ready (202), asking again in %s (attempt %d)…", scope.String(), attrs["date"].String(), cliWaitDuration(wait), attempt), true
		}
		if what == "" {
			what = cliWaitPath(attrs["path"].String())
		}
		return fmt.Sprintf("%s not ready (202), asking again in %s (attempt %d)…", what, cliWaitDuration(wait), attempt), true
	case logMsgRetrying:
		wait := attrDuration(attrs["timeout"])
		if wait <= cliWaitThreshold {
			return "", false
		}
		return fmt.Sprintf("%s, retrying in %s (%d retries left)…", cliRetryDesc(attrs["request"].String()), cliWaitDuration(wait), attrInt(attrs["remaining"])), true
	case logMsgRateLimited:
		reset := attrs["reset"]
		if reset.Kind() != slog.KindTime || reset.Time().IsZero() {
			return "rate limit reached, waiting for a response to renew it…", true
		}
		wait := reset.Time().Sub(now)
		if wait <= cliWaitThreshold {
			return "", false
		}
		return fmt.Sprintf("rate limit reached, waiting %s for it to reset…", cliWaitDuration(wait)), true
	}
	return "", false
}

// attrDuration reads a duration attribute, whether logged as a
// time.Duration or (through the client's go-retryablehttp adapter, which
// logs Stringers as text) as its String form; 0 when it is neither.
func attrDuration(v slog.Value) time.Duration {
	switch v.Kind() {
	case slog.KindDuration:
		return v.Duration()
	case slog.KindInt64:
		return time.Duration(v.Int64())
	case slog.KindString:
		d, _ := time.ParseDuration(v.String())
		return d
	}
	return 0
}

// attrInt reads an integer attribute (0 when it is not one).
func attrInt(v slog.Value) int64 {
	switch v.Kind() {
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return int64(v.Uint64())
	case slog.KindString:
		n, _ := strconv.ParseInt(v.String(), 10, 64)
		return n
	}
	return 0
}

// cliWaitPath names what an API path returns.
func cliWaitPath(path string) string {
	switch {
	case strings.HasSuffix(path, "/subusers/scores"):
		return "subuser scores"
	case strings.HasSuffix(path, "/scores"):
		return "scores"
	case path == "":
		return "the request"
	}
	return path
}

// cliRetryDesc turns go-retryablehttp's "GET https://host/v3/x?y (status:
// 503)" into "GET /v3/x answered 503" (the host and query left out), or
// "GET /v3/x failed" without a status.
func cliRetryDesc(desc string) string {
	rest, status, hasStatus := strings.Cut(desc, " (status: ")
	method, raw, _ := strings.Cut(rest, " ")
	path := raw
	if u, err := url.Parse(raw); err == nil && u.Path != "" {
		path = u.Path
	}
	if hasStatus {
		return fmt.Sprintf("%s %s answered %s", method, path, strings.TrimSuffix(status, ")"))
	}
	return fmt.Sprintf("%s %s failed (no response)", method, path)
}

// cliWaitDuration rounds a wait for people: 4s, 1m30s.
func cliWaitDuration(d time.Duration) string {
	if d >= 10*time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(100 * time.Millisecond)
	}
	return d.String()
}
