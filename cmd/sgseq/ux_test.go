package main

// Tests of the conventions every command follows: exit codes, error
// messages in the user's words, --timeout and the progress messages,
// quiet logs, tables, config discovery, version, completion, --dry-run.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/examples"
	"github.com/sgseq/sgseq/monitor/store"
)

// uxRun runs sgseq as main does and returns stdout, stderr and the exit
// code.
func uxRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// uxIsolate keeps the user's own config files out of a test.
func uxIsolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "xdg"))
	t.Setenv(envConfig, "")
	return home
}

// uxEvents writes an NDJSON file of good and bad lines.
func uxEvents(t *testing.T, good, bad int) string {
	t.Helper()
	var b strings.Builder
	for i := range good {
		b.WriteString(`{"email":"c` + string(rune('a'+i%26)) + `@x.com","event":"delivered","timestamp":1700000000,"sg_event_id":"e` + string(rune('a'+i%26)) + string(rune('0'+i/26)) + `"}` + "\n")
	}
	for range bad {
		b.WriteString("not json\n")
	}
	p := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExitCodes runs one command per exit code of the table in
// exitcodes.go and README.
func TestExitCodes(t *testing.T) {
	uxIsolate(t)
	monSim(t)
	mostlyBad := uxEvents(t, 1, 3)
	allBad := uxEvents(t, 0, 2)
	someBad := uxEvents(t, 3, 1)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"version", []string{"version"}, exitOK},
		{"scores", []string{"scores", "-o", "json"}, exitOK},
		{"check with firing alerts", []string{"check", "-o", "json"}, exitFiring},
		{"unknown flag", []string{"scores", "--nope"}, exitFailed},
		{"unknown command", []string{"nope"}, exitFailed},
		{"bad value", []string{"history", "--days", "abc", "x"}, exitFailed},
		{"rate a few bad lines", []string{"rate", "-q", someBad}, exitOK},
		{"rate most lines bad", []string{"rate", "-q", mostlyBad}, exitPartial},
		{"rate nothing rated", []string{"rate", "-q", allBad}, exitFailed},
		{"rate strict", []string{"rate", "--strict", someBad}, exitFailed},
		{"rate explain nobody", []string{"rate", "explain", "nobody@x.com", someBad}, exitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := uxRun(t, tt.args...)
			if code != tt.want {
				t.Errorf("%v: exit %d, want %d\nstderr: %s", tt.args, code, tt.want, stderr)
			}
		})
	}
}

// TestErrorMessages checks the exact message of each user error, printed
// once and prefixed "sgseq: ".
func TestErrorMessages(t *testing.T) {
	uxIsolate(t)
	cliSim(t)
	today := client.DateOf(time.Now())
	dir := t.TempDir()
	events := uxEvents(t, 2, 0)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"exclusive flags", []string{"scores", "--subuser", "a", "--account-id", "1"},
			"--subuser and --account-id cannot be used together: pass one of them"},
		{"demo section not a number", []string{"demo", "--section", "abc"},
			`invalid --section "abc": want one or more of 10 (Client queries: scores, subusers and pools), 20 (Monitor: backfill, daily sweeps, Slack alerts), 30 (IP pools: a grouping plan from subuser scores), 40 (Contact ratings from Event Webhook data), separated by commas`},
		{"demo section unknown", []string{"demo", "--section", "10,99"}, `invalid --section "99": want one or more of 10 (`},
		{"bad --to", []string{"scores", "--to", "2026-02-30"}, `invalid --to "2026-02-30": want a date as YYYY-MM-DD`},
		{"--to today", []string{"scores", "--to", today.String()},
			"invalid --to " + today.String() + ": that is today (UTC), which has no score yet: SendGrid computes a day's score after the day ends (the latest is " + today.AddDays(-1).String() + ")"},
		{"--to future", []string{"scores", "--from", today.AddDays(-3).String(), "--to", today.AddDays(5).String()},
			"invalid --to " + today.AddDays(5).String() + ": that is in the future"},
		{"--from too old", []string{"scores", "--from", today.AddDays(-120).String()},
			"invalid --from " + today.AddDays(-120).String() + ": SendGrid keeps 90 days of scores; the oldest day it has is " + today.AddDays(-90).String()},
		{"--date today", []string{"subusers", "scores", "--date", today.String()}, "invalid --date " + today.String() + ": that is today (UTC)"},
		{"-o a file name", []string{"rate", "-o", "ratings.csv", events},
			`invalid --output "ratings.csv": want csv, json or ndjson (-o is the format; did you mean --out ratings.csv?)`},
		{"--out a directory", []string{"rate", "--out", dir, events}, "--out " + dir + ": is a directory; give the path of a file"},
		{"--out in a missing directory", []string{"rate", "--out", "/missing/dir/x.csv", events},
			"--out /missing/dir/x.csv: directory /missing/dir does not exist"},
		{"pools plan --out a directory", []string{"pools", "plan", "--out", dir}, "--out " + dir + ": is a directory"},
		{"a whole number", []string{"history", "--days", "abc", "x"}, `invalid --days "abc": want a whole number`},
		{"a duration", []string{"scores", "--timeout", "soon"}, `invalid --timeout "soon": want a duration such as 90s, 5m or 1h30m`},
		{"negative timeout", []string{"scores", "--timeout", "-1s"}, "invalid --timeout -1s: want a positive duration, or 0 for no limit"},
		{"unknown flag", []string{"scores", "--nope"}, `unknown flag: --nope (see "sgseq scores --help")`},
		{"in-region filter", []string{"subusers", "list", "--in-region", "mars"}, `invalid --in-region "mars": want all, global or eu`},
		{"region host", []string{"--region", "mars", "subusers", "list"}, `invalid --region "mars": want global or eu`},
		{"check output", []string{"check", "-o", "yaml"}, `invalid --output "yaml": want text, wide or json`},
		{"unknown command", []string{"scoers"}, `unknown command "scoers" for "sgseq" (did you mean scores?); see "sgseq --help"`},
		{"unknown subcommand", []string{"pools", "plna"}, `unknown command "plna" for "sgseq pools" (did you mean plan?); see "sgseq pools --help"`},
		{"missing argument", []string{"history"}, "accepts 1 arg(s), received 0 (usage: sgseq history ACCOUNT [flags])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := uxRun(t, tt.args...)
			if code != exitFailed {
				t.Errorf("exit %d, want %d", code, exitFailed)
			}
			if !strings.HasPrefix(stderr, "sgseq: "+tt.want) {
				t.Errorf("stderr:\n%s\nwant it to start with:\nsgseq: %s", stderr, tt.want)
			}
			if n := strings.Count(stderr, "\n"); n != 1 || strings.Contains(stderr, "level=") {
				t.Errorf("want the error printed once, on one line; stderr:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
		})
	}
}

// TestRateMostlySkippedWarnsEvenQuiet checks that -q does not hide the
// warning of an input whose lines were mostly bad, and that the ratings of
// the good lines are written.
func TestRateMostlySkippedWarnsEvenQuiet(t *testing.T) {
	t.Parallel()
	in := uxEvents(t, 1, 3)
	stdout, stderr, code := uxRun(t, "rate", "-q", in)
	if code != exitPartial {
		t.Errorf("exit %d, want %d", code, exitPartial)
	}
	want := "sgseq: rate: warning: 3 of 4 lines were skipped as malformed (first: " + in + ":2: not an event object); 1 contacts rated from the rest\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if !strings.Contains(stdout, "ca@x.com,") {
		t.Errorf("ratings not written:\n%s", stdout)
	}
}

// TestTimeoutAndProgress checks that --timeout ends a wait for scores that
// are never ready with an error that names it, and that the wait was
// announced (at info level, stderr not being a terminal).
func TestTimeoutAndProgress(t *testing.T) {
	uxIsolate(t)
	cliSim(t, seqtest.WithPending(1000))
	d := cliYesterday()
	// The client's first waits are about 1s, too short for a message; the
	// second (1-2s) or third (2-4s) is announced.
	_, stderr, code := uxRun(t, "--log-level", "info", "subusers", "scores", "--date", d.String(), "--timeout", "4s")
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	if !regexp.MustCompile(`msg="subuser scores for ` + d.String() + ` not ready \(202\), asking again in [0-9.]+s \(attempt [0-9]+\)…"`).MatchString(stderr) {
		t.Errorf("no progress message in stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "sgseq: gave up after --timeout 4s (raise it, or --timeout 0 for no limit): subuser scores "+d.String()+": ") {
		t.Errorf("no timeout error in stderr:\n%s", stderr)
	}
	// --quiet: the error only.
	_, stderr, _ = uxRun(t, "--quiet", "subusers", "scores", "--date", d.String(), "--timeout", "300ms")
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "sgseq: gave up after --timeout 300ms") {
		t.Errorf("--quiet stderr:\n%s", stderr)
	}
}

// TestProgressText checks the progress messages made of each kind of log
// record, including the retry adapter's durations logged as text.
func TestProgressText(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	rec := func(msg string, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(now, slog.LevelDebug, msg, 0)
		r.AddAttrs(attrs...)
		return r
	}
	labelled := cliWaitingFor(context.Background(), "scores for 2026-12-03")
	tests := []struct {
		name string
		ctx  context.Context
		r    slog.Record
		want string // "" = no message
	}{
		{"202 labelled", labelled, rec(logMsgPolling, slog.String("path", "/v3/engagementquality/scores"), slog.Int("attempt", 2), slog.Duration("wait", 4*time.Second)),
			"scores for 2026-12-03 not ready (202), asking again in 4s (attempt 3)…"},
		{"202 by path", context.Background(), rec(logMsgPolling, slog.String("path", "/v3/engagementquality/subusers/scores"), slog.Int("attempt", 1), slog.Duration("wait", 2*time.Second)),
			"subuser scores not ready (202), asking again in 2s (attempt 2)…"},
		{"short wait", labelled, rec(logMsgPolling, slog.Duration("wait", 500*time.Millisecond)), ""},
		{"retry with status", context.Background(), rec(logMsgRetrying, slog.String("request", "GET https://api.sendgrid.com/v3/ips?limit=500 (status: 503)"), slog.String("timeout", "2.5s"), slog.Int("remaining", 3)),
			"GET /v3/ips answered 503, retrying in 2.5s (3 retries left)…"},
		{"retry without response", context.Background(), rec(logMsgRetrying, slog.String("request", "GET http://127.0.0.1:1/v3/engagementquality/scores?from=x"), slog.String("timeout", "1m4s"), slog.Int("remaining", 1)),
			"GET /v3/engagementquality/scores failed (no response), retrying in 1m4s (1 retries left)…"},
		{"rate limit", context.Background(), rec(logMsgRateLimited, slog.Time("reset", now.Add(12*time.Second))), "rate limit reached, waiting 12s for it to reset…"},
		{"sweep day", context.Background(), rec(logMsgPolling, slog.String("scope", "subusers"), slog.String("date", "2026-12-03"), slog.Int("attempt", 2), slog.Duration("wait", 4*time.Second)),
			"subusers scores for 2026-12-03 not ready (202), asking again in 4s (attempt 3)…"},
		{"other", context.Background(), rec("something else", slog.Duration("wait", time.Minute)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cliWaitText(tt.ctx, tt.r, now)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("cliWaitText = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// TestQuietHandler checks the handler of interactive runs: progress as a
// plain line on a terminal, no "sweep failed" record (the command prints
// the error), other records as the level says.
func TestQuietHandler(t *testing.T) {
	t.Parallel()
	var logs, tty bytes.Buffer
	inner := slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})
	h := &cliHandler{inner: inner, mu: new(sync.Mutex), w: &tty, tty: true, progress: true, dropSweepFailed: true, now: time.Now}
	l := slog.New(h)
	l.Debug(logMsgPolling, "path", "/v3/engagementquality/scores", "attempt", 1, "wait", 4*time.Second)
	l.Error(logMsgSweepFailed, "error", "boom")
	l.Info("sweep finished")
	l.Warn("fetch failed")
	if tty.String() != "sgseq: scores not ready (202), asking again in 4s (attempt 2)…\n" {
		t.Errorf("terminal lines:\n%s", tty.String())
	}
	if got := logs.String(); strings.Contains(got, "sweep failed") || strings.Contains(got, "sweep finished") || !strings.Contains(got, "fetch failed") {
		t.Errorf("log records:\n%s", got)
	}
}

// TestFitTable checks the shortening of tables to a terminal width.
func TestFitTable(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := &tableOut{Writer: &b, Width: 40}
	err := writeOutput(w, outputTable, tableData{
		Header: []string{"POOL", "IPS", "SUBUSERS"},
		Rows:   [][]string{{"transactional", "198.51.100.11, 198.51.100.12, 198.51.100.13", "bank-statements, bargain-blast, login-codes"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The widest columns are shortened first, down to equal widths.
	want := "POOL          IPS           SUBUSERS\n" +
		"transaction…  198.51.100.…  bank-statem…\n"
	if b.String() != want {
		t.Errorf("fitted table:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if n := len([]rune(line)); n > 40 {
			t.Errorf("line of %d runes: %q", n, line)
		}
	}
	b.Reset()
	w = &tableOut{Writer: &b, NoHeaders: true}
	if err := writeOutput(w, outputWide, tableData{Header: []string{"A", "B"}, Rows: [][]string{{"1", "2"}}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "1  2\n" {
		t.Errorf("--no-headers table: %q", b.String())
	}
}

// TestWrapLine checks the wrapping of check's text on a terminal.
func TestWrapLine(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	lw := &lineWrapper{w: &b, width: 20}
	if _, err := lw.Write([]byte("short\n    - a line that is much too long\nunfinished")); err != nil {
		t.Fatal(err)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "short\n    - a line that is\n      much too long\nunfinished"
	if b.String() != want {
		t.Errorf("wrapped:\n%q\nwant:\n%q", b.String(), want)
	}
}

// TestNoHeadersAndWide checks --no-headers and -o wide on a command.
func TestNoHeadersAndWide(t *testing.T) {
	uxIsolate(t)
	cliSim(t)
	out, stderr, code := uxRun(t, "subusers", "list", "--in-region", "eu", "--no-headers")
	if code != exitOK || strings.Contains(out, "USERNAME") || !strings.Contains(out, "eu-retail") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = uxRun(t, "subusers", "list", "--in-region", "eu", "-o", "wide")
	if code != exitOK || !strings.HasPrefix(out, "ID ") {
		t.Errorf("-o wide: exit %d\n%s", code, out)
	}
}

// TestConfigDiscoveryShowInit checks the config file search order,
// config init (never overwriting) and config show (secrets redacted).
func TestConfigDiscoveryShowInit(t *testing.T) {
	home := uxIsolate(t)
	t.Setenv(envAPIKey, "SG.very-secret-key")
	xdg := filepath.Join(home, "xdg", "sgseq", "sgseq.yaml")

	out, stderr, code := uxRun(t, "config", "show")
	if code != exitOK || !strings.HasPrefix(out, "# no config file: defaults and environment\n") || !strings.Contains(out, "api_key: REDACTED") || strings.Contains(out, "very-secret") {
		t.Fatalf("config show without a file: exit %d\n%s%s", code, out, stderr)
	}

	out, stderr, code = uxRun(t, "config", "init")
	if code != exitOK || !strings.Contains(out, "wrote "+xdg) {
		t.Fatalf("config init: exit %d\n%s%s", code, out, stderr)
	}
	b, err := os.ReadFile(xdg)
	if err != nil || !bytes.Equal(b, examples.StarterConfig) {
		t.Fatalf("starter file: %v", err)
	}
	if fi, err := os.Stat(xdg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("starter file mode: %v %v", fi.Mode(), err)
	}
	_, stderr, code = uxRun(t, "config", "init")
	if code != exitFailed || !strings.Contains(stderr, "sgseq: config init: "+xdg+" already exists; not overwriting it") {
		t.Errorf("second config init: exit %d\n%s", code, stderr)
	}

	// Found in $XDG_CONFIG_HOME without --config.
	out, _, code = uxRun(t, "config", "show")
	if code != exitOK || !strings.HasPrefix(out, "# config file: "+xdg) {
		t.Errorf("config show after init: exit %d\n%s", code, out)
	}
	// $SGSEQ_CONFIG wins over it, --config over both.
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte("schedule: \"@every 6h\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envConfig, other)
	out, _, _ = uxRun(t, "config", "show")
	if !strings.HasPrefix(out, "# config file: "+other) || !strings.Contains(out, "schedule: '@every 6h'") {
		t.Errorf("$SGSEQ_CONFIG not used:\n%s", out)
	}
	out, _, _ = uxRun(t, "config", "show", "--config", xdg)
	if !strings.HasPrefix(out, "# config file: "+xdg) {
		t.Errorf("--config not used:\n%s", out)
	}
	// A bad file: every problem, exit 2.
	if err := os.WriteFile(other, []byte("schedul: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = uxRun(t, "config", "show")
	if code != exitFailed || !strings.Contains(stderr, other+":1") {
		t.Errorf("bad config: exit %d\n%s", code, stderr)
	}
}

// TestCheckDryRun checks that --dry-run prints what would be sent and
// changes no alert state: a real check afterwards still notifies them.
func TestCheckDryRun(t *testing.T) {
	uxIsolate(t)
	monSim(t)
	out, stderr, code := uxRun(t, "check", "--dry-run")
	if code != exitFiring {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "dry run: a real run would send:") || !strings.Contains(out, "nothing sent, no alert state changed") || !strings.Contains(out, "would notify 12") {
		t.Errorf("dry run output:\n%s", out)
	}
	st, _, _ := uxRun(t, "status", "-o", "json")
	var rows []monStatusJSON
	if err := json.Unmarshal([]byte(st), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r.Alerts) > 0 {
			t.Errorf("the dry run stored alert state: %s has %d alerts", r.Account, len(r.Alerts))
		}
	}
	out, _, code = uxRun(t, "check")
	if code != exitFiring || !strings.Contains(out, "notified 12") {
		t.Errorf("real check after the dry run: exit %d\n%s", code, out)
	}
}

// TestVersion checks sgseq version and --version.
func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, code := uxRun(t, "version", "-o", "json")
	var v versionInfo
	if code != exitOK || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if v.Version != client.Version || v.GoVersion != runtime.Version() || v.StoreSchema != store.SchemaVersion() || v.StoreSchema < 3 {
		t.Errorf("version %+v", v)
	}
	text, _, _ := uxRun(t, "--version")
	if !strings.HasPrefix(text, "sgseq "+client.Version+"\n") || !strings.Contains(text, "store schema:  ") || !strings.Contains(text, "go:            "+runtime.Version()) {
		t.Errorf("--version:\n%s", text)
	}
	if got := (versionInfo{Version: "1.2.3", Commit: "abc123", Modified: true, GoVersion: "go1.26.0", StoreSchema: 3}).String(); !strings.Contains(got, "commit:        abc123 (modified)\n") {
		t.Errorf("String:\n%s", got)
	}
}

// TestHelpExitStatus checks the exit status section of --help.
func TestHelpExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"check", "--help"}, []string{"Exit status:\n  0  success\n  1  alerts firing", "  2  error", "  3  partial"}, nil},
		{[]string{"rate", "--help"}, []string{"  2  error", "  3  partial"}, []string{"  1  "}},
		{[]string{"scores", "--help"}, []string{"Exit status:\n  0  success\n  2  error"}, []string{"  1  ", "  3  "}},
		{[]string{"--help"}, []string{"1  sgseq check: alerts firing", "3  partial"}, nil},
	}
	for _, tt := range tests {
		out, _, code := uxRun(t, tt.args...)
		if code != exitOK {
			t.Errorf("%v: exit %d", tt.args, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(out, w) {
				t.Errorf("%v has %q", tt.args, w)
			}
		}
	}
}

// TestCompletion checks the completion scripts and the completed values.
func TestCompletion(t *testing.T) {
	uxIsolate(t)
	monSim(t)
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, code := uxRun(t, "completion", sh)
		if code != exitOK || !strings.Contains(out, "sgseq") {
			t.Errorf("completion %s: exit %d", sh, code)
		}
	}
	if _, stderr, code := uxRun(t, "completion", "tcsh"); code != exitFailed || !strings.HasPrefix(stderr, "sgseq: ") {
		t.Errorf("completion tcsh: exit %d %s", code, stderr)
	}
	complete := func(args ...string) string {
		out, _, _ := uxRun(t, append([]string{"__complete"}, args...)...)
		return out
	}
	if got := complete("scores", "-o", ""); !strings.HasPrefix(got, "table\nwide\njson\ncsv\n:4") {
		t.Errorf("scores -o: %q", got)
	}
	if got := complete("rate", "-o", ""); !strings.HasPrefix(got, "csv\njson\nndjson\n") {
		t.Errorf("rate -o: %q", got)
	}
	if got := complete("--region", ""); !strings.HasPrefix(got, "global\neu\n") {
		t.Errorf("--region: %q", got)
	}
	if _, _, code := uxRun(t, "backfill", "--days", "5"); code != exitOK {
		t.Fatal("backfill failed")
	}
	got := complete("history", "")
	if !strings.Contains(got, "(parent)\n") || !strings.Contains(got, "acme-news\n") {
		t.Errorf("history accounts: %q", got)
	}
	if got := complete("scores", "--subuser", ""); strings.Contains(got, "(parent)") || !strings.Contains(got, "acme-news\n") {
		t.Errorf("scores --subuser: %q", got)
	}
}

// TestJSONOutputs checks -o json of backfill and rate explain.
func TestJSONOutputs(t *testing.T) {
	uxIsolate(t)
	monSim(t)
	out, stderr, code := uxRun(t, "backfill", "--days", "3", "-o", "json")
	var bf map[string]json.RawMessage
	if code != exitOK || json.Unmarshal([]byte(out), &bf) != nil {
		t.Fatalf("backfill -o json: exit %d\n%s%s", code, out, stderr)
	}
	for _, k := range []string{"as_of", "accounts", "fetched", "pending", "failed", "requests", "duration_seconds"} {
		if _, ok := bf[k]; !ok {
			t.Errorf("backfill JSON lacks %q: %s", k, out)
		}
	}
	in := uxEvents(t, 2, 0)
	out, _, code = uxRun(t, "rate", "explain", "-o", "json", "ca@x.com", in)
	var ex struct {
		Email  string            `json:"email"`
		Rating map[string]any    `json:"rating"`
		Steps  []json.RawMessage `json:"steps"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &ex) != nil || ex.Email != "ca@x.com" || ex.Rating["stars"] == nil || len(ex.Steps) != 1 {
		t.Errorf("rate explain -o json: exit %d\n%s", code, out)
	}
}

// TestPoolsApplyJSON checks "pools apply -o json" of a dry run.
func TestPoolsApplyJSON(t *testing.T) {
	uxIsolate(t)
	_, _, cfg := poolsTestSetup(t)
	planPath := poolsTestPlan(t, cfg)
	out, stderr, code := uxRun(t, "pools", "apply", "--plan", planPath, "-o", "json")
	var doc struct {
		DryRun bool              `json:"dry_run"`
		AsOf   string            `json:"as_of"`
		Moves  []json.RawMessage `json:"moves"`
		Calls  []struct {
			Method, Path, Status string
		} `json:"calls"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if !doc.DryRun || doc.AsOf == "" || len(doc.Moves) == 0 || len(doc.Calls) == 0 {
		t.Errorf("document: %s", out)
	}
	for _, c := range doc.Calls {
		if c.Status != "planned" || c.Method == "" || c.Path == "" {
			t.Errorf("call %+v", c)
		}
	}
}
