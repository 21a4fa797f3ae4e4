package rules_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/rules"
	"github.com/sgseq/sgseq/monitor/store"
)

// TestLifecycleSurvivesRestart runs the lifecycle through a real store that
// is closed and reopened between runs: a restart neither repeats nor forgets
// an alert.
func TestLifecycleSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sgseq.db")
	days := hist(t, "5 5 3")
	ev := map[string]bool{"acme": true}

	run := func(now time.Time, h []history.DayScore, deliver bool) []alert.Alert {
		t.Helper()
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stored, err := s.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := rules.Reconcile(now, 0, stored, rules.Evaluate(rules.DefaultConfig(), "acme", h), ev)
		delivered := map[string]bool{}
		for _, n := range p.Notify {
			delivered[n.Key] = deliver
		}
		up, del := p.Commit(delivered)
		if err := s.SaveAlerts(ctx, up, del); err != nil {
			t.Fatal(err)
		}
		return p.Notify
	}
	if got := run(t0, days, false); len(got) != 1 || got[0].Key != "acme/drop" {
		t.Fatalf("first run: %+v", got)
	}
	if got := run(t0.Add(time.Hour), days, true); len(got) != 1 {
		t.Fatalf("undelivered alert forgotten after restart: %+v", got)
	}
	if got := run(t0.Add(2*time.Hour), days, true); len(got) != 0 {
		t.Fatalf("alert repeated after restart: %+v", got)
	}
	recovered := hist(t, "5 5 3 5")
	if got := run(t0.Add(3*time.Hour), recovered, true); len(got) != 1 || got[0].State != alert.Resolved {
		t.Fatalf("no resolution: %+v", got)
	}
	if got := run(t0.Add(4*time.Hour), recovered, true); len(got) != 0 {
		t.Fatalf("resolution repeated: %+v", got)
	}
}
