package rules_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/rules"
)

var t0 = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

func firing(account string, rule alert.Rule, sev alert.Severity) alert.Alert {
	return alert.Alert{
		Key: alert.Key(account, rule, ""), Account: account, Rule: rule, Severity: sev,
		State: alert.Firing, Date: day(3), Since: day(2), From: client.Float(5), To: client.Float(3),
		Message: account + ": " + string(rule),
	}
}

// memStore applies Commit's output like Store.SaveAlerts does.
type memStore map[string]alert.Record

func (m memStore) records() []alert.Record {
	var out []alert.Record
	for _, r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (m memStore) save(upsert []alert.Record, del []string) {
	for _, r := range upsert {
		m[r.Key] = r
	}
	for _, k := range del {
		delete(m, k)
	}
}

// step is one run of the lifecycle.
type step struct {
	at        time.Duration // since t0
	firing    []alert.Alert
	evaluated []string // nil = every account named in firing plus "a" and "b"
	fail      []string // keys whose delivery fails
	notify    []string // expected notifications: "key state" plus " reminder"
}

func (s step) run(t *testing.T, m memStore, i int) {
	t.Helper()
	ev := map[string]bool{"a": true, "b": true}
	if s.evaluated != nil {
		ev = map[string]bool{}
		for _, a := range s.evaluated {
			ev[a] = true
		}
	}
	p := rules.Reconcile(t0.Add(s.at), 0, m.records(), s.firing, ev)
	var got []string
	delivered := map[string]bool{}
	for _, n := range p.Notify {
		d := n.Key + " " + string(n.State)
		if n.Reminder {
			d += " reminder"
		}
		if n.State == alert.Resolved && !strings.HasPrefix(n.Message, "resolved: ") {
			t.Errorf("step %d: resolution message %q", i, n.Message)
		}
		got = append(got, d)
		delivered[n.Key] = true
	}
	for _, k := range s.fail {
		delete(delivered, k)
	}
	if !reflect.DeepEqual(got, s.notify) {
		t.Errorf("step %d (at %v): notify\n got %q\nwant %q", i, s.at, got, s.notify)
	}
	up1, del1 := p.Commit(delivered)
	up2, del2 := p.Commit(delivered)
	if !reflect.DeepEqual(up1, up2) || !reflect.DeepEqual(del1, del2) {
		t.Errorf("step %d: Commit is not repeatable", i)
	}
	m.save(up1, del1)
}

func TestReconcileLifecycle(t *testing.T) {
	t.Parallel()
	drop := firing("a", alert.RuleDrop, alert.Warning)
	dropCrit := firing("a", alert.RuleDrop, alert.Critical)
	floorB := firing("b", alert.RuleFloor, alert.Warning)
	cases := []struct {
		name  string
		steps []step
	}{
		{"fire, notify once, quiet within repeat, remind after it, resolve once", []step{
			{at: 0, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: time.Hour, firing: []alert.Alert{drop}},
			{at: 23 * time.Hour, firing: []alert.Alert{drop}},
			{at: 24 * time.Hour, firing: []alert.Alert{drop}, notify: []string{"a/drop firing reminder"}},
			{at: 30 * time.Hour, firing: []alert.Alert{drop}},
			{at: 49 * time.Hour, firing: []alert.Alert{drop}, notify: []string{"a/drop firing reminder"}},
			{at: 50 * time.Hour, notify: []string{"a/drop resolved"}},
			{at: 51 * time.Hour},
		}},
		{"restart: same stored records, nothing repeated", []step{
			{at: 0, firing: []alert.Alert{drop, floorB}, notify: []string{"a/drop firing", "b/floor firing"}},
			{at: time.Minute, firing: []alert.Alert{drop, floorB}},
			{at: 2 * time.Minute, firing: []alert.Alert{drop, floorB}},
		}},
		{"failed delivery is retried next run", []step{
			{at: 0, firing: []alert.Alert{drop}, fail: []string{"a/drop"}, notify: []string{"a/drop firing"}},
			{at: time.Hour, firing: []alert.Alert{drop}, fail: []string{"a/drop"}, notify: []string{"a/drop firing"}},
			{at: 2 * time.Hour, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: 3 * time.Hour, firing: []alert.Alert{drop}},
		}},
		{"failed resolution is retried, then deleted", []step{
			{at: 0, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: time.Hour, fail: []string{"a/drop"}, notify: []string{"a/drop resolved"}},
			{at: 2 * time.Hour, fail: []string{"a/drop"}, notify: []string{"a/drop resolved"}},
			{at: 3 * time.Hour, notify: []string{"a/drop resolved"}},
			{at: 4 * time.Hour},
		}},
		{"cleared before it was ever delivered: no resolution", []step{
			{at: 0, firing: []alert.Alert{drop}, fail: []string{"a/drop"}, notify: []string{"a/drop firing"}},
			{at: time.Hour},
			{at: 2 * time.Hour},
		}},
		{"back before its resolution went out: a new firing", []step{
			{at: 0, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: time.Hour, fail: []string{"a/drop"}, notify: []string{"a/drop resolved"}},
			{at: 2 * time.Hour, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: 3 * time.Hour, firing: []alert.Alert{drop}},
		}},
		{"account not evaluated keeps its state", []step{
			{at: 0, firing: []alert.Alert{drop, floorB}, notify: []string{"a/drop firing", "b/floor firing"}},
			{at: 48 * time.Hour, evaluated: []string{"a"}, firing: []alert.Alert{drop}, notify: []string{"a/drop firing reminder"}},
			{at: 49 * time.Hour, evaluated: []string{"a"}, notify: []string{"a/drop resolved"}},
			{at: 49 * time.Hour, evaluated: []string{}},
			{at: 50 * time.Hour, evaluated: []string{"b"}, firing: []alert.Alert{floorB}, notify: []string{"b/floor firing reminder"}},
			{at: 51 * time.Hour, evaluated: []string{"b"}, notify: []string{"b/floor resolved"}},
		}},
		{"escalation is notified at once, de-escalation is not", []step{
			{at: 0, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: time.Hour, firing: []alert.Alert{dropCrit}, notify: []string{"a/drop firing"}},
			{at: 2 * time.Hour, firing: []alert.Alert{drop}},
			{at: 3 * time.Hour, firing: []alert.Alert{dropCrit}},
			{at: 26 * time.Hour, firing: []alert.Alert{dropCrit}, notify: []string{"a/drop firing reminder"}},
		}},
		{"failed reminder is retried next run", []step{
			{at: 0, firing: []alert.Alert{drop}, notify: []string{"a/drop firing"}},
			{at: 25 * time.Hour, firing: []alert.Alert{drop}, fail: []string{"a/drop"}, notify: []string{"a/drop firing reminder"}},
			{at: 26 * time.Hour, firing: []alert.Alert{drop}, notify: []string{"a/drop firing reminder"}},
			{at: 27 * time.Hour, firing: []alert.Alert{drop}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := memStore{}
			for i, s := range tc.steps {
				s.run(t, m, i)
			}
		})
	}
}

func TestReconcileRecords(t *testing.T) {
	t.Parallel()
	a := firing("a", alert.RuleDrop, alert.Warning)
	a.Key = "" // filled from account, rule and metric
	p := rules.Reconcile(t0, time.Hour, nil, []alert.Alert{a, firing("a", alert.RuleDrop, alert.Critical)}, nil)
	if len(p.Notify) != 1 || p.Notify[0].Key != "a/drop" || p.Notify[0].Severity != alert.Critical {
		t.Fatalf("duplicates not merged to the most severe: %+v", p.Notify)
	}
	if f := p.Firing(); len(f) != 1 || f[0].Key != "a/drop" {
		t.Errorf("Firing() = %+v", f)
	}
	up, del := p.Commit(map[string]bool{"a/drop": true})
	if len(del) != 0 || len(up) != 1 {
		t.Fatalf("Commit = %+v, %v", up, del)
	}
	r := up[0]
	if !r.FirstFired.Equal(t0) || !r.LastNotified.Equal(t0) || r.NotifiedSeverity != alert.Critical || r.State != alert.Firing {
		t.Errorf("record %+v", r)
	}
	// Nothing delivered: the record stays un-notified.
	up, _ = p.Commit(nil)
	if !up[0].LastNotified.IsZero() || up[0].NotifiedSeverity != "" {
		t.Errorf("undelivered record marked notified: %+v", up[0])
	}

	// The stored content follows the latest evaluation while quiet; FirstFired
	// is kept; the repeat interval is honoured.
	later := firing("a", alert.RuleDrop, alert.Critical)
	later.Date, later.To = day(4), client.Float(2)
	p = rules.Reconcile(t0.Add(30*time.Minute), time.Hour, []alert.Record{r}, []alert.Alert{later}, map[string]bool{"a": true})
	if len(p.Notify) != 0 {
		t.Errorf("notified within the repeat interval: %+v", p.Notify)
	}
	up, _ = p.Commit(nil)
	if up[0].Date != day(4) || *up[0].To != 2 || !up[0].FirstFired.Equal(t0) || !up[0].LastNotified.Equal(t0) {
		t.Errorf("quiet update: %+v", up[0])
	}
	p = rules.Reconcile(t0.Add(time.Hour), time.Hour, up, []alert.Alert{later}, map[string]bool{"a": true})
	if len(p.Notify) != 1 || !p.Notify[0].Reminder {
		t.Errorf("no reminder after the repeat interval: %+v", p.Notify)
	}

	// A resolution carries the last known values.
	p = rules.Reconcile(t0.Add(2*time.Hour), time.Hour, up, nil, map[string]bool{"a": true})
	if len(p.Notify) != 1 {
		t.Fatalf("no resolution: %+v", p.Notify)
	}
	res := p.Notify[0]
	if res.State != alert.Resolved || res.Reminder || res.Date != day(4) || *res.To != 2 || res.Message != "resolved: a: drop" {
		t.Errorf("resolution %+v", res)
	}
	if f := p.Firing(); len(f) != 0 {
		t.Errorf("resolved alert still listed as firing: %+v", f)
	}
	_, del = p.Commit(map[string]bool{"a/drop": true})
	if !reflect.DeepEqual(del, []string{"a/drop"}) {
		t.Errorf("delivered resolution not deleted: %v", del)
	}

	// An account not evaluated: its firing alert is still listed as firing,
	// and nothing about it is written back.
	p = rules.Reconcile(t0.Add(3*time.Hour), time.Hour, up, nil, map[string]bool{"other": true})
	if len(p.Notify) != 0 {
		t.Errorf("unevaluated account notified: %+v", p.Notify)
	}
	if f := p.Firing(); len(f) != 1 || f[0].Key != "a/drop" {
		t.Errorf("Firing() without evaluation = %+v", f)
	}
	if up2, del2 := p.Commit(nil); len(up2) != 0 || len(del2) != 0 {
		t.Errorf("unevaluated account written back: %+v %v", up2, del2)
	}
}

// ExampleEvaluate shows a subuser whose score fell from 5 to 3 because its
// engagement recency collapsed.
func ExampleEvaluate() {
	d := client.MustParseDate("2026-11-10")
	good := &client.Metrics{EngagementRecency: 5, OpenRate: 5, BounceClassification: 5, BounceRate: 5, SpamRate: 5}
	bad := &client.Metrics{EngagementRecency: 1, OpenRate: 4, BounceClassification: 5, BounceRate: 5, SpamRate: 5}
	history := []history.DayScore{
		{Account: "acme-news", Date: d, Score: client.Float(5), Metrics: good},
		{Account: "acme-news", Date: d.AddDays(1), Score: client.Float(5), Metrics: good},
		{Account: "acme-news", Date: d.AddDays(2), Score: client.Float(3), Metrics: bad},
	}
	for _, a := range rules.Evaluate(rules.DefaultConfig(), "acme-news", history) {
		fmt.Printf("%s [%s] %s\n", a.Key, a.Severity, a.Message)
	}
	// Output:
	// acme-news/drop [critical] acme-news: score fell 5 → 3 on 2026-11-12 (drop of 2; engagement recency 5 → 1, unique open rate 5 → 4)
	// acme-news/metric/engagement_recency [critical] acme-news: engagement recency fell 5 → 1 on 2026-11-12 (drop of 4)
}

// TestCommitDelivered: the states of one accepted message's alerts, and
// nothing else; the full Commit afterwards agrees.
func TestCommitDelivered(t *testing.T) {
	t.Parallel()
	old := alert.Record{Alert: firing("gone", alert.RuleFloor, alert.Warning), FirstFired: t0.Add(-48 * time.Hour),
		LastNotified: t0.Add(-24 * time.Hour), NotifiedSeverity: alert.Warning}
	quiet := alert.Record{Alert: firing("quiet", alert.RuleDrop, alert.Info), FirstFired: t0.Add(-time.Hour),
		LastNotified: t0.Add(-time.Hour), NotifiedSeverity: alert.Info}
	p := rules.Reconcile(t0, 24*time.Hour, []alert.Record{old, quiet},
		[]alert.Alert{firing("a", alert.RuleDrop, alert.Critical), firing("b", alert.RuleDrop, alert.Warning), quiet.Alert},
		map[string]bool{"gone": true, "a": true, "b": true, "quiet": true})
	if len(p.Notify) != 3 { // a, b, gone resolved
		t.Fatalf("Notify = %+v", p.Notify)
	}
	up, del := p.CommitDelivered([]string{"a/drop", "gone/floor", "unknown"})
	if len(up) != 1 || up[0].Key != "a/drop" || !up[0].LastNotified.Equal(t0) || !reflect.DeepEqual(del, []string{"gone/floor"}) {
		t.Errorf("CommitDelivered = %+v, %v; want a/drop notified and gone/floor deleted only", up, del)
	}
	full, _ := p.Commit(map[string]bool{"a/drop": true, "gone/floor": true})
	for _, r := range full {
		if r.Key == "a/drop" && !reflect.DeepEqual(r, up[0]) {
			t.Errorf("Commit and CommitDelivered disagree on a/drop: %+v vs %+v", r, up[0])
		}
	}
}
