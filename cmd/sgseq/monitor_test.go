package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

var monUpdate = flag.Bool("update-monitor", false, "rewrite the monitor command golden files in testdata/")

// monSim starts the demo account ending yesterday, points the CLI at it and
// at a fresh store, with no Slack (log sink).
func monSim(t *testing.T, opts ...seqtest.Option) string {
	t.Helper()
	_, db := monSimServer(t, opts...)
	return db
}

// monSimServer is monSim that also returns the simulated account.
func monSimServer(t *testing.T, opts ...seqtest.Option) (*seqtest.Server, string) {
	t.Helper()
	srv := cliSim(t, opts...)
	db := filepath.Join(t.TempDir(), "sgseq.db")
	t.Setenv("SGSEQ_DB", db)
	for _, k := range []string{"SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_CHANNEL", "SLACK_API_URL"} {
		t.Setenv(k, "")
	}
	return srv, db
}

// monExitCode is the process exit code main would use for err.
func monExitCode(err error) int {
	var b strings.Builder
	return report(&b, err)
}

// monCheckShape renders check's JSON with the values of fields other than
// key, account, rule, metric and state replaced by their JSON type.
func monCheckShape(t *testing.T, out string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var doc struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("{\"alerts\": [\n")
	for _, raw := range doc.Alerts {
		// Keep the field order of the raw object.
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.UseNumber()
		if _, err := d.Token(); err != nil { // {
			t.Fatal(err)
		}
		var parts []string
		for d.More() {
			k, _ := d.Token()
			var v any
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			name := k.(string)
			var val string
			switch name {
			case "key", "account", "rule", "metric", "state":
				val = fmt.Sprintf("%q", v)
			case "date", "since":
				if _, err := client.ParseDate(fmt.Sprint(v)); err != nil {
					t.Errorf("%s = %v: not a date", name, v)
				}
				val = "<date>"
			default:
				switch v.(type) {
				case nil:
					val = "<null>"
				case json.Number:
					val = "<number>"
				case bool:
					val = "<bool>"
				case string:
					val = "<string>"
				default:
					val = fmt.Sprintf("<%T>", v)
				}
			}
			parts = append(parts, fmt.Sprintf("%q: %s", name, val))
		}
		b.WriteString("  {" + strings.Join(parts, ", ") + "}\n")
	}
	b.WriteString("]}\n")
	return b.String()
}

func TestCheckExitCodesAndJSON(t *testing.T) {
	monSim(t)

	out, stderr, err := cliRun(t, "check", "-o", "json")
	if code := monExitCode(err); code != 1 {
		t.Fatalf("check: exit %d (err %v), want 1 (alerts firing)\nstderr: %s", code, err, stderr)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if len(doc) != 1 || doc["alerts"] == nil {
		t.Fatalf("want exactly {\"alerts\": [...]}, got keys %v", doc)
	}
	for _, a := range doc["alerts"] {
		for _, k := range []string{"key", "account", "rule", "severity", "state", "date", "from", "to", "since", "message"} {
			if _, ok := a[k]; !ok {
				t.Errorf("alert %v lacks %q", a["key"], k)
			}
		}
	}
	// The log sink went to stderr, not into the JSON.
	if !strings.Contains(stderr, "summer-promo") {
		t.Errorf("stderr lacks the log notifier's output:\n%s", stderr)
	}
	// Golden file of the shape: field names and order, the identifying
	// fields, and the type of the others (their values belong to the rules'
	// tests).
	got := monCheckShape(t, out)
	golden := filepath.Join("testdata", "check.golden.json")
	if *monUpdate {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCheckExitCodesAndJSON -update-monitor)", err)
	}
	if got != string(want) {
		t.Errorf("check -o json differs from %s:\n%s", golden, got)
	}

	// Second run, same day: nothing new to notify, alerts still firing.
	out, _, err = cliRun(t, "check", "-o", "json")
	if code := monExitCode(err); code != 1 {
		t.Errorf("second check: exit %d, want 1", code)
	}
	if strings.TrimSpace(out) != "{\n  \"alerts\": []\n}" {
		t.Errorf("second check printed %q, want no alerts", out)
	}
}

func TestCheckExitZeroAndTwo(t *testing.T) {
	// An account whose only subuser is constant: nothing fires.
	end := cliYesterday()
	calm := seqtest.GenerateAccount(1, 0, 40, end)
	monSim(t, seqtest.WithAccount(calm))
	out, _, err := cliRun(t, "check")
	if code := monExitCode(err); code != 0 {
		t.Fatalf("calm account: exit %d (err %v), want 0; out %s", code, err, out)
	}
	if !strings.Contains(out, "0 alert(s) firing") {
		t.Errorf("text output: %q", out)
	}

	// A bad key: exit 2, and the key never printed.
	t.Setenv(envAPIKey, "SG.wrong-key-secret")
	_, _, err = cliRun(t, "check")
	if code := monExitCode(err); code != 2 {
		t.Errorf("bad key: exit %d, want 2", code)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-key-secret") {
		t.Errorf("error leaks the key: %v", err)
	}
	// Bad -o.
	if _, _, err := cliRun(t, "check", "-o", "yaml"); monExitCode(err) != 2 {
		t.Errorf("-o yaml: err %v", err)
	}
}

func TestBackfillStatusHistory(t *testing.T) {
	db := monSim(t)
	end := cliYesterday()
	out, _, err := cliRun(t, "backfill", "--days", "20")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "backfilled 20 day(s)") {
		t.Errorf("backfill: %q", out)
	}
	if _, _, err := cliRun(t, "backfill", "--days", "91"); err == nil {
		t.Error("--days 91 accepted")
	}
	// A retention shorter than --days says why fewer days were filled.
	retCfg := filepath.Join(t.TempDir(), "ret.yaml")
	if err := os.WriteFile(retCfg, []byte("store:\n  path: "+filepath.Join(t.TempDir(), "ret.db")+"\n  retention_days: 40\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SGSEQ_DB", "")
	if out, _, err := cliRun(t, "backfill", "-c", retCfg, "--days", "90"); err != nil ||
		!strings.Contains(out, "backfilled 40 day(s)") || !strings.Contains(out, "only the last 40 day(s): store.retention_days is 40") {
		t.Errorf("backfill with retention 40: err %v, out %q", err, out)
	}
	t.Setenv("SGSEQ_DB", db)

	// history: ineligible days shown as such, never 0.
	out, _, err = cliRun(t, "history", "garden-supply", "--days", "20")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "ineligible"); n != 4 {
		t.Errorf("history table shows %d ineligible days, want 4:\n%s", n, out)
	}
	out, _, err = cliRun(t, "history", "garden-supply", "--days", "20", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var days []monHistoryJSON
	if err := json.Unmarshal([]byte(out), &days); err != nil || len(days) != 20 {
		t.Fatalf("history json: %v, %d days", err, len(days))
	}
	for _, d := range days {
		if d.Eligible != (d.Score != nil) || (d.Score == nil) != (d.Metrics == nil) {
			t.Errorf("inconsistent day %+v", d)
		}
	}
	if days[len(days)-1].Date != end {
		t.Errorf("last day %s, want %s", days[len(days)-1].Date, end)
	}
	out, _, err = cliRun(t, "history", "garden-supply", "--days", "20", "-o", "csv")
	if err != nil || !strings.HasPrefix(out, "account,date,score,eligible,engagement_recency,") || !strings.Contains(out, ",,false,,,,,") {
		t.Errorf("history csv (err %v):\n%s", err, out)
	}
	if _, _, err := cliRun(t, "history", "nobody"); err == nil || monExitCode(err) != 2 {
		t.Errorf("unknown account: err %v", err)
	}
	// "parent" (unquoted parentheses eaten by a shell) names the real account.
	if _, _, err := cliRun(t, "history", "parent"); err == nil || !strings.Contains(err.Error(), `the parent account is "(parent)"`) {
		t.Errorf("history parent: err %v, want a pointer to (parent)", err)
	}
	if out, _, err := cliRun(t, "history", "(parent)", "--days", "3"); err != nil || strings.Count(out, "\n") != 4 {
		t.Errorf("history (parent): err %v\n%s", err, out)
	}
	// The store-only commands run with the example config (api_key:
	// ${SENDGRID_API_KEY}) and no key in the environment.
	t.Setenv("SENDGRID_API_KEY", "")
	os.Unsetenv("SENDGRID_API_KEY")
	example := filepath.Join("..", "..", "examples", "sgseq.yaml")
	if _, _, err := cliRun(t, "status", "--config", example); err != nil {
		t.Errorf("status --config examples/sgseq.yaml without a key: %v", err)
	}
	if _, _, err := cliRun(t, "history", "acme-news", "--config", example); err != nil {
		t.Errorf("history --config examples/sgseq.yaml without a key: %v", err)
	}
	t.Setenv("SENDGRID_API_KEY", seqtest.TestAPIKey)

	// status: every account, plain trend (not a terminal).
	out, _, err = cliRun(t, "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ACCOUNT", "(parent)", "acme-news", "summer-promo", "ineligible", "3 3 3 3 3 3 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, err = cliRun(t, "status", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var st []monStatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) < 30 {
		t.Fatalf("status json: %v (%d rows)", err, len(st))
	}
	for _, r := range st {
		if len(r.Trend) != monTrendDays {
			t.Errorf("%s trend has %d days", r.Account, len(r.Trend))
		}
	}
	// After a check, status lists the firing alerts.
	_, _, _ = cliRun(t, "check")
	out, _, _ = cliRun(t, "status", "-o", "csv")
	if !strings.Contains(out, "lastminute-travel/floor") {
		t.Errorf("status csv lacks the firing floor alert:\n%s", out)
	}
}

func TestSparkline(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	got := monSparkline([]*float64{f(1), f(2), f(3), nil, f(4), f(5), f(9)})
	if got != "▁▃▅·▆██" {
		t.Errorf("sparkline = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join("..", "..", "examples", "sgseq.yaml")
	t.Setenv("SENDGRID_API_KEY", "SG.validate-secret-key")
	t.Setenv("SLACK_WEBHOOK_URL", "")
	out, _, err := cliRun(t, "config", "validate", "--config", good)
	if err != nil || strings.TrimSpace(out) != "OK" {
		t.Errorf("example config: out %q err %v", out, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sendgrid:\n  api_key: ${SENDGRID_API_KEY}\nsweep:\n  concurency: 3\nschedule: \"* * *\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := cliRun(t, "config", "validate", "--config", bad)
	if monExitCode(err) != 2 {
		t.Errorf("bad config: exit %d", monExitCode(err))
	}
	for _, want := range []string{bad + ":4: sweep.concurency: unknown field", bad + ":5: schedule: invalid value"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "validate-secret-key") {
		t.Error("secret printed")
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		t.Errorf("err %T, want *exitError", err)
	}
}

func TestDemoMonitorSection(t *testing.T) {
	var out strings.Builder
	if err := demoRun(context.Background(), &out, []int{20}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if n := strings.Count(s, "\n"); n > 80 {
		t.Errorf("demo section prints %d lines, want < 80", n)
	}
	for _, want := range []string{"backfilled 30 day(s) for 35 accounts up to", "Slack message for", "bargain-blast", "[CRITICAL] drop", "summer-promo", "eligibility (info)", "ACCOUNT"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
}

func TestMonitorCommandRunsAndStops(t *testing.T) {
	db := monSim(t)
	cfgPath := filepath.Join(t.TempDir(), "sgseq.yaml")
	yaml := "sendgrid:\n  api_key: ${SENDGRID_API_KEY}\nhttp:\n  addr: 127.0.0.1:0\nsweep:\n  backfill_days: 3\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, []string{"monitor", "--config", cfgPath, "--log-level", "debug"}, &out, &errb)
	}()
	// The start-up sweep (no sweep yet) writes the store; wait for its
	// completion message, then stop as SIGTERM would.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(db); err == nil && strings.Contains(errb.String(), "sweep finished") {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no start-up sweep; stderr:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("monitor: %v", err)
	}
	logs := errb.String()
	for _, want := range []string{"http server listening", "shutting down", "next_sweep="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(logs+out.String(), seqtest.TestAPIKey) {
		t.Error("API key in the output")
	}
}
