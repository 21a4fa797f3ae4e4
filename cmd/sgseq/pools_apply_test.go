package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client/seqtest"
)

// poolsTestPlan writes the demo account's plan to a file and returns its
// path.
func poolsTestPlan(t *testing.T, cfg string) string {
	t.Helper()
	planPath := filepath.Join(t.TempDir(), "plan.json")
	if _, errOut, err := cliRun(t, "pools", "plan", "--config", cfg, "--out", planPath, "-o", "json"); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	return planPath
}

// poolsDemoCalls are the calls applying the demo plan makes, in order.
var poolsDemoCalls = []string{
	`PUT /v3/subusers/acme-news/ips ["198.51.100.31","198.51.100.32"]`,
	`PUT /v3/subusers/auto-parts/ips ["198.51.100.21","198.51.100.22","198.51.100.23"]`,
	`PUT /v3/subusers/bargain-blast/ips ["198.51.100.31","198.51.100.32"]`,
	`PUT /v3/subusers/daily-deals/ips ["198.51.100.31","198.51.100.32"]`,
	`PUT /v3/subusers/event-invites/ips ["198.51.100.21","198.51.100.22","198.51.100.23"]`,
	`PUT /v3/subusers/music-fest/ips ["198.51.100.21","198.51.100.22","198.51.100.23"]`,
	`PUT /v3/subusers/petcare-mail/ips ["198.51.100.31","198.51.100.32"]`,
}

func poolsCallStrings(calls []seqtest.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method + " " + c.Path + " " + strings.TrimSpace(c.Body)
	}
	return out
}

func TestPoolsApplyDryRunThenApply(t *testing.T) {
	srv, _, cfg := poolsTestSetup(t)
	planPath := poolsTestPlan(t, cfg)

	out, errOut, err := cliRun(t, "pools", "apply", "--plan", planPath)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, errOut)
	}
	if m := poolsMutations(srv); len(m) != 0 {
		t.Fatalf("dry run made mutating calls: %v", poolsCallStrings(m))
	}
	for _, s := range append([]string{"7 move(s); the pool layout still matches", "Dry run: apply would make these 7 call(s)",
		"bargain-blast: transactional → shared (high → low)"}, poolsDemoCalls...) {
		if !strings.Contains(out, s) {
			t.Errorf("dry run output lacks %q:\n%s", s, out)
		}
	}

	out, errOut, err = cliRun(t, "pools", "apply", "--plan", planPath, "--yes")
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, errOut)
	}
	got := poolsCallStrings(poolsMutations(srv))
	if strings.Join(got, "\n") != strings.Join(poolsDemoCalls, "\n") {
		t.Errorf("server received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(poolsDemoCalls, "\n"))
	}
	for _, c := range poolsDemoCalls {
		if !strings.Contains(out, c+"\n  ok\n") {
			t.Errorf("apply output lacks %q:\n%s", c, out)
		}
	}
	if !strings.Contains(out, "Done: 7 call(s) succeeded.") {
		t.Errorf("apply output:\n%s", out)
	}

	// The same plan again is stale: the moved subusers changed pools.
	_, errOut, err = cliRun(t, "pools", "apply", "--plan", planPath, "--yes")
	if err == nil || report(&strings.Builder{}, err) != 2 || !strings.Contains(errOut, "subuser acme-news sent through pools [marketing] when planned, now [shared] (already its target pool)") ||
		!strings.Contains(errOut, "was it applied already?") {
		t.Errorf("re-apply: err %v\n%s", err, errOut)
	}
	if n := len(poolsMutations(srv)); n != len(poolsDemoCalls) {
		t.Errorf("stale apply made calls: %d mutations", n)
	}
}

func TestPoolsApplyFailureHalfWay(t *testing.T) {
	srv, _, cfg := poolsTestSetup(t)
	planPath := poolsTestPlan(t, cfg)
	srv.FailOn(http.MethodPut, "/v3/subusers/daily-deals/", http.StatusInternalServerError, 0)
	out, errOut, err := cliRun(t, "pools", "apply", "--plan", planPath, "--yes")
	if err == nil || report(&strings.Builder{}, err) != exitPartial {
		t.Fatalf("err = %v, want exit %d (partial: 3 calls succeeded)", err, exitPartial)
	}
	got := poolsCallStrings(poolsMutations(srv))
	if strings.Join(got, "\n") != strings.Join(poolsDemoCalls[:4], "\n") {
		t.Errorf("server received:\n%s\nwant the first 4 calls", strings.Join(got, "\n"))
	}
	wantReport := "Succeeded (3):\n  " + strings.Join(poolsDemoCalls[:3], "\n  ") + "\n" +
		"Failed (1):\n  " + poolsDemoCalls[3] + "\n    error: "
	if !strings.Contains(errOut, wantReport) {
		t.Errorf("stderr lacks\n%s\n---\n%s", wantReport, errOut)
	}
	if !strings.Contains(errOut, "Not attempted (3):\n  "+strings.Join(poolsDemoCalls[4:], "\n  ")+"\n") {
		t.Errorf("stderr lacks the not-attempted calls:\n%s", errOut)
	}
	if !strings.Contains(errOut, "500") || !strings.Contains(out, poolsDemoCalls[3]+"\n  FAILED: ") {
		t.Errorf("the API error is not shown:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if strings.Contains(out+errOut+err.Error(), seqtest.TestAPIKey) {
		t.Error("output leaks the API key")
	}
}

func TestPoolsApplyStaleAndBadPlans(t *testing.T) {
	srv, _, cfg := poolsTestSetup(t)
	planPath := poolsTestPlan(t, cfg)

	// A plan older than --max-age is refused unless --force.
	old := cliNow
	cliNow = func() time.Time { return old().Add(30 * time.Hour) }
	t.Cleanup(func() { cliNow = old })
	_, errOut, err := cliRun(t, "pools", "apply", "--plan", planPath)
	if err == nil || !strings.Contains(errOut, "more than 24h0m0s (use --force") {
		t.Errorf("old plan: %v\n%s", err, errOut)
	}
	if _, errOut, err := cliRun(t, "pools", "apply", "--plan", planPath, "--force"); err != nil {
		t.Errorf("--force: %v\n%s", err, errOut)
	}
	if _, _, err := cliRun(t, "pools", "apply", "--plan", planPath, "--max-age", "48h"); err != nil {
		t.Errorf("--max-age 48h: %v", err)
	}
	cliNow = old
	if m := poolsMutations(srv); len(m) != 0 {
		t.Errorf("dry runs made mutating calls: %v", poolsCallStrings(m))
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no plan flag", []string{"pools", "apply"}, "--plan is required"},
		{"missing file", []string{"pools", "apply", "--plan", filepath.Join(dir, "nope.json")}, "read plan"},
		{"bad version", []string{"pools", "apply", "--plan", bad}, "version 9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cliRun(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPoolsApplyTargetPoolsWithoutIPs(t *testing.T) {
	// The default tiers' pools do not exist in the demo account: apply
	// creates them, then stops before moving anyone.
	srv, db, _ := poolsTestSetup(t)
	planPath := filepath.Join(t.TempDir(), "plan.json")
	if _, errOut, err := cliRun(t, "pools", "plan", "--db", db, "--out", planPath); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	out, _, err := cliRun(t, "pools", "apply", "--plan", planPath)
	if err != nil || !strings.Contains(out, "and then stop: target pool(s) high-reputation, low-reputation, mid-reputation have no IPs") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	_, _, err = cliRun(t, "pools", "apply", "--plan", planPath, "--yes")
	if err == nil || report(&strings.Builder{}, err) != 2 || !strings.Contains(err.Error(), "no subuser was moved") {
		t.Fatalf("apply: %v", err)
	}
	want := []string{
		`POST /v3/ips/pools {"name":"high-reputation"}`,
		`POST /v3/ips/pools {"name":"low-reputation"}`,
		`POST /v3/ips/pools {"name":"mid-reputation"}`,
	}
	if got := poolsCallStrings(poolsMutations(srv)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
