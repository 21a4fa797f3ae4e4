package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/store"
	"github.com/sgseq/sgseq/monitor/web"
)

// benchStore stores days days of n subusers (scores 1–5, one in ten
// ineligible some days) and a firing alert for one in twenty.
func benchStore(b *testing.B, n, days int) *store.SQLite {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	at := time.Unix(1_700_000_000, 0)
	rows := make([]history.DayScore, n)
	for i := range days {
		d := lastDay.AddDays(i - days + 1)
		for u := range n {
			rows[u] = history.DayScore{Account: fmt.Sprintf("sender-%05d", u), FetchedAt: at}
			if (u+i)%10 != 0 {
				v := float64(1 + (u*7+i)%5)
				rows[u].Score, rows[u].Metrics = client.Float(v), metricsOf(v)
			}
		}
		if err := st.SaveDay(ctx, history.ScopeSubusers, d, rows); err != nil {
			b.Fatal(err)
		}
	}
	var recs []alert.Record
	for u := 0; u < n; u += 20 {
		acct := fmt.Sprintf("sender-%05d", u)
		recs = append(recs, alert.Record{Alert: alert.Alert{Key: acct + "/drop", Account: acct, Rule: alert.RuleDrop, Severity: alert.Warning,
			State: alert.Firing, Date: lastDay, From: client.Float(4), To: client.Float(2), Since: lastDay,
			Message: acct + ": score fell 4 → 2", Advice: "Too many recipients have not opened or clicked recently: send to engaged recipients."}, FirstFired: at})
	}
	if err := st.SaveAlerts(ctx, recs, nil); err != nil {
		b.Fatal(err)
	}
	id, err := st.BeginSweep(ctx, at)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.FinishSweep(ctx, id, at.Add(time.Minute), nil); err != nil {
		b.Fatal(err)
	}
	return st
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPage renders path b.N times; besides the wall time per page it
// reports the CPU time per page (cpu-ms/op), which a shared machine
// disturbs less.
func benchPage(b *testing.B, h http.Handler, path string, before func()) {
	b.Helper()
	var size int
	cpu0 := cpuTime()
	for b.Loop() {
		if before != nil {
			before()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size)/1024, "KB/page")
}

// BenchmarkOverview10000 renders the overview of 10,000 accounts with 90
// stored days each: go test -run '^$' -bench Overview -benchtime 10x ./monitor/web/
func BenchmarkOverview10000(b *testing.B) {
	st := benchStore(b, 10_000, 90)
	h := web.Handler(st, web.Options{})
	// A new sweep before each view: every view reads the store.
	sweep := func() {
		ctx := context.Background()
		at := time.Now()
		id, err := st.BeginSweep(ctx, at)
		if err == nil {
			err = st.FinishSweep(ctx, id, at.Add(time.Second), nil)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("overview-after-sweep", func(b *testing.B) { benchPage(b, h, "/", sweep) })
	b.Run("overview-again", func(b *testing.B) { benchPage(b, h, "/", nil) })
	b.Run("api-status", func(b *testing.B) { benchPage(b, h, "/api/v1/status", nil) })
	b.Run("account", func(b *testing.B) { benchPage(b, h, "/accounts/sender-00020", nil) })
}
