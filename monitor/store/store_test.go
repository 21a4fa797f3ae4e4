package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/store"
)

// MustOpenStore opens a new store in a temporary directory and closes it
// when the test ends.
func MustOpenStore(tb testing.TB) *store.SQLite {
	tb.Helper()
	return mustOpenAt(tb, filepath.Join(tb.TempDir(), "state", "sgseq.db"))
}

func mustOpenAt(tb testing.TB, path string) *store.SQLite {
	tb.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

var (
	ctx     = context.Background()
	d1      = client.MustParseDate("2026-11-01")
	d2      = client.MustParseDate("2026-11-02")
	d3      = client.MustParseDate("2026-11-03")
	fetched = time.Date(2026, 11, 4, 6, 30, 15, 123456789, time.UTC)
)

func scored(account string, date client.Date, score float64) history.DayScore {
	return history.DayScore{
		Account: account, UserID: "uid-" + account, Date: date, Score: client.Float(score),
		Metrics: &client.Metrics{EngagementRecency: score, OpenRate: 5, BounceClassification: 4,
			BounceRate: 3.5, SpamRate: 1},
		FetchedAt: fetched,
	}
}

func ineligible(account string, date client.Date) history.DayScore {
	return history.DayScore{Account: account, UserID: "uid-" + account, Date: date, FetchedAt: fetched}
}

func mustSave(t *testing.T, s history.Store, scope string, date client.Date, days ...history.DayScore) {
	t.Helper()
	if err := s.SaveDay(ctx, scope, date, days); err != nil {
		t.Fatalf("SaveDay(%s, %s): %v", scope, date, err)
	}
}

func mustHistory(t *testing.T, s history.Store, account string, from, to client.Date) []history.DayScore {
	t.Helper()
	h, err := s.History(ctx, account, from, to)
	if err != nil {
		t.Fatalf("History(%s): %v", account, err)
	}
	return h
}

func TestRoundTripKeepsIneligibleNil(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	want := []history.DayScore{scored("acme", d1, 4), ineligible("acme", d2), scored("acme", d3, 2.5)}
	for _, d := range want {
		mustSave(t, s, history.ScopeSubusers, d.Date, d)
	}
	parent := scored(alert.ParentAccount, d1, 5)
	mustSave(t, s, history.ScopeParent, d1, parent)

	got := mustHistory(t, s, "acme", client.Date{}, client.Date{})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("History:\n got %+v\nwant %+v", got, want)
	}
	if got[1].Score != nil || got[1].Metrics != nil || got[1].Eligible() {
		t.Errorf("ineligible day came back as %+v, want nil score and metrics", got[1])
	}
	if !got[0].Eligible() || *got[0].Score != 4 {
		t.Errorf("eligible day: %+v", got[0])
	}
	if !got[0].FetchedAt.Equal(fetched) {
		t.Errorf("FetchedAt = %v, want %v", got[0].FetchedAt, fetched)
	}
	p := mustHistory(t, s, alert.ParentAccount, d1, d1)
	if len(p) != 1 || !reflect.DeepEqual(p[0], parent) {
		t.Errorf("parent history = %+v", p)
	}
}

func TestSaveDayZeroDateFilledAndUpsertIdempotent(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	d := scored("acme", client.Date{}, 3)
	mustSave(t, s, history.ScopeSubusers, d2, d)
	mustSave(t, s, history.ScopeSubusers, d2, d) // same again
	upd := scored("acme", d2, 4)
	upd.UserID = "uid-new"
	mustSave(t, s, history.ScopeSubusers, d2, upd)
	got := mustHistory(t, s, "acme", client.Date{}, client.Date{})
	if len(got) != 1 {
		t.Fatalf("got %d rows after three saves of one day, want 1: %+v", len(got), got)
	}
	if got[0].Date != d2 || *got[0].Score != 4 || got[0].UserID != "uid-new" {
		t.Errorf("row = %+v, want the last save", got[0])
	}
	// Eligible → ineligible on re-fetch clears the score and metrics.
	mustSave(t, s, history.ScopeSubusers, d2, ineligible("acme", d2))
	got = mustHistory(t, s, "acme", client.Date{}, client.Date{})
	if len(got) != 1 || got[0].Score != nil || got[0].Metrics != nil {
		t.Errorf("after ineligible upsert: %+v", got)
	}
}

func TestSaveDayRejects(t *testing.T) {
	t.Parallel()
	nan := 0.0
	nan = nan / nan
	cases := []struct {
		name  string
		scope string
		date  client.Date
		days  []history.DayScore
	}{
		{"unknown scope", "everyone", d1, []history.DayScore{scored("a", d1, 3)}},
		{"zero date", history.ScopeSubusers, client.Date{}, nil},
		{"empty account", history.ScopeSubusers, d1, []history.DayScore{scored("a", d1, 3), scored("", d1, 3)}},
		{"other date", history.ScopeSubusers, d1, []history.DayScore{scored("a", d1, 3), scored("b", d2, 3)}},
		{"NaN score", history.ScopeSubusers, d1, []history.DayScore{{Account: "a", Score: &nan}}},
		{"NaN metric", history.ScopeSubusers, d1, []history.DayScore{{Account: "a", Score: client.Float(3),
			Metrics: &client.Metrics{SpamRate: nan}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := MustOpenStore(t)
			err := s.SaveDay(ctx, tc.scope, tc.date, tc.days)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("SaveDay err = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "store: save ") {
				t.Errorf("error lacks context: %v", err)
			}
			assertNothingSaved(t, s)
		})
	}
}

func assertNothingSaved(t *testing.T, s history.Store) {
	t.Helper()
	accts, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 0 {
		t.Errorf("rows left behind for %v", accts)
	}
	for _, scope := range []string{history.ScopeParent, history.ScopeSubusers} {
		done, err := s.CompletedDates(ctx, scope, client.Date{}, client.Date{})
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 0 {
			t.Errorf("%s: completed marks left behind: %v", scope, done)
		}
	}
}

func TestSaveDayCancelledContextLeavesNothing(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	days := make([]history.DayScore, 100)
	for i := range days {
		days[i] = scored(fmt.Sprintf("u%03d", i), d1, 3)
	}
	if err := s.SaveDay(cctx, history.ScopeSubusers, d1, days); !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveDay with cancelled ctx: err = %v, want context.Canceled", err)
	}
	assertNothingSaved(t, s)
}

func TestCompletedDates(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	mustSave(t, s, history.ScopeSubusers, d1, scored("a", d1, 3))
	mustSave(t, s, history.ScopeSubusers, d3) // a date with no subuser rows is still complete
	mustSave(t, s, history.ScopeParent, d2, scored(alert.ParentAccount, d2, 4))
	cases := []struct {
		name     string
		scope    string
		from, to client.Date
		want     map[client.Date]bool
	}{
		{"subusers all", history.ScopeSubusers, d1, d3, map[client.Date]bool{d1: true, d3: true}},
		{"subusers inclusive single day", history.ScopeSubusers, d3, d3, map[client.Date]bool{d3: true}},
		{"subusers none in range", history.ScopeSubusers, d2, d2, map[client.Date]bool{}},
		{"parent", history.ScopeParent, d1, d3, map[client.Date]bool{d2: true}},
		{"open bounds", history.ScopeSubusers, client.Date{}, client.Date{}, map[client.Date]bool{d1: true, d3: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.CompletedDates(ctx, tc.scope, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := s.CompletedDates(ctx, "bogus", d1, d3); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown scope: err = %v", err)
	}
}

func TestHistoryOrderAndRange(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	base := client.MustParseDate("2026-01-30")
	// Saved out of order, across a month boundary, with another account.
	for _, off := range []int{5, 0, 3, 1, 2, 4} {
		d := base.AddDays(off)
		mustSave(t, s, history.ScopeSubusers, d, scored("acme", d, float64(1+off%5)), scored("zeta", d, 5))
	}
	cases := []struct {
		name     string
		from, to client.Date
		want     []client.Date
	}{
		{"all", client.Date{}, client.Date{}, []client.Date{base, base.AddDays(1), base.AddDays(2), base.AddDays(3), base.AddDays(4), base.AddDays(5)}},
		{"inclusive range", base.AddDays(1), base.AddDays(3), []client.Date{base.AddDays(1), base.AddDays(2), base.AddDays(3)}},
		{"open start", client.Date{}, base.AddDays(1), []client.Date{base, base.AddDays(1)}},
		{"open end", base.AddDays(4), client.Date{}, []client.Date{base.AddDays(4), base.AddDays(5)}},
		{"empty range", base.AddDays(10), base.AddDays(20), nil},
		{"reversed range", base.AddDays(3), base.AddDays(1), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []client.Date
			for _, d := range mustHistory(t, s, "acme", tc.from, tc.to) {
				if d.Account != "acme" {
					t.Errorf("row of %s in acme's history", d.Account)
				}
				got = append(got, d.Date)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("dates %v, want %v", got, tc.want)
			}
		})
	}
	if h := mustHistory(t, s, "nobody", client.Date{}, client.Date{}); len(h) != 0 {
		t.Errorf("unknown account: %v", h)
	}
}

func TestLatestAndAccounts(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	mustSave(t, s, history.ScopeSubusers, d1, scored("b", d1, 3), scored("a", d1, 2))
	mustSave(t, s, history.ScopeSubusers, d2, ineligible("b", d2), scored("c", d2, 5))
	mustSave(t, s, history.ScopeParent, d1, scored(alert.ParentAccount, d1, 4))

	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range latest {
		got = append(got, fmt.Sprintf("%s@%s:%v", d.Account, d.Date, d.Eligible()))
	}
	want := []string{"(parent)@2026-11-01:true", "a@2026-11-01:true", "b@2026-11-02:false", "c@2026-11-02:true"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Latest = %v, want %v", got, want)
	}
	accts, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"(parent)", "a", "b", "c"}; !reflect.DeepEqual(accts, want) {
		t.Errorf("Accounts = %v, want %v", accts, want)
	}
}

func rec(key string, sev alert.Severity, notified time.Time) alert.Record {
	acct, _, _ := strings.Cut(key, "/")
	return alert.Record{
		Alert: alert.Alert{
			Key: key, Account: acct, Rule: alert.RuleMetric, Metric: client.MetricSpamRate,
			Severity: sev, State: alert.Firing, Date: d3, Since: d2,
			From: client.Float(4), To: client.Float(2), Message: "m " + key, Advice: "a",
		},
		FirstFired:       fetched,
		LastNotified:     notified,
		NotifiedSeverity: sev,
	}
}

func mustAlerts(t *testing.T, s history.Store) []alert.Record {
	t.Helper()
	got, err := s.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSaveAlertsUpsertDeleteAtomic(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	a := rec("a/metric/spam_rate", alert.Warning, fetched)
	b := rec("b/metric/spam_rate", alert.Critical, time.Time{}) // never notified
	b.From = nil
	if err := s.SaveAlerts(ctx, []alert.Record{b, a}, nil); err != nil {
		t.Fatal(err)
	}
	got := mustAlerts(t, s)
	if !reflect.DeepEqual(got, []alert.Record{a, b}) {
		t.Fatalf("Alerts:\n got %+v\nwant %+v", got, []alert.Record{a, b})
	}
	if !got[1].LastNotified.IsZero() || got[1].From != nil {
		t.Errorf("zero LastNotified / nil From not kept: %+v", got[1])
	}

	// Update a, delete b, add c: one transaction.
	a.State, a.Message = alert.Resolved, "resolved"
	c := rec("c/metric/spam_rate", alert.Info, fetched)
	if err := s.SaveAlerts(ctx, []alert.Record{a, c}, []string{b.Key, "no/such/key"}); err != nil {
		t.Fatal(err)
	}
	if got := mustAlerts(t, s); !reflect.DeepEqual(got, []alert.Record{a, c}) {
		t.Fatalf("after update:\n got %+v\nwant %+v", got, []alert.Record{a, c})
	}

	// A batch with one bad record changes nothing, deletes included.
	bad := rec("", alert.Info, fetched)
	d := rec("d/metric/spam_rate", alert.Info, fetched)
	err := s.SaveAlerts(ctx, []alert.Record{d, bad}, []string{a.Key})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad batch err = %v, want ErrInvalid", err)
	}
	if got := mustAlerts(t, s); !reflect.DeepEqual(got, []alert.Record{a, c}) {
		t.Errorf("failed batch left changes: %+v", got)
	}
}

func TestSweeps(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	if _, ok, err := s.LastSweep(ctx, false); err != nil || ok {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	t0 := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	id1, err := s.BeginSweep(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	last, ok, err := s.LastSweep(ctx, false)
	if err != nil || !ok || last.ID != id1 || !last.Finished.IsZero() || last.Succeeded() {
		t.Fatalf("running sweep: %+v ok=%v err=%v", last, ok, err)
	}
	if _, ok, _ := s.LastSweep(ctx, true); ok {
		t.Fatal("a running sweep counted as successful")
	}
	if err := s.FinishSweep(ctx, id1, t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	id2, err := s.BeginSweep(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSweep(ctx, id2, t0.Add(time.Hour+time.Second), errors.New("sweep subusers 2026-11-03: boom")); err != nil {
		t.Fatal(err)
	}
	id3, err := s.BeginSweep(ctx, t0.Add(2*time.Hour)) // killed: never finished
	if err != nil {
		t.Fatal(err)
	}
	last, _, _ = s.LastSweep(ctx, false)
	if last.ID != id3 || !last.Finished.IsZero() {
		t.Errorf("LastSweep(all) = %+v, want the unfinished %d", last, id3)
	}
	if fin, ok, err := s.LastFinishedSweep(ctx); err != nil || !ok || fin.ID != id2 || fin.Succeeded() {
		t.Errorf("LastFinishedSweep = %+v ok=%v err=%v, want the failed %d (not the running %d)", fin, ok, err, id2, id3)
	}
	ok1, ok, err := s.LastSweep(ctx, true)
	want := history.SweepRecord{ID: id1, Started: t0, Finished: t0.Add(time.Minute)}
	if err != nil || !ok || ok1 != want || !ok1.Succeeded() {
		t.Errorf("LastSweep(successful) = %+v ok=%v err=%v, want %+v", ok1, ok, err, want)
	}
	if err := s.FinishSweep(ctx, 999, t0, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("FinishSweep(unknown) err = %v", err)
	}
	// The failed sweep's error text is kept.
	if err := s.FinishSweep(ctx, id3, t0.Add(3*time.Hour), errors.New("x")); err != nil {
		t.Fatal(err)
	}
	if last, _, _ = s.LastSweep(ctx, false); last.Err != "x" || last.Succeeded() {
		t.Errorf("failed sweep = %+v", last)
	}
	// Credentials never reach the store, even inside an error text.
	id4, err := s.BeginSweep(ctx, t0.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaky := errors.New(`notify (slack): Post "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX": timeout; ` +
		`key SG.abcDEF_123.xyz-789 token xoxb-1234-abcd`)
	if err := s.FinishSweep(ctx, id4, t0.Add(5*time.Hour), leaky); err != nil {
		t.Fatal(err)
	}
	if last, _, _ = s.LastSweep(ctx, false); strings.Contains(last.Err, "secret") || strings.Contains(last.Err, "SG.abc") ||
		strings.Contains(last.Err, "xoxb-") || !strings.Contains(last.Err, "notify (slack)") {
		t.Errorf("stored sweep error %q", last.Err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	for _, d := range []client.Date{d1, d2, d3} {
		mustSave(t, s, history.ScopeSubusers, d, scored("a", d, 3), scored("b", d, 4))
		mustSave(t, s, history.ScopeParent, d, scored(alert.ParentAccount, d, 4))
	}
	if n, err := s.Prune(ctx, client.Date{}); err != nil || n != 0 {
		t.Fatalf("Prune(zero) = %d, %v; want 0 (keep forever)", n, err)
	}
	n, err := s.Prune(ctx, d3)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("Prune deleted %d days, want 6", n)
	}
	for _, acct := range []string{"a", "b", alert.ParentAccount} {
		h := mustHistory(t, s, acct, client.Date{}, client.Date{})
		if len(h) != 1 || h[0].Date != d3 {
			t.Errorf("%s after prune: %+v", acct, h)
		}
	}
	done, _ := s.CompletedDates(ctx, history.ScopeSubusers, client.Date{}, client.Date{})
	if !reflect.DeepEqual(done, map[client.Date]bool{d3: true}) {
		t.Errorf("completed after prune: %v", done)
	}
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "sgseq.db")
	s := mustOpenAt(t, path)
	if s.Path() != path {
		t.Errorf("Path() = %s", s.Path())
	}
	defer func() { // Close is idempotent
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s mode %o, want at most %o", p, got, want)
		}
	}
}

func TestOpenNotADatabase(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"text":    []byte("this is not a database, just some text that is long enough to have a header\n"),
		"garbage": append([]byte("SQLite format 3\x00"), make([]byte, 200)...),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "bad.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, path)
			if err == nil {
				s.Close()
				t.Fatal("Open of a non-database succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the path: %v", err)
			}
			if !errors.Is(err, store.ErrNotDatabase) {
				t.Errorf("err = %v, want ErrNotDatabase", err)
			}
		})
	}
}

func TestMigrationsReopenAndFutureSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sgseq.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, history.ScopeSubusers, d1, scored("a", d1, 3))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: migrations are not applied twice and the data is there.
	s = mustOpenAt(t, path)
	if h := mustHistory(t, s, "a", client.Date{}, client.Date{}); len(h) != 1 {
		t.Fatalf("after reopen: %+v", h)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var versions, maxV int
	if err := raw.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&versions, &maxV); err != nil {
		t.Fatal(err)
	}
	if maxV != store.SchemaVersion() || versions != store.SchemaVersion() {
		t.Errorf("schema_migrations: %d rows, max %d; binary knows %d", versions, maxV, store.SchemaVersion())
	}

	// A newer binary wrote version N+1: this one refuses the file.
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`,
		store.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(ctx, path)
	if err == nil {
		s2.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want ErrSchemaTooNew naming the path", err)
	}
}

func TestConcurrentSaveDay(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	const goroutines, perG, accounts = 8, 3, 20
	start := client.MustParseDate("2026-08-01")
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perG*2)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				d := start.AddDays(g*perG + i)
				days := make([]history.DayScore, accounts)
				for a := range days {
					days[a] = scored(fmt.Sprintf("u%02d", a), d, float64(1+(a+i)%5))
				}
				if err := s.SaveDay(ctx, history.ScopeSubusers, d, days); err != nil {
					errs <- err
				}
				// Readers run beside the writers.
				if _, err := s.Latest(ctx); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	done, err := s.CompletedDates(ctx, history.ScopeSubusers, start, start.AddDays(goroutines*perG-1))
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != goroutines*perG {
		t.Errorf("%d dates complete, want %d", len(done), goroutines*perG)
	}
	for _, acct := range []string{"u00", "u19"} {
		if h := mustHistory(t, s, acct, client.Date{}, client.Date{}); len(h) != goroutines*perG {
			t.Errorf("%s: %d days, want %d", acct, len(h), goroutines*perG)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/lib/state")
	if p, err := store.DefaultPath(); err != nil || p != "/var/lib/state/sgseq/sgseq.db" {
		t.Errorf("with XDG_STATE_HOME: %q, %v", p, err)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, xdg := range []string{"", "relative/dir"} { // the XDG spec ignores relative paths
		t.Setenv("XDG_STATE_HOME", xdg)
		if p, err := store.DefaultPath(); err != nil || p != filepath.Join(home, ".local/state/sgseq/sgseq.db") {
			t.Errorf("XDG_STATE_HOME=%q: %q, %v", xdg, p, err)
		}
	}
}

func TestFromScore(t *testing.T) {
	t.Parallel()
	sc := client.Score{UserID: "1", Username: "acme", Date: d1, Score: client.Float(4),
		Metrics: &client.Metrics{SpamRate: 2}}
	d := history.FromScore("acme", sc, fetched)
	*sc.Score = 1 // the DayScore owns its values
	sc.Metrics.SpamRate = 5
	if d.Account != "acme" || d.UserID != "1" || d.Date != d1 || *d.Score != 4 || d.Metrics.SpamRate != 2 || !d.FetchedAt.Equal(fetched) {
		t.Errorf("FromScore = %+v", d)
	}
	if e := history.FromScore("x", client.Score{Date: d1}, fetched); e.Eligible() || e.Metrics != nil {
		t.Errorf("ineligible FromScore = %+v", e)
	}
}

// TestTwoHandlesOneFile opens the same new file twice at once (as a daemon
// and a CLI command would) and writes through both concurrently: the
// migrations run once and no write fails with SQLITE_BUSY.
func TestTwoHandlesOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	handles := make([]*store.SQLite, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			handles[i], errs[i] = store.Open(ctx, path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		t.Cleanup(func() { handles[i].Close() })
	}
	start := client.MustParseDate("2026-06-01")
	for i, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				d := start.AddDays(i*5 + j)
				days := []history.DayScore{scored("a", d, 3), scored("b", d, 4)}
				if err := h.SaveDay(ctx, history.ScopeSubusers, d, days); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("handle #%d: %v", i, err)
		}
	}
	for _, h := range handles {
		if got := mustHistory(t, h, "b", client.Date{}, client.Date{}); len(got) != 10 {
			t.Errorf("history has %d days, want 10", len(got))
		}
	}
}
