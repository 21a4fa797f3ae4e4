package rules

import (
	"sort"
	"strings"
	"time"

	"github.com/sgseq/sgseq/monitor/alert"
)

// DefaultRepeat is the default interval between reminders of a still-firing
// alert.
const DefaultRepeat = 24 * time.Hour

// resolvedPrefix starts the message of a resolution.
const resolvedPrefix = "resolved: "

// entry kinds of a Reconciliation.
const (
	keepFiring  = iota // upsert rec; mark notified if delivered
	sendResolve        // delete if delivered, else keep as pending resolution
	dropSilent         // cleared before it was ever notified: delete
	untouched          // account not evaluated: not written back
)

type planEntry struct {
	kind   int
	rec    alert.Record
	notify bool
}

// Reconciliation is the outcome of [Reconcile]: the notifications to send
// now and, through [Reconciliation.Commit], the alert states to store once
// they were sent.
type Reconciliation struct {
	// Notify lists the alerts to deliver now, sorted by key: new firings,
	// escalations (severity rose since the last delivery), reminders
	// (Reminder true) and resolutions (State Resolved).
	Notify []alert.Alert

	now     time.Time
	entries []planEntry
}

// Reconcile is the alert lifecycle. Given the stored states, the alerts
// firing now for the accounts evaluated in this run, the clock and the
// repeat interval (0 or less means [DefaultRepeat]), it returns what to
// notify now:
//
//   - a new firing alert is notified once;
//   - a still-firing alert is notified again as a reminder (Reminder true)
//     once its last delivery is older than repeat, or at once when its
//     severity rose above the severity last delivered;
//   - an alert never delivered so far (its delivery failed) is notified
//     again, as new;
//   - a stored firing alert of an evaluated account that no longer holds
//     gives one alert with State Resolved; if it was never delivered it is
//     dropped silently;
//   - a resolution whose delivery failed earlier is retried.
//
// Accounts not in evaluated keep their stored state untouched; alerts in
// firing are always processed. An alert with an empty Key gets
// alert.Key(Account, Rule, Metric).
func Reconcile(now time.Time, repeat time.Duration, stored []alert.Record, firing []alert.Alert, evaluated map[string]bool) *Reconciliation {
	if repeat <= 0 {
		repeat = DefaultRepeat
	}
	p := &Reconciliation{now: now}

	// The alerts firing now, one per key (the most severe wins).
	cur := make(map[string]alert.Alert, len(firing))
	for _, a := range firing {
		if a.Key == "" {
			a.Key = alert.Key(a.Account, a.Rule, a.Metric)
		}
		a.State, a.Reminder = alert.Firing, false
		if old, ok := cur[a.Key]; ok && old.Severity.Rank() >= a.Severity.Rank() {
			continue
		}
		cur[a.Key] = a
	}
	byKey := make(map[string]alert.Record, len(stored))
	for _, r := range stored {
		byKey[r.Key] = r
	}

	for key, a := range cur {
		r, ok := byKey[key]
		switch {
		case !ok || r.State == alert.Resolved:
			// New, or back before its resolution went out: a new episode.
			p.add(keepFiring, alert.Record{Alert: a, FirstFired: now}, a)
		case r.LastNotified.IsZero():
			r.Alert = a
			p.add(keepFiring, r, a)
		case a.Severity.Rank() > r.NotifiedSeverity.Rank():
			r.Alert = a
			p.add(keepFiring, r, a)
		case now.Sub(r.LastNotified) >= repeat:
			r.Alert = a
			rem := a
			rem.Reminder = true
			p.add(keepFiring, r, rem)
		default:
			r.Alert = a
			p.entries = append(p.entries, planEntry{kind: keepFiring, rec: r})
		}
	}

	for _, r := range stored {
		if _, ok := cur[r.Key]; ok {
			continue
		}
		if !evaluated[r.Account] {
			p.entries = append(p.entries, planEntry{kind: untouched, rec: r})
			continue
		}
		switch {
		case r.State == alert.Resolved:
			p.add(sendResolve, r, r.Alert) // retry a pending resolution
		case r.LastNotified.IsZero():
			p.entries = append(p.entries, planEntry{kind: dropSilent, rec: r})
		default:
			res := r.Alert
			res.State, res.Reminder = alert.Resolved, false
			if !strings.HasPrefix(res.Message, resolvedPrefix) {
				res.Message = resolvedPrefix + res.Message
			}
			rec := alert.Record{Alert: res, FirstFired: r.FirstFired, NotifiedSeverity: r.NotifiedSeverity}
			p.add(sendResolve, rec, res)
		}
	}
	sort.Slice(p.Notify, func(i, j int) bool { return p.Notify[i].Key < p.Notify[j].Key })
	sort.Slice(p.entries, func(i, j int) bool { return p.entries[i].rec.Key < p.entries[j].rec.Key })
	return p
}

func (p *Reconciliation) add(kind int, rec alert.Record, n alert.Alert) {
	rec.Reminder = false
	p.entries = append(p.entries, planEntry{kind: kind, rec: rec, notify: true})
	p.Notify = append(p.Notify, n)
}

// Commit returns the alert states to store after delivery (for
// [history.Store.SaveAlerts]); delivered holds the keys of the notifications
// that actually went out. A delivered firing alert or reminder is marked
// notified now; an undelivered one stays as it was, so it goes out on the
// next run. A delivered resolution deletes the record; an undelivered one is
// kept pending and retried next run. Commit does not change the Reconciliation and may
// be called more than once.
func (p *Reconciliation) Commit(delivered map[string]bool) (upsert []alert.Record, deleteKeys []string) {
	return p.commit(delivered, nil)
}

// CommitDelivered is [Reconciliation.Commit] restricted to the notifications in keys,
// all delivered: the states to store as soon as the one Slack message that
// named them was accepted, before the next message is posted, so that a
// crash repeats at most the message in flight. Keys not notified by the plan
// are ignored.
func (p *Reconciliation) CommitDelivered(keys []string) (upsert []alert.Record, deleteKeys []string) {
	only := make(map[string]bool, len(keys))
	for _, k := range keys {
		only[k] = true
	}
	return p.commit(only, only)
}

// commit computes the states; only, when not nil, restricts them to the
// notified entries whose key it holds.
func (p *Reconciliation) commit(delivered, only map[string]bool) (upsert []alert.Record, deleteKeys []string) {
	for _, e := range p.entries {
		key := e.rec.Key
		if only != nil && (!e.notify || !only[key]) {
			continue
		}
		switch e.kind {
		case keepFiring:
			rec := e.rec
			if e.notify && delivered[key] {
				rec.LastNotified = p.now
				rec.NotifiedSeverity = rec.Severity
			}
			upsert = append(upsert, rec)
		case sendResolve:
			if delivered[key] {
				deleteKeys = append(deleteKeys, key)
				continue
			}
			rec := e.rec
			rec.LastNotified = time.Time{}
			upsert = append(upsert, rec)
		case dropSilent:
			deleteKeys = append(deleteKeys, key)
		}
	}
	return upsert, deleteKeys
}

// Firing returns the alerts that are firing after this run, whether or not
// they are notified now, including the stored firing alerts of accounts not
// evaluated in this run; sorted by key. Pending resolutions are not firing.
func (p *Reconciliation) Firing() []alert.Alert {
	var out []alert.Alert
	for _, e := range p.entries {
		if e.kind == keepFiring || (e.kind == untouched && e.rec.State != alert.Resolved) {
			out = append(out, e.rec.Alert)
		}
	}
	return out
}
