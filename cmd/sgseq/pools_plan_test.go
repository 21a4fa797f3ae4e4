package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/store"
)

// poolsTestSetup starts the simulated demo account, stores its last 30
// days of enabled subusers' scores in a fresh store and writes a config
// mapping the tiers onto the demo pools. It returns the server, the store
// path and the config path.
func poolsTestSetup(t *testing.T) (*seqtest.Server, string, string) {
	t.Helper()
	srv := cliSim(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sgseq.db")
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := poolsDemoFill(ctx, c, st, cliYesterday(), 30); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "sgseq.yaml")
	if err := os.WriteFile(cfg, []byte(poolsDemoConfigYAML+"store:\n  path: "+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, db, cfg
}

// poolsMutations returns the server's non-GET calls.
func poolsMutations(srv *seqtest.Server) []seqtest.Call {
	var out []seqtest.Call
	for _, c := range srv.Calls() {
		if c.Method != "GET" {
			out = append(out, c)
		}
	}
	return out
}

func TestPoolsPlanJSONContract(t *testing.T) {
	srv, _, cfg := poolsTestSetup(t)
	planPath := filepath.Join(t.TempDir(), "plan.json")
	out, errOut, err := cliRun(t, "pools", "plan", "--config", cfg, "-o", "json", "--out", planPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "Plan saved to "+planPath) {
		t.Errorf("stderr: %q", errOut)
	}
	saved, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(saved) != out {
		t.Errorf("--out differs from -o json")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"generated_at", "tiers", "subusers"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("plan JSON lacks %q", k)
		}
	}
	var tiers []map[string]any
	if err := json.Unmarshal(doc["tiers"], &tiers); err != nil || len(tiers) != 3 {
		t.Fatalf("tiers: %v %s", err, doc["tiers"])
	}
	if tiers[0]["name"] != "high" || tiers[0]["min_score"] != 4.5 || tiers[0]["pool"] != "transactional" {
		t.Errorf("tiers[0] = %v", tiers[0])
	}
	var subs []map[string]any
	if err := json.Unmarshal(doc["subusers"], &subs); err != nil {
		t.Fatal(err)
	}
	moves := map[string]string{}
	for _, s := range subs {
		for _, k := range []string{"username", "current_pools", "median_score", "tier", "target_pool", "move", "reason", "flags"} {
			if _, ok := s[k]; !ok {
				t.Errorf("subuser %v lacks %q", s["username"], k)
			}
		}
		if s["move"] == true {
			moves[s["username"].(string)] = s["target_pool"].(string)
		}
	}
	want := map[string]string{
		"acme-news": "shared", "auto-parts": "marketing", "bargain-blast": "shared", "daily-deals": "shared",
		"event-invites": "marketing", "music-fest": "marketing", "petcare-mail": "shared",
	}
	if len(moves) != len(want) {
		t.Errorf("moves = %v, want %v", moves, want)
	}
	for u, p := range want {
		if moves[u] != p {
			t.Errorf("move of %s = %q, want %q", u, moves[u], p)
		}
	}
	if m := poolsMutations(srv); len(m) != 0 {
		t.Errorf("plan made mutating calls: %+v", m)
	}
}

func TestPoolsPlanTableAndCSV(t *testing.T) {
	_, db, _ := poolsTestSetup(t)
	// Without --config: default tiers, whose pools the demo account lacks,
	// so every placed subuser in a pool moves.
	t.Setenv("SGSEQ_DB", db)
	out, errOut, err := cliRun(t, "pools", "plan", "--all")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, s := range []string{"IP-pool plan as of " + cliYesterday().String(), "Moves (", "Tiers after the moves:",
		"high  ≥4", "high-reputation", "Flagged (", "summer-promo", "ineligible", "All subusers ("} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	out, _, err = cliRun(t, "pools", "plan", "--db", db, "-o", "csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], poolsCSVHeader) || len(recs) < 30 {
		t.Errorf("csv header %v, %d rows", recs[0], len(recs))
	}
}

func TestPoolsPlanErrors(t *testing.T) {
	cliSim(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no store", []string{"pools", "plan", "--db", filepath.Join(dir, "missing.db")}, "no score history at"},
		{"bad output", []string{"pools", "plan", "-o", "xml"}, "invalid --output"},
		{"bad as-of", []string{"pools", "plan", "--as-of", "yesterday"}, "invalid --as-of"},
		{"bad config", []string{"pools", "plan", "-c", filepath.Join(dir, "bad.yaml")}, "pools.tiers[1].min_score"},
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("pools:\n  tiers:\n    - {name: a, min_score: 3, pool: p}\n    - {name: b, min_score: 4, pool: q}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	st, err := store.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	tests = append(tests, struct {
		name string
		args []string
		want string
	}{"empty store", []string{"pools", "plan", "--db", empty}, "no subuser scores"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cliRun(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), seqtest.TestAPIKey) {
				t.Error("error leaks the API key")
			}
		})
	}
}

func TestPoolsDemoSection(t *testing.T) {
	var out strings.Builder
	if err := demoRun(context.Background(), &out, []int{30}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, s := range []string{"30. IP pools", "Moves (7):", "bargain-blast  transactional  shared",
		"underperforming sender in pool transactional", "Dry run: apply would make these 7 call(s)",
		`PUT /v3/subusers/bargain-blast/ips ["198.51.100.31","198.51.100.32"]`} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("demo output lacks %q:\n%s", s, out.String())
		}
	}
}

// TestPoolsPlanAsOfAfterStore: a plan as of a day the store does not hold
// yet is refused (every subuser would read as ineligible); an earlier day
// is planned.
func TestPoolsPlanAsOfAfterStore(t *testing.T) {
	_, _, cfg := poolsTestSetup(t)
	latest := cliYesterday()
	_, _, err := cliRun(t, "pools", "plan", "-c", cfg, "--as-of", latest.AddDays(3).String())
	if err == nil || !strings.Contains(err.Error(), "is after the newest stored day, "+latest.String()) {
		t.Errorf("as-of after the store: err = %v", err)
	}
	out, _, err := cliRun(t, "pools", "plan", "-c", cfg, "--as-of", latest.AddDays(-2).String())
	if err != nil || !strings.Contains(out, "IP-pool plan as of "+latest.AddDays(-2).String()) {
		t.Errorf("as-of an earlier day: err %v\n%s", err, out)
	}
}
