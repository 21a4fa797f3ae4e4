package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

// cliRun runs sgseq with args in-process and returns stdout, stderr and
// the error Execute returned. The API key and base URL come from the
// environment set by the caller (t.Setenv), so these tests are not parallel.
func cliRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return cliRunWithin(t, 30*time.Second, args...)
}

// cliRunWithin is cliRun with a deadline of timeout.
func cliRunWithin(t *testing.T, timeout time.Duration, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	err := execute(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

// cliSim starts a simulated account ending yesterday and points the CLI at
// it through the environment.
func cliSim(t *testing.T, opts ...seqtest.Option) *seqtest.Server {
	t.Helper()
	s := seqtest.NewServer(opts...)
	t.Cleanup(s.Close)
	t.Setenv(envAPIKey, seqtest.TestAPIKey)
	t.Setenv(envBaseURL, s.URL)
	return s
}

func TestScoresJSONContract(t *testing.T) {
	cliSim(t)
	e := cliYesterday()
	// garden-supply is ineligible on E-16..E-13.
	out, _, err := cliRun(t, "scores", "--subuser", "garden-supply", "--from", e.AddDays(-17).String(), "--to", e.AddDays(-12).String(), "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(items) != 6 {
		t.Fatalf("%d items", len(items))
	}
	for i, it := range items {
		eligible := i == 0 || i == 5
		var got bool
		if err := json.Unmarshal(it["eligible"], &got); err != nil || got != eligible {
			t.Errorf("item %d: eligible %s, want %v", i, it["eligible"], eligible)
		}
		_, hasScore := it["score"]
		_, hasMetrics := it["metrics"]
		if hasScore != eligible || hasMetrics != eligible {
			t.Errorf("item %d: score key %v metrics key %v, want %v", i, hasScore, hasMetrics, eligible)
		}
		for _, k := range []string{"user_id", "username", "date"} {
			if _, ok := it[k]; !ok {
				t.Errorf("item %d lacks %s", i, k)
			}
		}
	}
	var first struct {
		Metrics map[string]float64 `json:"metrics"`
		Score   float64            `json:"score"`
	}
	_ = json.Unmarshal(mustJSON(t, items[0]), &first)
	wantMetrics := map[string]float64{"engagement_recency": 4, "open_rate": 4, "bounce_classification": 5, "bounce_rate": 5, "spam_rate": 4}
	if first.Score != 4 || !reflect.DeepEqual(first.Metrics, wantMetrics) {
		t.Errorf("first item %+v", first)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScoresCSVAndTable(t *testing.T) {
	cliSim(t)
	e := cliYesterday()
	args := []string{"scores", "--subuser", "garden-supply", "--from", e.AddDays(-17).String(), "--to", e.AddDays(-16).String()}
	out, _, err := cliRun(t, append(args, "-o", "csv")...)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"user_id", "username", "date", "eligible", "score", "metrics.engagement_recency", "metrics.open_rate", "metrics.bounce_classification", "metrics.bounce_rate", "metrics.spam_rate"},
		{"4200114", "garden-supply", e.AddDays(-17).String(), "true", "4", "4", "4", "5", "5", "4"},
		{"4200114", "garden-supply", e.AddDays(-16).String(), "false", "", "", "", "", "", ""},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("csv\n%v\nwant\n%v", recs, want)
	}
	out, _, err = cliRun(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "n/a (ineligible)") || !strings.Contains(lines[2], "—") || strings.Contains(lines[2], " 0 ") {
		t.Errorf("table:\n%s", out)
	}
}

func TestScoresDefaultsAndOnBehalf(t *testing.T) {
	s := cliSim(t)
	out, _, err := cliRun(t, "scores", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var items []scoreJSON
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 7 {
		t.Fatalf("default range: %d items, %v", len(items), err)
	}
	if items[0].Date != cliYesterday().AddDays(-6) || items[6].Date != cliYesterday() || items[0].Username != "sgseq-demo" {
		t.Errorf("default range %v..%v user %s", items[0].Date, items[6].Date, items[0].Username)
	}
	if _, _, err := cliRun(t, "scores", "--account-id", "7001"); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if got := calls[len(calls)-1].OnBehalfOf; got != "account-id 7001" {
		t.Errorf("on-behalf-of %q", got)
	}
}

func TestScoresNoWait(t *testing.T) {
	cliSim(t, seqtest.WithPending(5))
	_, _, err := cliRun(t, "scores", "--no-wait")
	if !errors.Is(err, client.ErrScoresPending) {
		t.Fatalf("err %v, want ErrScoresPending", err)
	}
}

func TestSubusersScoresWalksPages(t *testing.T) {
	s := cliSim(t)
	out, _, err := cliRun(t, "subusers", "scores", "--limit", "7", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var items []scoreJSON
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatal(err)
	}
	ineligible := 0
	for _, it := range items {
		if !it.Eligible {
			ineligible++
			if it.Score != nil || it.Metrics != nil {
				t.Errorf("ineligible %s has a score", it.Username)
			}
		}
	}
	// summer-promo and old-newsletter have no score yesterday.
	if len(items) != 36 || ineligible != 2 {
		t.Fatalf("%d subusers, %d ineligible", len(items), ineligible)
	}
	pages := 0
	for _, c := range s.Calls() {
		if c.Path == "/v3/engagementquality/subusers/scores" {
			pages++
			if c.Query.Get("limit") != "7" {
				t.Errorf("limit %q", c.Query.Get("limit"))
			}
		}
	}
	if pages != 6 {
		t.Errorf("%d pages, want 6", pages)
	}
}

func TestSubusersListAndPools(t *testing.T) {
	cliSim(t)
	out, _, err := cliRun(t, "subusers", "list", "--in-region", "eu", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var subs []client.Subuser
	if err := json.Unmarshal([]byte(out), &subs); err != nil || len(subs) != 1 || subs[0].Username != "eu-retail" || subs[0].Region != "eu" {
		t.Fatalf("eu subusers %+v %v", subs, err)
	}
	out, _, err = cliRun(t, "subusers", "list", "-o", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 37 || lines[0] != "id,username,email,disabled,region" {
		t.Errorf("csv: %d lines, header %q", len(lines), lines[0])
	}
	out, _, err = cliRun(t, "pools", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var pools []poolsListItem
	if err := json.Unmarshal([]byte(out), &pools); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pools {
		got = append(got, p.Name)
		if len(p.IPs) == 0 || len(p.Subusers) == 0 {
			t.Errorf("pool %s: %d IPs, %d subusers", p.Name, len(p.IPs), len(p.Subusers))
		}
	}
	if !reflect.DeepEqual(got, []string{"transactional", "marketing", "shared"}) {
		t.Errorf("pools %v", got)
	}
	out, _, err = cliRun(t, "pools", "list")
	if err != nil || !strings.Contains(out, "198.51.100.32 (warmup)") {
		t.Errorf("pools table: %v\n%s", err, out)
	}
}

func TestCLIKeyAndFlagErrors(t *testing.T) {
	s := cliSim(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	if err := os.WriteFile(good, []byte("  "+seqtest.TestAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, []byte("SG.very-secret-wrong-key"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope")
	for _, tc := range []struct {
		name    string
		env     string // SENDGRID_API_KEY
		args    []string
		wantErr string // "" = success
	}{
		{"key file", "", []string{"--api-key-file", good, "pools", "list"}, ""},
		{"key file wins over env", "SG.other", []string{"--api-key-file", good, "pools", "list"}, ""},
		{"no key", "", []string{"pools", "list"}, "no API key: set SENDGRID_API_KEY or pass --api-key-file"},
		{"missing key file", "", []string{"--api-key-file", missing, "pools", "list"}, missing},
		{"empty key file", "", []string{"--api-key-file", empty, "pools", "list"}, `--api-key-file "` + empty + `" is empty`},
		{"wrong key", "", []string{"--api-key-file", wrong, "pools", "list"}, "401"},
		{"base url flag", seqtest.TestAPIKey, []string{"--base-url", s.URL, "pools", "list"}, ""},
		{"invalid output", seqtest.TestAPIKey, []string{"scores", "-o", "yaml"}, `invalid --output "yaml": want table, wide, json or csv`},
		{"invalid output subusers", seqtest.TestAPIKey, []string{"subusers", "scores", "-o", "xml"}, "invalid --output"},
		{"invalid from", seqtest.TestAPIKey, []string{"scores", "--from", "2026-02-30"}, `invalid --from "2026-02-30"`},
		{"invalid to", seqtest.TestAPIKey, []string{"scores", "--to", "tomorrow"}, `invalid --to "tomorrow"`},
		{"from after to", seqtest.TestAPIKey, []string{"scores", "--from", "2026-03-05", "--to", "2026-03-01"}, "after --to"},
		{"invalid date", seqtest.TestAPIKey, []string{"subusers", "scores", "--date", "03/01/2026"}, `invalid --date "03/01/2026"`},
		{"invalid limit", seqtest.TestAPIKey, []string{"subusers", "scores", "--limit", "0"}, "invalid --limit 0"},
		{"subuser and account id", seqtest.TestAPIKey, []string{"scores", "--subuser", "a", "--account-id", "1"}, "--subuser and --account-id cannot be used together"},
		{"future date from the API validation", seqtest.TestAPIKey, []string{"scores", "--from", "2999-01-01", "--to", "2999-01-02"}, "future"},
		{"bad region", seqtest.TestAPIKey, []string{"--region", "mars", "pools", "list"}, `invalid --region "mars"`},
		{"bad list region", seqtest.TestAPIKey, []string{"subusers", "list", "--region", "mars"}, `invalid --region "mars"`},
		{"bad log level", seqtest.TestAPIKey, []string{"--log-level", "loud", "pools", "list"}, `invalid --log-level "loud"`},
		{"bad log format", seqtest.TestAPIKey, []string{"--log-format", "xml", "pools", "list"}, `invalid --log-format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envAPIKey, tc.env)
			out, stderr, err := cliRun(t, tc.args...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v (stderr %s)", err, stderr)
				}
				if !strings.Contains(out, "transactional") {
					t.Errorf("output %q", out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			for _, secretKey := range []string{"SG.very-secret-wrong-key", seqtest.TestAPIKey} {
				if strings.Contains(err.Error(), secretKey) || strings.Contains(stderr, secretKey) {
					t.Errorf("key leaked: %v %s", err, stderr)
				}
			}
		})
	}
}

func TestWriteOutput(t *testing.T) {
	t.Parallel()
	td := tableData{Header: []string{"A", "B"}, Rows: [][]string{{"1", "x,y"}}, Footer: []string{"end"}}
	for _, tc := range []struct {
		format, want string
	}{
		{"table", "A  B\n1  x,y\nend\n"},
		{"csv", "A,B\n1,\"x,y\"\n"},
		{"json", "[\n  {\n    \"A\": \"1\",\n    \"B\": \"x,y\"\n  }\n]\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeOutput(&b, tc.format, td); err != nil || b.String() != tc.want {
				t.Errorf("got %q, %v; want %q", b.String(), err, tc.want)
			}
		})
	}
	var b bytes.Buffer
	if err := writeOutput(&b, "yaml", td); err == nil || b.Len() != 0 {
		t.Error("invalid format accepted")
	}
	// An empty scores list is an empty JSON array, not null.
	b.Reset()
	if err := writeOutput(&b, "json", scoresTable(nil)); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty json %q %v", b.String(), err)
	}
}

func TestSimParseRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		limit int
		per   time.Duration
		ok    bool
	}{
		{"10/s", 10, time.Second, true},
		{"600/m", 600, time.Minute, true},
		{"5/h", 5, time.Hour, true},
		{"100/2s", 100, 2 * time.Second, true},
		{"10/100ms", 0, 0, false},
		{"0/s", 0, 0, false},
		{"ten/s", 0, 0, false},
		{"10", 0, 0, false},
		{"10/fortnight", 0, 0, false},
	} {
		limit, per, err := simParseRate(tc.in)
		if (err == nil) != tc.ok || limit != tc.limit || per != tc.per {
			t.Errorf("%q: %d %v %v", tc.in, limit, per, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSim(t *testing.T) {
	var out, errb syncBuffer
	cmd := newSimCmd()
	newRootCmd().AddCommand(cmd) // for the persistent flags
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- simRun(ctx, cmd, simOptions{addr: "127.0.0.1:0", rateLimit: "100/s", pending: 1})
	}()
	var url string
	// Wait for the banner; the bound is generous (a loaded machine) and
	// nothing is asserted about how long it took.
	for deadline := time.Now().Add(60 * time.Second); url == "" && time.Now().Before(deadline); {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, "\n")
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if url == "" {
		cancel()
		t.Fatalf("no URL printed: %q %q", out.String(), errb.String())
	}
	for _, want := range []string{"API key: " + seqtest.TestAPIKey, "curl -H", "sgseq --base-url " + url} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	c, err := client.New(seqtest.TestAPIKey, client.WithBaseURL(url),
		client.WithPollPolicy(client.PollPolicy{MinWait: time.Millisecond, MaxWait: time.Millisecond, MaxAttempts: 5}))
	if err != nil {
		t.Fatal(err)
	}
	y := cliYesterday()
	scores, err := c.Scores(ctx, y, y)
	if err != nil || len(scores) != 1 {
		t.Fatalf("scores from sim: %v %v", scores, err)
	}
	if c.Rate().Limit != 100 {
		t.Errorf("rate %+v", c.Rate())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "stopped") {
		t.Errorf("log: %s", errb.String())
	}
	for _, tc := range []simOptions{
		{addr: "127.0.0.1:0", faults: 2},
		{addr: "127.0.0.1:0", pending: -1},
		{addr: "127.0.0.1:0", rateLimit: "x"},
		{addr: "999.1.1.1:80"},
	} {
		if err := simRun(context.Background(), cmd, tc); err == nil {
			t.Errorf("%+v accepted", tc)
		}
	}
}

func TestDemoClientSection(t *testing.T) {
	var b bytes.Buffer
	if err := demoRun(context.Background(), &b, []int{10}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"10. Client queries",
		"$ sgseq scores",
		"n/a (ineligible)",
		`"spam_rate": 1`,
		"36 subusers in all",
		"eu-retail",
		"198.51.100.32 (warmup)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if err := demoRun(context.Background(), &b, []int{999}); err == nil {
		t.Error("unknown section accepted")
	}
}

func TestDemoRegistryOrder(t *testing.T) {
	secs := demoAll()
	for i := 1; i < len(secs); i++ {
		if secs[i-1].Order > secs[i].Order {
			t.Fatalf("sections out of order: %v then %v", secs[i-1].Order, secs[i].Order)
		}
	}
	found := false
	for _, s := range secs {
		found = found || s.Order == 10
	}
	if !found {
		t.Error("client section not registered")
	}
}
