package monitor

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/store"
)

// testClock is a settable clock shared by the server and the daemon.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.Set(t)
	return c
}

func (c *testClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// setAsOf moves the clock to 06:00 UTC the day after d, so that d is the
// latest complete day.
func (c *testClock) setAsOf(d client.Date) { c.Set(d.AddDays(1).Time().Add(6 * time.Hour)) }

// recorder is a notifier that records every message and delivers all
// (or fails when fail is set).
type recorder struct {
	mu     sync.Mutex
	msgs   []notify.Message
	fail   error
	during func() // called inside Notify, before returning
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Notify(ctx context.Context, m notify.Message) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.during != nil {
		r.during()
	}
	if r.fail != nil {
		return nil, r.fail
	}
	r.msgs = append(r.msgs, m)
	keys := make([]string, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		keys = append(keys, a.Key)
	}
	return keys, nil
}

func (r *recorder) alerts() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alert.Alert
	for _, m := range r.msgs {
		out = append(out, m.Alerts...)
	}
	return out
}

// testConfig is the default config with test-friendly waits.
func testConfig() Config {
	c := DefaultConfig()
	c.SendGrid.APIKey = seqtest.TestAPIKey
	c.Sweep.PendingBackoff = time.Millisecond
	c.Sweep.RetryBackoff = time.Millisecond
	c.HTTP.Addr = ""
	return c
}

func openTestStore(tb testing.TB) *store.SQLite {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "sgseq.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// newTestDaemon builds a daemon on srv with the given store, clock and
// notifier.
func newTestDaemon(tb testing.TB, cfg Config, srv *seqtest.Server, st history.Store, clk *testClock, n notify.Notifier, opts ...Option) *Daemon {
	tb.Helper()
	base := []Option{WithClientFunc(srv.Client), WithStore(st), WithClock(clk.Now)}
	if n != nil {
		base = append(base, WithNotifier(n))
	}
	d, err := New(context.Background(), cfg, append(base, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// allDays returns the days from..to inclusive.
func allDays(from, to client.Date) []client.Date {
	var out []client.Date
	for d := from; !d.After(to); d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

// assertComplete fails unless both scopes are complete over days.
func assertComplete(t *testing.T, st history.Store, from, to client.Date) {
	t.Helper()
	for _, scope := range []string{history.ScopeParent, history.ScopeSubusers} {
		done, err := st.CompletedDates(context.Background(), scope, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var missing []client.Date
		for _, d := range allDays(from, to) {
			if !done[d] {
				missing = append(missing, d)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: days not complete: %v", scope, missing)
		}
	}
}

// historyDump renders every stored day of every account, for comparing
// two stores.
func historyDump(t *testing.T, st history.Store) []string {
	t.Helper()
	ctx := context.Background()
	accts, err := st.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range accts {
		h, err := st.History(ctx, a, client.Date{}, client.Date{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range h {
			s := "-"
			if d.Score != nil {
				s = fmt.Sprint(*d.Score)
			}
			if d.Metrics != nil {
				for _, m := range client.AllMetrics {
					v, _ := d.Metrics.Get(m)
					s += "," + fmt.Sprint(v)
				}
			}
			out = append(out, a+" "+d.Date.String()+" "+s)
		}
	}
	slices.Sort(out)
	return out
}
