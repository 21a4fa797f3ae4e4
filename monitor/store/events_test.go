package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/rules"
	"github.com/sgseq/sgseq/monitor/store"
)

// TestAlertEvents drives alert states through the real lifecycle
// (rules.Reconcile and Plan.Commit, then SaveAlerts, as a sweep does) and
// checks the history the store records.
func TestAlertEvents(t *testing.T) {
	var s *store.SQLite = MustOpenStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	d := client.MustParseDate("2026-11-19")
	drop := func(sev alert.Severity, day int) alert.Alert {
		return alert.Alert{Key: "acme/drop", Account: "acme", Rule: alert.RuleDrop, Severity: sev, State: alert.Firing,
			Date: d.AddDays(day), Since: d, From: client.Float(5), To: client.Float(3), Message: "acme: score fell"}
	}
	other := alert.Alert{Key: "zeta/floor", Account: "zeta", Rule: alert.RuleFloor, Severity: alert.Warning, State: alert.Firing, Date: d, Since: d}
	eval := map[string]bool{"acme": true, "zeta": true}
	steps := []struct {
		name      string
		firing    []alert.Alert
		delivered bool
	}{
		{"fires", []alert.Alert{drop(alert.Warning, 0), other}, true},
		{"reminded", []alert.Alert{drop(alert.Warning, 1), other}, true},
		{"escalates", []alert.Alert{drop(alert.Critical, 2), other}, true},
		{"reminded again", []alert.Alert{drop(alert.Critical, 3), other}, true},
		{"resolution not delivered", []alert.Alert{other}, false},
		{"resolution delivered", []alert.Alert{other}, true},
		{"fires again, delivery fails", []alert.Alert{drop(alert.Warning, 6), other}, false},
		{"clears before any delivery", []alert.Alert{other}, true},
	}
	now := t0
	for _, st := range steps {
		stored, err := s.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		plan := rules.Reconcile(now, 24*time.Hour, stored, st.firing, eval)
		delivered := map[string]bool{}
		if st.delivered {
			for _, a := range plan.Notify {
				delivered[a.Key] = true
			}
		}
		up, del := plan.Commit(delivered)
		if err := s.SaveAlerts(ctx, up, del); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		now = now.Add(24 * time.Hour)
	}
	evs, err := s.AlertEvents(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind alert.EventKind
		sev  alert.Severity
		at   time.Time // zero: the write time, not checked
	}{
		{alert.EventFired, alert.Warning, t0},
		{alert.EventReminded, alert.Warning, t0.Add(24 * time.Hour)},
		{alert.EventEscalated, alert.Critical, t0.Add(48 * time.Hour)},
		{alert.EventReminded, alert.Critical, t0.Add(72 * time.Hour)},
		{alert.EventResolved, alert.Critical, time.Time{}},
		{alert.EventFired, alert.Warning, t0.Add(6 * 24 * time.Hour)},
		{alert.EventResolved, alert.Warning, time.Time{}},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.Kind != w.kind || e.Severity != w.sev || e.Key != "acme/drop" || e.Rule != alert.RuleDrop || (!w.at.IsZero() && !e.At.Equal(w.at)) {
			t.Errorf("event %d = %s %s at %s, want %s %s at %s", i, e.Kind, e.Severity, e.At, w.kind, w.sev, w.at)
		}
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Errorf("event %d: id %d not after %d", i, e.ID, evs[i-1].ID)
		}
	}
	if evs[4].Date != d.AddDays(3) {
		t.Errorf("resolution date %s, want the last firing day %s", evs[4].Date, d.AddDays(3))
	}
	// zeta fires once and is reminded at every delivered sweep (repeat 24h).
	if z, err := s.AlertEvents(ctx, "zeta"); err != nil || len(z) != 6 || z[0].Kind != alert.EventFired || z[5].Kind != alert.EventReminded {
		t.Errorf("zeta events %+v, %v: want one firing and 5 reminders", z, err)
	}
	if n, err := s.AlertEvents(ctx, "nobody"); err != nil || len(n) != 0 {
		t.Errorf("events of an account without alerts: %+v, %v", n, err)
	}
}
