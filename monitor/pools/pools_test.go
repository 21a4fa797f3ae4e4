package pools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// genTime is the plan time used in tests: the morning after asOf.
var genTime = asOf.AddDays(1).Time().Add(7 * time.Hour)

// subject builds a seqtest subject from scores (see hist).
func subject(id int64, name string, scores []float64) seqtest.Subject {
	s := seqtest.Subject{ID: id, Username: name, Email: name + "@example.com"}
	for _, d := range hist(scores...) {
		s.History = append(s.History, seqtest.Day{Date: d.Date, Score: d.Score, Metrics: d.Metrics})
	}
	return s
}

// testAccount is a small account with three tier pools:
//
//	alpha, india, juliet  high  constant 5 (juliet 4.5)      stay
//	bravo                 high  5, then 2 for 10 days          move to low; outlier in high
//	charlie               mid   3, then 5 for 10 days          move to high
//	delta                 low   constant 2                     stay
//	echo                  high  5, ineligible the last 2 days  ineligible, stays
//	foxtrot               mid   3 scored days                  too new, stays
//	golf                  -     4 on an IP outside any pool    no pool
//	hotel                 high+mid  4                          multiple pools
//	kilo                  low   2, then 5 for 10 days          move to high
func testAccount() *seqtest.Account {
	a := &seqtest.Account{
		Parent: subject(1, "parent", rep(4, 40)),
		Subusers: []seqtest.Subject{
			subject(101, "alpha", rep(5, 40)),
			subject(102, "bravo", cat(rep(5, 30), rep(2, 10))),
			subject(103, "charlie", cat(rep(3, 30), rep(5, 10))),
			subject(104, "delta", rep(2, 40)),
			subject(105, "echo", cat(rep(5, 38), []float64{na, na})),
			subject(106, "foxtrot", cat(rep(na, 37), rep(4, 3))),
			subject(107, "golf", rep(4, 40)),
			subject(108, "hotel", rep(4, 40)),
			subject(109, "india", rep(5, 40)),
			subject(110, "juliet", rep(4.5, 40)),
			subject(111, "kilo", cat(rep(2, 30), rep(5, 10))),
		},
		IPs: []seqtest.IPAddr{
			{IP: "10.0.0.1", Pools: []string{"high-reputation"}, Subusers: []string{"alpha", "bravo", "echo", "india", "hotel"}},
			{IP: "10.0.0.2", Pools: []string{"high-reputation"}, Subusers: []string{"juliet", "alpha"}},
			{IP: "10.0.1.1", Pools: []string{"mid-reputation"}, Subusers: []string{"charlie", "foxtrot", "hotel"}},
			{IP: "10.0.2.1", Pools: []string{"low-reputation"}, Subusers: []string{"delta", "kilo"}},
			{IP: "10.0.9.9", Subusers: []string{"golf"}},
		},
		Pools: []string{"high-reputation", "mid-reputation", "low-reputation"},
		End:   asOf,
	}
	// bravo's fall comes with a bad spam rate.
	for i := 30; i < 40; i++ {
		m := *a.Subusers[1].History[i].Metrics
		m.SpamRate, m.OpenRate = 1, 3
		a.Subusers[1].History[i].Metrics = &m
	}
	return a
}

// fixture is a simulated account served by seqtest, with every subuser's
// history written to a fresh store.
type fixture struct {
	srv *seqtest.Server
	c   *client.Client
	st  *store.SQLite
}

// newFixture serves a (testAccount when nil) and stores its histories.
// The store of testAccount is shared by the tests, which only read it:
// filling a SQLite store is slow under the race detector.
func newFixture(t *testing.T, a *seqtest.Account) *fixture {
	t.Helper()
	var st *store.SQLite
	if a == nil {
		a = testAccount()
		sharedStoreOnce.Do(func() {
			sharedStoreDir, sharedStoreErr = os.MkdirTemp("", "pools-test-")
			if sharedStoreErr == nil {
				sharedStore, sharedStoreErr = fillStore(filepath.Join(sharedStoreDir, "sgseq.db"), a)
			}
		})
		if sharedStoreErr != nil {
			t.Fatal(sharedStoreErr)
		}
		st = sharedStore
	} else {
		var err error
		if st, err = fillStore(filepath.Join(t.TempDir(), "sgseq.db"), a); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
	}
	srv := seqtest.NewServer(seqtest.WithAccount(a), seqtest.WithNow(func() time.Time { return genTime }))
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, c: c, st: st}
}

var (
	sharedStoreOnce sync.Once
	sharedStore     *store.SQLite
	sharedStoreDir  string
	sharedStoreErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if sharedStore != nil {
		_ = sharedStore.Close()
	}
	if sharedStoreDir != "" {
		_ = os.RemoveAll(sharedStoreDir)
	}
	os.Exit(code)
}

// fillStore opens a new store at path holding every subuser day of a.
func fillStore(path string, a *seqtest.Account) (*store.SQLite, error) {
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	byDate := map[client.Date][]history.DayScore{}
	for _, s := range a.Subusers {
		for _, d := range s.History {
			byDate[d.Date] = append(byDate[d.Date], history.DayScore{Account: s.Username, Date: d.Date, Score: d.Score, Metrics: d.Metrics, FetchedAt: genTime})
		}
	}
	for d, rows := range byDate {
		if err := st.SaveDay(ctx, history.ScopeSubusers, d, rows); err != nil {
			_ = st.Close()
			return nil, err
		}
	}
	return st, nil
}

// plan makes the plan of the fixture's current state.
func (f *fixture) plan(t *testing.T, cfg Config) *Plan {
	t.Helper()
	ctx := context.Background()
	state, err := LoadState(ctx, f.c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanFromStore(ctx, cfg, f.st, state, asOf, genTime)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mutations returns the non-GET calls the server received.
func (f *fixture) mutations() []seqtest.Call {
	var out []seqtest.Call
	for _, c := range f.srv.Calls() {
		if c.Method != http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

func TestPlanGolden(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	p := f.plan(t, DefaultConfig())
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	// The golden file excludes generated_at.
	got := regexp.MustCompile(`\n  "generated_at": "[^"]*",`).ReplaceAll(buf.Bytes(), nil)
	golden := filepath.Join("testdata", "plan.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan differs from %s (run go test -update and review the diff):\n%s", golden, got)
	}
}

func TestPlanKnownHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	p := f.plan(t, DefaultConfig())
	type want struct {
		tier, target string
		move         bool
		flags        string
	}
	wants := map[string]want{
		"alpha":   {"high", "high-reputation", false, ""},
		"bravo":   {"low", "low-reputation", true, "outlier"},
		"charlie": {"high", "high-reputation", true, ""},
		"delta":   {"low", "low-reputation", false, ""},
		"echo":    {"high", "high-reputation", false, "ineligible"},
		"foxtrot": {"", "mid-reputation", false, "too_new"},
		"golf":    {"high", "", false, "no_pool"},
		"hotel":   {"high", "", false, "multiple_pools"},
		"india":   {"high", "high-reputation", false, ""},
		"juliet":  {"high", "high-reputation", false, ""},
		"kilo":    {"high", "high-reputation", true, ""},
	}
	if len(p.Subusers) != len(wants) {
		t.Fatalf("plan has %d subusers, want %d", len(p.Subusers), len(wants))
	}
	for _, s := range p.Subusers {
		w, ok := wants[s.Username]
		if !ok {
			t.Errorf("unexpected subuser %s", s.Username)
			continue
		}
		got := want{s.Tier, s.TargetPool, s.Move, strings.Join(s.Flags, ",")}
		if got != w {
			t.Errorf("%s: got %+v, want %+v (reason: %s)", s.Username, got, w, s.Reason)
		}
		if s.Reason == "" {
			t.Errorf("%s: empty reason", s.Username)
		}
	}
	b, _ := p.Subuser("bravo")
	for _, part := range []string{"median 2 over 7 days", "tier low", "for 7 days (since 2026-11-18), the tier its current median falls in; changed tier: its median went below 4, out of tier high of its pool, on 2026-11-18 and stayed out 7 days (3 required)", "from pool high-reputation",
		"spam_rate 1", "underperforming sender in pool high-reputation: score 2 vs pool median 4.5"} {
		if !strings.Contains(b.Reason, part) {
			t.Errorf("bravo's reason %q lacks %q", b.Reason, part)
		}
	}
	if len(p.Outliers) != 1 || p.Outliers[0].Username != "bravo" || p.Outliers[0].Since != asOf.AddDays(-9) {
		t.Errorf("outliers = %+v, want bravo since %s", p.Outliers, asOf.AddDays(-9))
	}
	wantSummary := []TierSummary{
		{Tier: "high", Pool: "high-reputation", Subusers: 6, MovesIn: 2, MovesOut: 1, MedianScore: client.Float(5)},
		{Tier: "mid", Pool: "mid-reputation", Subusers: 1, MovesIn: 0, MovesOut: 1, MedianScore: client.Float(4)},
		{Tier: "low", Pool: "low-reputation", Subusers: 2, MovesIn: 1, MovesOut: 1, MedianScore: client.Float(2)},
	}
	for i, w := range wantSummary {
		g := p.Summary[i]
		if g.Tier != w.Tier || g.Pool != w.Pool || g.Subusers != w.Subusers || g.MovesIn != w.MovesIn || g.MovesOut != w.MovesOut ||
			(g.MedianScore == nil) != (w.MedianScore == nil) || (g.MedianScore != nil && *g.MedianScore != *w.MedianScore) {
			t.Errorf("summary[%d] = %+v, want %+v", i, g, w)
		}
	}
	tcs := p.TierChanges()
	var names []string
	for _, tc := range tcs {
		names = append(names, tc.Username+":"+tc.FromTier+">"+tc.ToTier)
	}
	if strings.Join(names, " ") != "bravo:high>low charlie:mid>high kilo:low>high" {
		t.Errorf("tier changes = %v", names)
	}
}

func TestPlanHysteresisThroughStore(t *testing.T) {
	t.Parallel()
	// With a 1-day window the daily median is the score itself.
	cfg := DefaultConfig()
	cfg.WindowDays = 1
	a := testAccount()
	a.Subusers = []seqtest.Subject{
		subject(201, "dip2", cat(rep(5, 30), rep(3, 2))),
		subject(202, "dip3", cat(rep(5, 30), rep(3, 3))),
		subject(203, "dip2-back", cat(rep(5, 30), rep(3, 2), rep(5, 1))),
	}
	a.IPs = []seqtest.IPAddr{{IP: "10.0.0.1", Pools: []string{"high-reputation"}, Subusers: []string{"dip2", "dip3", "dip2-back"}}}
	f := newFixture(t, a)
	p := f.plan(t, cfg)
	for _, tt := range []struct {
		name string
		move bool
		tier string
		text string
	}{
		{"dip2", false, "high", "median in tier mid for 2 of 3 days needed: hysteresis keeps it in its pool until then"},
		{"dip3", true, "mid", "changed tier: its median went below 4, out of tier high of its pool, on 2026-11-22 and stayed out 3 days (3 required)"},
		{"dip2-back", false, "high", "tier high"},
	} {
		s, _ := p.Subuser(tt.name)
		if s.Move != tt.move || s.Tier != tt.tier || !strings.Contains(s.Reason, tt.text) {
			t.Errorf("%s: move %v tier %s reason %q; want move %v tier %s reason with %q", tt.name, s.Move, s.Tier, s.Reason, tt.move, tt.tier, tt.text)
		}
	}
}

func TestApplyMakesExactlyThePlannedCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	p := f.plan(t, DefaultConfig())
	pr, err := Prepare(ctx, f.c, p, ApplyOptions{Now: func() time.Time { return genTime.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range pr.Calls {
		want = append(want, c.String())
	}
	wantText := `PUT /v3/subusers/bravo/ips ["10.0.2.1"]
PUT /v3/subusers/charlie/ips ["10.0.0.1","10.0.0.2"]
PUT /v3/subusers/kilo/ips ["10.0.0.1","10.0.0.2"]`
	if strings.Join(want, "\n") != wantText {
		t.Fatalf("prepared calls:\n%s\nwant:\n%s", strings.Join(want, "\n"), wantText)
	}
	if len(f.mutations()) != 0 {
		t.Fatalf("Prepare made mutating calls: %+v", f.mutations())
	}
	var out bytes.Buffer
	if err := pr.Execute(ctx, f.c, &out); err != nil {
		t.Fatalf("Execute: %v\n%s", err, out.String())
	}
	assertCalls(t, f.mutations(), pr.Calls)
	for _, c := range pr.Calls {
		if !strings.Contains(out.String(), c.String()+"\n  ok\n") {
			t.Errorf("output lacks %q:\n%s", c, out.String())
		}
	}
	// The account now follows the plan...
	state, err := LoadState(ctx, f.c)
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]string{"bravo": "low-reputation", "charlie": "high-reputation", "kilo": "high-reputation"} {
		if got := state.PoolsOf(u); !slices.Equal(got, []string{want}) {
			t.Errorf("%s now in %v, want [%s]", u, got, want)
		}
	}
	// ...and a new plan has nothing left to move.
	if moves := f.plan(t, DefaultConfig()).Moves(); len(moves) != 0 {
		t.Errorf("re-plan moves %+v", moves)
	}
	// The applied plan is now stale.
	var se *StaleError
	if _, err := Prepare(ctx, f.c, p, ApplyOptions{Now: func() time.Time { return genTime }}); !errors.As(err, &se) || len(se.Problems) != 3 || !se.Applied ||
		!strings.Contains(err.Error(), "(already its target pool)") {
		t.Errorf("re-apply: err = %v (applied %v), want a StaleError with 3 problems saying the plan was applied", err, se != nil && se.Applied)
	}
}

// assertCalls checks that the server received exactly the planned calls,
// in order, with equal JSON bodies.
func assertCalls(t *testing.T, got []seqtest.Call, want []Call) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("server received %d mutating calls, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Method != want[i].Method || got[i].Path != want[i].Path || !jsonEqual(t, got[i].Body, want[i].Body) {
			t.Errorf("call %d = %s %s %s, want %s", i, got[i].Method, got[i].Path, got[i].Body, want[i])
		}
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Errorf("body %q: %v", a, err)
		return false
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Errorf("body %q: %v", b, err)
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

func TestApplyFailureHalfWay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	p := f.plan(t, DefaultConfig())
	pr, err := Prepare(ctx, f.c, p, ApplyOptions{Now: func() time.Time { return genTime }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.FailOn(http.MethodPut, "/v3/subusers/charlie/ips", http.StatusInternalServerError, 0)
	var out bytes.Buffer
	err = pr.Execute(ctx, f.c, &out)
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("Execute = %v, want an *ApplyError", err)
	}
	if len(ae.Succeeded) != 1 || ae.Succeeded[0].Username != "bravo" || ae.Failed.Username != "charlie" ||
		len(ae.NotAttempted) != 1 || ae.NotAttempted[0].Username != "kilo" {
		t.Errorf("ApplyError = %+v, want bravo succeeded, charlie failed, kilo not attempted", ae)
	}
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Errorf("error %v does not carry the API's 500", err)
	}
	// Exactly bravo's and charlie's calls reached the server; kilo's did not.
	assertCalls(t, f.mutations(), pr.Calls[:2])
	var rep bytes.Buffer
	ae.Report(&rep)
	for _, s := range []string{
		"Succeeded (1):\n  PUT /v3/subusers/bravo/ips [\"10.0.2.1\"]\n",
		"Failed (1):\n  PUT /v3/subusers/charlie/ips [\"10.0.0.1\",\"10.0.0.2\"]\n    error: ",
		"500",
		"Not attempted (1):\n  PUT /v3/subusers/kilo/ips [\"10.0.0.1\",\"10.0.0.2\"]\n",
	} {
		if !strings.Contains(rep.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, rep.String())
		}
	}
	if !strings.Contains(out.String(), "PUT /v3/subusers/charlie/ips [\"10.0.0.1\",\"10.0.0.2\"]\n  FAILED: ") {
		t.Errorf("progress output:\n%s", out.String())
	}
	if strings.Contains(rep.String()+out.String()+err.Error(), seqtest.TestAPIKey) {
		t.Error("output leaks the API key")
	}
}

func TestApplyStalePlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		mutate  func(t *testing.T, f *fixture)
		opts    ApplyOptions
		wantErr string // "" = accepted
	}{
		{"fresh", nil, ApplyOptions{}, ""},
		{"too old", nil, ApplyOptions{Now: func() time.Time { return genTime.Add(25 * time.Hour) }}, "more than 24h0m0s"},
		{"too old but forced", nil, ApplyOptions{Force: true, Now: func() time.Time { return genTime.Add(25 * time.Hour) }}, ""},
		{"custom max age", nil, ApplyOptions{MaxAge: time.Hour, Now: func() time.Time { return genTime.Add(2 * time.Hour) }}, "more than 1h0m0s"},
		{"moved subuser changed pools", func(t *testing.T, f *fixture) {
			if _, err := f.c.AssignSubuserIPs(ctx, "bravo", []string{"10.0.1.1"}); err != nil {
				t.Fatal(err)
			}
		}, ApplyOptions{Force: true}, "subuser bravo sent through pools [high-reputation] when planned, now [mid-reputation]"},
		{"unmoved subuser changed pools", func(t *testing.T, f *fixture) {
			if _, err := f.c.AssignSubuserIPs(ctx, "alpha", []string{"10.0.1.1"}); err != nil {
				t.Fatal(err)
			}
		}, ApplyOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			p := f.plan(t, DefaultConfig())
			if tt.mutate != nil {
				tt.mutate(t, f)
			}
			before := len(f.mutations())
			if tt.opts.Now == nil {
				tt.opts.Now = func() time.Time { return genTime }
			}
			_, err := Prepare(ctx, f.c, p, tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Prepare = %v, want accepted", err)
				}
			} else {
				var se *StaleError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Prepare = %v, want a StaleError with %q", err, tt.wantErr)
				}
				if se.Applied {
					t.Errorf("StaleError.Applied = true for a plan that was not applied")
				}
			}
			if len(f.mutations()) != before {
				t.Errorf("Prepare made mutating calls")
			}
		})
	}
}

// TestApplyBlocked: a target pool that is missing or holds no IP refuses
// the whole plan before any call, even the moves into good pools; with
// CreatePools only the missing pools are created, and nobody is moved.
func TestApplyBlocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		highPool    string // tier high's pool: 5 subusers move into it, bravo into low-reputation
		create      bool
		wantMissing []string
		wantEmpty   []string
		wantCalls   []string // mutating calls made
	}{
		{"missing pool", "top-senders", false, []string{"top-senders"}, nil, nil},
		{"empty pool", "empty-pool", false, nil, []string{"empty-pool"}, nil},
		{"missing pool, --create-pools", "top-senders", true, []string{"top-senders"}, nil, []string{`POST /v3/ips/pools {"name":"top-senders"}`}},
		{"empty pool, --create-pools", "empty-pool", true, nil, []string{"empty-pool"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := testAccount()
			a.Pools = append(a.Pools, "empty-pool")
			f := newFixture(t, a)
			cfg := DefaultConfig()
			cfg.Tiers[0].Pool = tt.highPool
			p := f.plan(t, cfg)
			if len(p.Blockers) != 1 || p.Blockers[0].Pool != tt.highPool || p.Blockers[0].Moves != 5 {
				t.Errorf("plan blockers = %+v, want %s with 5 moves", p.Blockers, tt.highPool)
			}
			opts := ApplyOptions{CreatePools: tt.create, Now: func() time.Time { return genTime }}
			pr, err := Prepare(ctx, f.c, p, opts)
			var be *BlockedError
			if !tt.create {
				if !errors.As(err, &be) || !slices.Equal(be.Missing, tt.wantMissing) || !slices.Equal(be.Empty, tt.wantEmpty) {
					t.Fatalf("Prepare = %v, want a BlockedError missing %v, empty %v", err, tt.wantMissing, tt.wantEmpty)
				}
				for _, s := range []string{"no call was made", tt.highPool, "add IPs to them in SendGrid", "pools.tiers[].pool"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if m := f.mutations(); len(m) != 0 {
					t.Errorf("a blocked plan made calls: %+v", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pr.Blocked == nil || len(pr.Waiting) != 6 {
				t.Fatalf("prepared = %+v, want blocked with 6 waiting moves", pr)
			}
			err = pr.Execute(ctx, f.c, &bytes.Buffer{})
			if !errors.As(err, &be) || !slices.Equal(be.Created, tt.wantMissing) {
				t.Fatalf("Execute = %v, want a BlockedError after creating %v", err, tt.wantMissing)
			}
			var got []string
			for _, c := range f.mutations() {
				got = append(got, c.Method+" "+c.Path+" "+strings.TrimSpace(c.Body))
			}
			if !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls %v, want %v", got, tt.wantCalls)
			}
			// The plan stays valid: once the pool has IPs it applies.
			if tt.wantMissing != nil {
				if acct := f.srv.Account(); !slices.Contains(acct.Pools, tt.highPool) {
					t.Errorf("pool not created: %v", acct.Pools)
				}
			}
		})
	}
}

func TestApplyNoMovesNoCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := testAccount()
	a.Subusers = a.Subusers[:1] // alpha only: stays
	f := newFixture(t, a)
	pr, err := Prepare(ctx, f.c, f.plan(t, DefaultConfig()), ApplyOptions{Now: func() time.Time { return genTime }})
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Execute(ctx, f.c, &bytes.Buffer{}); err != nil || len(pr.Calls) != 0 || len(f.mutations()) != 0 {
		t.Errorf("Execute = %v with calls %v, mutations %v", err, pr.Calls, f.mutations())
	}
}

func TestReadPlan(t *testing.T) {
	t.Parallel()
	good := `{"version":1,"generated_at":"2026-11-25T07:00:00Z","subusers":[{"username":"a","move":true,"target_pool":"p","current_pools":["q"]}]}`
	tests := []struct {
		name, in, wantErr string
	}{
		{"good", good, ""},
		{"not json", "{", "not plan JSON"},
		{"version", `{"version":2,"generated_at":"2026-11-25T07:00:00Z"}`, "version 2"},
		{"no time", `{"version":1}`, "no generated_at"},
		{"no username", `{"version":1,"generated_at":"2026-11-25T07:00:00Z","subusers":[{}]}`, "no username"},
		{"twice", `{"version":1,"generated_at":"2026-11-25T07:00:00Z","subusers":[{"username":"a"},{"username":"a"}]}`, "twice"},
		{"no target", `{"version":1,"generated_at":"2026-11-25T07:00:00Z","subusers":[{"username":"a","move":true}]}`, "no target_pool"},
		{"empty", " \n", "empty file"},
		{"truncated", good[:40], "line 1, column 41: unexpected end of file (truncated?)"},
		{"syntax, where", "{\"version\": 1,\n  \"subusers\": [,]}", "line 2, column 16: invalid character ','"},
		{"wrong type, which field", "{\"version\": 1,\n\"subusers\": [{\"username\": \"a\", \"move\": \"yes\"}]}", "line 2, column 44: subusers.move: want bool, got string"},
		{"trailing data", good + "\n{}", "line 2, column 1: invalid character '{' after top-level value"},
		{"target not a tier's pool", `{"version":1,"generated_at":"2026-11-25T07:00:00Z","tiers":[{"name":"high","min_score":4,"pool":"p"}],"subusers":[{"username":"a","move":true,"target_pool":"elsewhere"}]}`, `moves to pool "elsewhere", which is the pool of none of the plan's tiers`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ReadPlan(strings.NewReader(tt.in))
			if tt.wantErr == "" {
				if err != nil || len(p.Moves()) != 1 {
					t.Fatalf("ReadPlan = %+v, %v", p, err)
				}
				return
			}
			var ie *InvalidPlanError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadPlan = %v, want InvalidPlanError with %q", err, tt.wantErr)
			}
		})
	}
}

func TestDetector(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	d := NewDetector(f.c, DefaultConfig(), WithNow(func() time.Time { return genTime }))
	as, tcs, err := d.Detect(ctx, f.st, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 {
		t.Fatalf("alerts = %+v, want one", as)
	}
	a := as[0]
	if a.Key != alert.Key("bravo", alert.RuleOutlier, "") || a.Account != "bravo" || a.Rule != alert.RuleOutlier ||
		a.Severity != alert.Warning || a.State != alert.Firing || a.Date != asOf || a.Since != asOf.AddDays(-9) ||
		*a.From != 4.5 || *a.To != 2 {
		t.Errorf("alert = %+v", a)
	}
	if !strings.Contains(a.Message, "underperforming sender in pool high-reputation") || !strings.Contains(a.Advice, "spam_rate 1") {
		t.Errorf("message %q advice %q", a.Message, a.Advice)
	}
	if len(tcs) != 3 || tcs[0] != (alert.TierChange{Username: "bravo", FromTier: "high", ToTier: "low",
		FromPool: "high-reputation", ToPool: "low-reputation", Reason: tcs[0].Reason}) || tcs[0].Reason == "" {
		t.Errorf("tier changes = %+v", tcs)
	}
	if len(f.mutations()) != 0 {
		t.Error("Detect made mutating calls")
	}

	t.Run("disabled", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Enabled = false
		before := len(f.srv.Calls())
		as, tcs, err := NewDetector(f.c, cfg).Detect(ctx, f.st, asOf)
		if as != nil || tcs != nil || err != nil || len(f.srv.Calls()) != before {
			t.Errorf("disabled detector: %v %v %v", as, tcs, err)
		}
	})
}

func TestDetectorErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.srv.FailOn(http.MethodGet, "/v3/ips", http.StatusForbidden, 0)
	as, tcs, err := NewDetector(f.c, DefaultConfig()).Detect(ctx, f.st, asOf)
	if as != nil || tcs != nil || err != nil {
		t.Errorf("forbidden: %v %v %v, want nothing", as, tcs, err)
	}

	g := newFixture(t, nil)
	g.srv.FailOn(http.MethodGet, "/v3/ips/pools", http.StatusBadRequest, 0)
	_, _, err = NewDetector(g.c, DefaultConfig()).Detect(ctx, g.st, asOf)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), "list IP pools") {
		t.Errorf("pools failure: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), seqtest.TestAPIKey) {
		t.Error("error leaks the API key")
	}
}

func TestDemoAccountOutliers(t *testing.T) {
	t.Parallel()
	// The only outlier the demo account plants is the only one found.
	// Built from the histories directly: storing 120 days × 36 subusers
	// is slow under the race detector.
	a := seqtest.DemoAccount(asOf)
	srv := seqtest.NewServer(seqtest.WithAccount(a))
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	state, err := LoadState(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(DefaultConfig(), state, accountHistory(a), asOf, genTime)
	if err != nil {
		t.Fatal(err)
	}
	var planted []seqtest.Planted
	for _, pl := range a.Planted() {
		if pl.Kind == seqtest.KindOutlier {
			planted = append(planted, pl)
		}
	}
	if len(p.Outliers) != len(planted) {
		t.Fatalf("outliers %+v, planted %+v", p.Outliers, planted)
	}
	for i, o := range p.Outliers {
		w := planted[i]
		if o.Username != w.Account || o.Since != w.Date || o.PoolMedian != w.From || o.Score != w.To {
			t.Errorf("outlier %+v, planted %+v", o, w)
		}
	}
}

// accountHistory returns the subusers' histories of a in NewPlan's form.
func accountHistory(a *seqtest.Account) map[string][]Day {
	out := map[string][]Day{}
	for _, s := range a.Subusers {
		for _, d := range s.History {
			out[s.Username] = append(out[s.Username], Day{Date: d.Date, Score: d.Score, Metrics: d.Metrics})
		}
	}
	return out
}

func FuzzReadPlan(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "plan.golden.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(golden))
	f.Add(`{"version":1,"generated_at":"2026-11-25T07:00:00Z","subusers":[{"username":"a","move":true,"target_pool":"p"}]}`)
	f.Add(`{"version":1,"subusers":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ReadPlan(strings.NewReader(in))
		if err != nil {
			var ie *InvalidPlanError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InvalidPlanError", err)
			}
			return
		}
		for _, m := range p.Moves() {
			if m.Username == "" || m.TargetPool == "" {
				t.Fatalf("accepted move %+v", m)
			}
		}
	})
}

func TestResolveAsOf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	empty, err := store.Open(ctx, filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = empty.Close() })
	tests := []struct {
		name    string
		st      history.Reader
		in      client.Date
		want    client.Date
		wantErr string
	}{
		{"default: the newest stored day", f.st, client.Date{}, asOf, ""},
		{"an earlier day", f.st, asOf.AddDays(-5), asOf.AddDays(-5), ""},
		{"the newest day", f.st, asOf, asOf, ""},
		{"after the newest day", f.st, asOf.AddDays(1), client.Date{}, "--as-of 2026-11-25 is after the newest stored day, 2026-11-24"},
		{"empty store", empty, client.Date{}, client.Date{}, "no subuser scores"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveAsOf(ctx, tt.st, tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveAsOf = %v, %v; want error %q", got, err, tt.wantErr)
				}
				var ae *AsOfError
				if errors.As(err, &ae) != (tt.st == f.st) || errors.Is(err, ErrNoHistory) != (tt.st == empty) {
					t.Errorf("error %v: wrong type", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ResolveAsOf = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
