package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/store"
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

func TestPoolsApplyMissingPools(t *testing.T) {
	// The default tiers' pools do not exist in the demo account: apply
	// makes no call at all, says which pools are missing and how to get
	// out, and exits 2 — dry run or not.
	srv, db, _ := poolsTestSetup(t)
	planPath := filepath.Join(t.TempDir(), "plan.json")
	if _, errOut, err := cliRun(t, "pools", "plan", "--db", db, "--out", planPath); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, args := range [][]string{{"--plan", planPath}, {"--plan", planPath, "--yes"}} {
		_, errOut, err := cliRun(t, append([]string{"pools", "apply"}, args...)...)
		if err == nil || report(&strings.Builder{}, err) != 2 {
			t.Fatalf("apply %v: err %v, want exit 2", args, err)
		}
		for _, s := range []string{
			"The plan cannot be applied; no call was made:",
			"target pool high-reputation does not exist", "target pool mid-reputation does not exist", "target pool low-reputation does not exist",
			"create the pools and add IPs to them in SendGrid",
			"map the tiers onto the account's own pools with pools.tiers[].pool",
			"- {name: high, min_score: 4.5, pool: transactional}",
		} {
			if !strings.Contains(errOut, s) {
				t.Errorf("apply %v: stderr lacks %q:\n%s", args, s, errOut)
			}
		}
		if !strings.Contains(err.Error(), "high-reputation, mid-reputation, low-reputation do not exist") {
			t.Errorf("error %q does not name the pools", err)
		}
	}
	if m := poolsMutations(srv); len(m) != 0 {
		t.Errorf("a blocked plan made calls: %v", poolsCallStrings(m))
	}

	// --create-pools creates them, and only that: nobody is assigned to a
	// pool without IPs.
	out, errOut, err := cliRun(t, "pools", "apply", "--plan", planPath, "--create-pools")
	if err != nil || !strings.Contains(out, "and then stop before moving anyone: target pool(s) high-reputation, mid-reputation, low-reputation have no IPs") {
		t.Fatalf("dry run with --create-pools: %v\n%s%s", err, out, errOut)
	}
	_, errOut, err = cliRun(t, "pools", "apply", "--plan", planPath, "--create-pools", "--yes")
	if err == nil || report(&strings.Builder{}, err) != 2 || !strings.Contains(errOut, "no subuser was moved") {
		t.Fatalf("apply --create-pools: %v\n%s", err, errOut)
	}
	want := []string{
		`POST /v3/ips/pools {"name":"high-reputation"}`,
		`POST /v3/ips/pools {"name":"mid-reputation"}`,
		`POST /v3/ips/pools {"name":"low-reputation"}`,
	}
	if got := poolsCallStrings(poolsMutations(srv)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// poolsMailTypeAccount is an account whose pools are named for the kind of
// mail (none a default tier's pool), its 40 days ending yesterday; the
// pool "dedicated" has no IP. falling-tx falls from 5 to 1 over its last 8
// days in transactional.
func poolsMailTypeAccount() *seqtest.Account {
	end := cliYesterday()
	subject := func(id int64, name string, scores ...float64) seqtest.Subject {
		s := seqtest.Subject{ID: id, Username: name, Email: name + "@example.com"}
		for i, v := range scores {
			d := seqtest.Day{Date: end.AddDays(i - len(scores) + 1)}
			if v > 0 {
				d.Score = client.Float(v)
				d.Metrics = &client.Metrics{EngagementRecency: v, OpenRate: v, BounceClassification: v, BounceRate: v, SpamRate: v}
			}
			s.History = append(s.History, d)
		}
		return s
	}
	rep := func(v float64, n int) []float64 { return slices.Repeat([]float64{v}, n) }
	return &seqtest.Account{
		Parent: subject(1, "parent", rep(4, 40)...),
		Subusers: []seqtest.Subject{
			subject(101, "receipts", rep(5, 40)...),
			subject(102, "login-codes", rep(5, 40)...),
			subject(103, "invoices", rep(5, 40)...),
			subject(104, "falling-tx", slices.Concat(rep(5, 30), []float64{5, 5, 4.5, 4, 3, 2, 1, 1, 1, 1})...),
			subject(105, "newsletter", rep(4, 40)...),
			subject(106, "promo", rep(4, 40)...),
			subject(107, "weekly", rep(4, 40)...),
			subject(108, "warm-sender", rep(3, 40)...),
			subject(109, "new-brand", slices.Concat(rep(0, 36), rep(4, 4))...),
			subject(110, "reengage", rep(2, 40)...),
			subject(111, "winback", rep(2, 40)...),
			subject(112, "lapsed", rep(2, 40)...),
		},
		IPs: []seqtest.IPAddr{
			{IP: "192.0.2.1", Pools: []string{"transactional"}, Subusers: []string{"receipts", "login-codes", "invoices", "falling-tx"}},
			{IP: "192.0.2.2", Pools: []string{"transactional"}, Subusers: []string{"receipts", "login-codes", "invoices", "falling-tx"}},
			{IP: "192.0.2.11", Pools: []string{"marketing"}, Subusers: []string{"newsletter", "promo", "weekly"}},
			{IP: "192.0.2.12", Pools: []string{"marketing"}, Subusers: []string{"newsletter", "promo", "weekly"}},
			{IP: "192.0.2.21", Pools: []string{"warmup"}, Subusers: []string{"warm-sender", "new-brand"}, Warmup: true},
			{IP: "192.0.2.31", Pools: []string{"low engagement"}, Subusers: []string{"reengage", "winback", "lapsed"}},
		},
		Pools: []string{"transactional", "marketing", "warmup", "low engagement", "dedicated"},
		End:   end,
	}
}

// poolsMailTypeSetup serves poolsMailTypeAccount, stores its history and
// returns the server and the store path.
func poolsMailTypeSetup(t *testing.T) (*seqtest.Server, string) {
	t.Helper()
	srv := cliSim(t, seqtest.WithAccount(poolsMailTypeAccount()))
	db := filepath.Join(t.TempDir(), "sgseq.db")
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := poolsDemoFill(ctx, c, st, cliYesterday(), 40); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return srv, db
}

// poolsWriteConfig writes a monitor config with the pools: section tiers
// and the store db.
func poolsWriteConfig(t *testing.T, tiers, db string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sgseq.yaml")
	if err := os.WriteFile(path, []byte(tiers+"store:\n  path: "+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPoolsApplyMailTypeLayout(t *testing.T) {
	const mapped = "pools:\n  tiers:\n" +
		"    - {name: high, min_score: 4.5, pool: transactional}\n" +
		"    - {name: mid, min_score: 3, pool: marketing}\n" +
		"    - {name: low, min_score: 1, pool: \"low engagement\"}\n"
	t.Run("default tiers: missing pools, a suggested mapping", func(t *testing.T) {
		srv, db := poolsMailTypeSetup(t)
		t.Setenv("SGSEQ_DB", db)
		out, _, err := cliRun(t, "pools", "plan")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{
			"None of the tiers' pools exists in this account (high-reputation, mid-reputation, low-reputation).",
			"transactional   2    4        5       high (≥4.5)",
			"warmup          1    2        3.5     -",
			"- {name: low, min_score: 1, pool: \"low engagement\"}",
			"Blocked: \"sgseq pools apply\" would refuse this plan and make no call:",
			"pool low-reputation (tier low) does not exist; 4 moves wait for it",
		} {
			if !strings.Contains(out, s) {
				t.Errorf("plan lacks %q:\n%s", s, out)
			}
		}
		// falling-tx (median 1, outside every tier's pool) goes to the low
		// tier, never the high one.
		if !regexp.MustCompile(`\n  falling-tx +transactional +low-reputation +low +1 `).MatchString(out) ||
			regexp.MustCompile(`falling-tx +transactional +high-reputation`).MatchString(out) {
			t.Errorf("falling-tx (median 1) proposed for the high tier:\n%s", out)
		}
		if m := poolsMutations(srv); len(m) != 0 {
			t.Errorf("plan made calls: %v", poolsCallStrings(m))
		}
	})
	t.Run("a tier mapped onto an empty pool", func(t *testing.T) {
		srv, db := poolsMailTypeSetup(t)
		cfg := poolsWriteConfig(t, strings.Replace(mapped, "pool: transactional", "pool: dedicated", 1), db)
		planPath := filepath.Join(t.TempDir(), "plan.json")
		out, errOut, err := cliRun(t, "pools", "plan", "-c", cfg, "--out", planPath, "-o", "json")
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		var doc struct {
			Tiers []struct {
				Pool       string `json:"pool"`
				PoolExists bool   `json:"pool_exists"`
				PoolIPs    int    `json:"pool_ips"`
			} `json:"tiers"`
			Blockers []map[string]any `json:"blockers"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Tiers) != 3 || !doc.Tiers[0].PoolExists || doc.Tiers[0].PoolIPs != 0 || doc.Tiers[1].PoolIPs != 2 ||
			len(doc.Blockers) != 1 || doc.Blockers[0]["pool"] != "dedicated" || doc.Blockers[0]["problem"] != "no_ips" {
			t.Errorf("plan JSON tiers %+v blockers %v", doc.Tiers, doc.Blockers)
		}
		_, errOut, err = cliRun(t, "pools", "apply", "-c", cfg, "--plan", planPath, "--yes")
		if err == nil || report(&strings.Builder{}, err) != 2 || !strings.Contains(errOut, "target pool dedicated has no IPs") ||
			!strings.Contains(err.Error(), "target pool(s) dedicated have no IPs") {
			t.Errorf("apply: err %v\n%s", err, errOut)
		}
		if m := poolsMutations(srv); len(m) != 0 {
			t.Errorf("a blocked plan made calls: %v", poolsCallStrings(m))
		}
	})
	t.Run("tiers mapped onto the account's pools", func(t *testing.T) {
		srv, db := poolsMailTypeSetup(t)
		cfg := poolsWriteConfig(t, mapped, db)
		planPath := filepath.Join(t.TempDir(), "plan.json")
		if _, errOut, err := cliRun(t, "pools", "plan", "-c", cfg, "--out", planPath, "-o", "json"); err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		out, errOut, err := cliRun(t, "pools", "apply", "-c", cfg, "--plan", planPath, "--yes")
		if err != nil {
			t.Fatalf("apply: %v\n%s%s", err, out, errOut)
		}
		want := []string{
			`PUT /v3/subusers/falling-tx/ips ["192.0.2.31"]`,
			`PUT /v3/subusers/warm-sender/ips ["192.0.2.11","192.0.2.12"]`,
		}
		if got := poolsCallStrings(poolsMutations(srv)); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("server received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// Right after, the new plan proposes no move.
		out, _, err = cliRun(t, "pools", "plan", "-c", cfg, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Subusers []struct {
				Username string `json:"username"`
				Move     bool   `json:"move"`
				Reason   string `json:"reason"`
			} `json:"subusers"`
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Subusers {
			if s.Move {
				t.Errorf("re-plan moves %s: %s", s.Username, s.Reason)
			}
		}
	})
}
