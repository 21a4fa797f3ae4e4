package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

// hostileRun is cliRun with room for the hostile preset's latency, limits
// and retries.
func hostileRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return cliRunWithin(t, 3*time.Minute, args...)
}

// hostileConfig writes a config with a short sweep retry backoff (the
// client keeps its default retry and poll policies).
func hostileConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sgseq.yaml")
	if err := os.WriteFile(p, []byte("sweep:\n  retry_backoff: 200ms\n  retries: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkAlerts runs "check -o json" and returns its alerts, requiring exit
// status 1 (alerts firing).
func checkAlerts(t *testing.T, cfg string) []map[string]any {
	t.Helper()
	out, stderr, err := hostileRun(t, "check", "-c", cfg, "-o", "json")
	if code := monExitCode(err); code != 1 {
		t.Fatalf("check: exit %d (err %v), want 1\nstderr: %s", code, err, stderr)
	}
	var doc struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("check -o json: %v\n%s", err, out)
	}
	return doc.Alerts
}

// TestHostileBackfillCheck runs the CLI end to end against the hostile
// preset: a 15-day backfill of 1,500 subusers stores every day and exits
// 0, "subusers scores" returns every row, and a check right after alerts
// exactly as it does after the same backfill from a healthy API.
func TestHostileBackfillCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through the hostile preset (seconds of simulated latency)")
	}
	end := cliYesterday()
	acct := seqtest.GenerateAccount(5, 1500, 40, end)
	cfg := hostileConfig(t)

	// The healthy API first: what check must say.
	monSim(t, seqtest.WithAccount(acct))
	if out, stderr, err := hostileRun(t, "backfill", "-c", cfg, "--days", "15"); err != nil {
		t.Fatalf("healthy backfill: %v\n%s\n%s", err, out, stderr)
	}
	want := checkAlerts(t, cfg)
	if len(want) == 0 {
		t.Fatal("the generated account fires nothing: the comparison would prove nothing")
	}

	srv := seqtest.NewServer(seqtest.Hostile(11), seqtest.WithAccount(acct))
	t.Cleanup(srv.Close)
	monSim(t) // a fresh store
	t.Setenv(envBaseURL, srv.URL)
	out, stderr, err := hostileRun(t, "backfill", "-c", cfg, "--days", "15")
	if code := monExitCode(err); code != 0 {
		t.Fatalf("hostile backfill: exit %d (err %v)\nstdout: %s\nstderr: %s", code, err, out, stderr)
	}
	if !strings.Contains(out, "backfilled 15 day(s) for 1501 accounts") || strings.Contains(out, "missing") {
		t.Errorf("hostile backfill output: %q", out)
	}
	st := srv.Stats()
	if len(st.Injected) == 0 {
		t.Fatalf("the hostile preset injected nothing: %+v", st)
	}
	t.Logf("hostile backfill: %d requests, by status %v, injected %v; %s", st.Requests, st.ByStatus, st.Injected, strings.TrimSpace(out))

	// Every row of a day, through cut and reset pages.
	for _, d := range []client.Date{end, end.AddDays(-5)} {
		out, stderr, err := hostileRun(t, "subusers", "scores", "--date", d.String(), "--limit", "400", "-o", "json")
		if err != nil {
			t.Fatalf("subusers scores %s: %v\n%s", d, err, stderr)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("subusers scores %s: %v", d, err)
		}
		if len(rows) != 1500 {
			t.Errorf("subusers scores %s: %d rows, want 1500", d, len(rows))
		}
	}

	if got := checkAlerts(t, cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("check after the hostile backfill: %d alerts, after the healthy one %d; they differ", len(got), len(want))
	}
}

// TestBackfillIncompleteExit3: a day still answered 202 when the run's
// wait is over is listed, the others are stored, the exit status is 3, and
// the next run fills the hole and exits 0.
func TestBackfillIncompleteExit3(t *testing.T) {
	end := cliYesterday()
	late := end.AddDays(-2)
	monSim(t, seqtest.WithPendingDates(map[client.Date]int{late: 1}))
	cfg := filepath.Join(t.TempDir(), "nowait.yaml")
	if err := os.WriteFile(cfg, []byte("sweep:\n  pending_retries: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := cliRun(t, "backfill", "-c", cfg, "--days", "5")
	if code := monExitCode(err); code != exitPartial {
		t.Fatalf("backfill: exit %d (err %v), want 3\nstdout: %s\nstderr: %s", code, err, out, stderr)
	}
	for _, want := range []string{
		"backfilled 4 day(s)", // the subusers' other 4 days (the parent's range waits)
		"missing (the next run fetches them):",
		"  " + late.String() + "  subusers  pending: answered 202 1 time(s)",
		"  " + end.String() + "  parent    pending: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "6 day(s) missing") && !strings.Contains(msg, "5 day(s) missing") {
		t.Errorf("error %q does not count the missing days", msg)
	}
	out, _, err = cliRun(t, "backfill", "-c", cfg, "--days", "5")
	if code := monExitCode(err); code != 0 || !strings.Contains(out, "backfilled 5 day(s)") || strings.Contains(out, "missing") {
		t.Errorf("second backfill: exit %d, %q; want the hole filled", code, out)
	}
}

// TestSimHostile: "sgseq sim --hostile" serves the hostile preset, which a
// retrying client gets every row through.
func TestSimHostile(t *testing.T) {
	var out, errb syncBuffer
	cmd := newSimCmd()
	newRootCmd().AddCommand(cmd) // for the persistent flags
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- simRun(ctx, cmd, simOptions{addr: "127.0.0.1:0", hostile: true, seed: 5}) }()
	var url string
	for deadline := time.Now().Add(60 * time.Second); url == "" && time.Now().Before(deadline); {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, "\n")
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if url == "" {
		t.Fatalf("no URL printed: %q %q", out.String(), errb.String())
	}
	c, err := client.New(seqtest.TestAPIKey, client.WithBaseURL(url),
		client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 8, MinWait: time.Millisecond, MaxWait: 2 * time.Second, AttemptTimeout: time.Minute}),
		client.WithPollPolicy(client.PollPolicy{MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []client.Date{cliYesterday(), cliYesterday().AddDays(-1), cliYesterday().AddDays(-2)} {
		n := 0
		for _, err := range c.SubuserScores(ctx, d, client.PageSize(10)) {
			if err != nil {
				t.Fatalf("%s: %v", d, err)
			}
			n++
		}
		if n != 36 {
			t.Errorf("%s: %d scores, want the demo account's 36", d, n)
		}
	}
	if c.Rate().Limit != 20 {
		t.Errorf("rate %+v, want the preset's 20 per window", c.Rate())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "hostile=true") {
		t.Errorf("log lacks hostile=true: %s", errb.String())
	}
}

// TestCheckIncomplete: a check whose parent scores keep failing (503 past
// every retry) still detects on the days it has and reports the missing
// days: with alerts firing (the demo account's subusers), exit 1 and the
// missing days as a warning on stderr; with nothing firing (no subuser
// monitored), exit 3 with the missing days as the error.
func TestCheckIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		code         int
	}{
		{"alerts firing", "sweep:\n  retries: 0\n  backfill_days: 3\n", exitFiring},
		{"nothing firing", "sweep:\n  retries: 0\n  backfill_days: 3\naccounts:\n  include: [no-such-subuser]\n", exitPartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := monSimServer(t)
			cfg := filepath.Join(t.TempDir(), "sgseq.yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			srv.FailOn(http.MethodGet, "/v3/engagementquality/scores", http.StatusServiceUnavailable, 0)
			out, stderr, err := cliRun(t, "check", "-c", cfg)
			if code := monExitCode(err); code != tc.code {
				t.Fatalf("check: exit %d (%v), want %d\nstdout: %s\nstderr: %s", code, err, tc.code, out, stderr)
			}
			const missing = "3 day(s) could not be fetched and were left for the next run (detection used the days stored): fetch parent: "
			if tc.code == exitFiring && !strings.Contains(stderr, "sgseq: warning: "+missing) {
				t.Errorf("exit 1 without the missing days on stderr:\n%s", stderr)
			}
			if tc.code == exitPartial && !strings.Contains(err.Error(), missing) {
				t.Errorf("exit 3: %v", err)
			}
			if !strings.Contains(out, "checked ") {
				t.Errorf("no summary on stdout:\n%s", out)
			}
		})
	}
}
