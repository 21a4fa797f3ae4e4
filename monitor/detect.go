package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/rules"
)

// Detector is an extra detection step run after the rules at every sweep,
// such as the IP-pool outlier detector of package pools. It reads the store
// (already holding the sweep's scores) as of the sweep's latest complete
// day and returns firing alerts (State Firing, with stable keys) and
// proposed tier changes for the notification digest.
//
// A detector's alerts go through the same lifecycle as the rules' alerts:
// notified once, reminded after notify.repeat_interval, resolved when a
// later sweep no longer returns them.
type Detector interface {
	Detect(ctx context.Context, st history.Reader, asOf client.Date) ([]alert.Alert, []alert.TierChange, error)
}

// detectAndNotify evaluates the rules and detectors, reconciles with the
// stored alert states, notifies, and stores the new states. A dry run
// stops before notifying: it fills res and changes nothing.
func (d *Daemon) detectAndNotify(ctx context.Context, accts *accountSet, failedScopes map[string]error, res *SweepResult, dryRun bool) error {
	// Evaluate each scope as of its newest complete day, so that a day
	// still pending does not look like a day without a score.
	evalDate := map[string]client.Date{}
	for _, scope := range []string{history.ScopeParent, history.ScopeSubusers} {
		done, err := d.store.CompletedDates(ctx, scope, res.AsOf.AddDays(-(MaxWindowDays - 1)), res.AsOf)
		if err != nil {
			return fmt.Errorf("detect: %w", err)
		}
		for dt := range done {
			if dt.After(evalDate[scope]) {
				evalDate[scope] = dt
			}
		}
	}
	stored, err := d.store.Alerts(ctx)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	firing, evaluated, err := d.evaluateRules(ctx, accts, failedScopes, evalDate)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	// Accounts with stored alerts that are no longer monitored (deleted,
	// disabled or excluded): their alerts resolve.
	monitored := map[string]bool{}
	for _, n := range accts.names {
		monitored[n] = true
	}
	for i, r := range stored {
		if !monitored[r.Account] {
			evaluated[r.Account] = true
			if r.State == alert.Firing {
				// Its resolution says why: the score did not recover.
				stored[i].Message = "resolved: " + r.Account + ": " + alert.NotMonitored
			}
		}
	}
	var errs []error
	detected := map[alert.Rule]bool{}
	for _, det := range d.detectors {
		as, tcs, err := d.runDetector(ctx, det, evalDate[history.ScopeSubusers])
		if err != nil {
			errs = append(errs, err)
			// Keep the detector-owned alerts as they are rather than
			// resolving them: carry the stored ones over.
			for _, r := range stored {
				if !builtinRule(r.Rule) && r.State == alert.Firing && !detected[r.Rule] {
					firing = append(firing, r.Alert)
				}
			}
			continue
		}
		for _, a := range as {
			detected[a.Rule] = true
		}
		firing = append(firing, as...)
		res.TierChanges = append(res.TierChanges, tcs...)
	}
	now := d.now()
	// Reconcile keeps one alert per key (the most severe).
	plan := rules.Reconcile(now, d.cfg.Notify.RepeatInterval, stored, firing, evaluated)
	res.Alerts = slices.Clone(plan.Notify)
	sort.Slice(res.Alerts, func(i, j int) bool { return res.Alerts[i].Key < res.Alerts[j].Key })
	if dryRun {
		for _, a := range plan.Notify {
			if a.State == alert.Resolved {
				res.Resolved++
			}
		}
		res.Firing = len(plan.Firing())
		return errors.Join(errs...)
	}
	err, saveErr := d.notifyPlan(ctx, plan, accts, res, now, len(errs) == 0)
	if err != nil {
		errs = append(errs, err)
	}
	if saveErr != nil {
		return errors.Join(append(errs, saveErr)...)
	}
	for _, a := range plan.Notify {
		if a.State == alert.Resolved {
			res.Resolved++
		}
	}
	res.Firing = len(plan.Firing())
	return errors.Join(errs...)
}

// notifyPlan sends the plan's notifications and the proposed IP-pool moves
// that are due, and records them: each Slack message's alerts (and moves)
// as soon as Slack accepted it, so that a crash repeats at most the message
// in flight, then every alert state of the plan. The records are written
// even when ctx ended (a SIGTERM during delivery): what went out is never
// sent twice. It returns the delivery error and, separately, a failure to
// store the alert states.
//
// When a detector failed (detectorsOK false) the stored moves are kept as
// they are: its proposals are unknown this run, not withdrawn.
func (d *Daemon) notifyPlan(ctx context.Context, plan *rules.Reconciliation, accts *accountSet, res *SweepResult, now time.Time, detectorsOK bool) (error, error) {
	// Writes outlive a cancelled ctx: they record what Slack already has.
	wctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}
	standing, err := d.store.StandingCheck(ctx)
	if err != nil {
		return fmt.Errorf("notify: %w", err), nil
	}
	sentMoves, err := d.store.PoolMoves(ctx)
	if err != nil {
		return fmt.Errorf("notify: %w", err), nil
	}
	due, gone := dueMoves(sentMoves, res.TierChanges, now, d.cfg.Notify.RepeatInterval)
	var mu sync.Mutex // Accepted runs on Notify's goroutine; guard anyway
	delivered := map[string]bool{}
	movesSaved := false
	saveMoves := func(c context.Context) error {
		if movesSaved || len(due) == 0 {
			return nil
		}
		sent := make([]history.PoolMove, len(due))
		for i, tc := range due {
			sent[i] = history.PoolMove{TierChange: tc, SentAt: now}
		}
		if err := d.store.SavePoolMoves(c, sent, nil); err != nil {
			return err
		}
		movesSaved = true
		return nil
	}
	accepted := func(actx context.Context, r notify.Receipt) error {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range r.Keys {
			delivered[k] = true
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(actx), 30*time.Second)
		defer cancel()
		up, del := plan.CommitDelivered(r.Keys)
		if err := d.store.SaveAlerts(sctx, up, del); err != nil {
			return err
		}
		if r.TierChanges {
			return saveMoves(sctx)
		}
		return nil
	}
	var notifyErr error
	if len(plan.Notify) > 0 || len(due) > 0 {
		m := notify.Message{Date: res.AsOf, Alerts: plan.Notify, TierChanges: due,
			FirstCheck: standing, Accounts: len(accts.names), Accepted: accepted}
		keys, err := d.notifier.Notify(ctx, m)
		mu.Lock()
		for _, k := range keys {
			delivered[k] = true
		}
		mu.Unlock()
		res.Delivered = len(keys)
		if err != nil {
			what := fmt.Sprintf("%d of %d alert(s) not delivered", len(plan.Notify)-len(keys), len(plan.Notify))
			if len(plan.Notify) == 0 {
				what = "proposed IP-pool moves not delivered"
			}
			notifyErr = fmt.Errorf("notify (%s): %s, sent again by the next run: %w", d.notifier.Name(), what, err)
		}
	}
	sctx, cancel := wctx()
	defer cancel()
	upsert, del := plan.Commit(delivered)
	if err := d.store.SaveAlerts(sctx, upsert, del); err != nil {
		return notifyErr, fmt.Errorf("save alerts: %w", err)
	}
	var errs []error
	if notifyErr == nil {
		// A notifier that does not call Accepted (the log sink) delivered
		// everything when it returns no error.
		if err := saveMoves(sctx); err != nil {
			errs = append(errs, fmt.Errorf("save pool moves: %w", err))
		}
		if err := d.store.MarkChecked(sctx, now); err != nil {
			errs = append(errs, err)
		}
	}
	if len(gone) > 0 && detectorsOK {
		if err := d.store.SavePoolMoves(sctx, nil, gone); err != nil {
			errs = append(errs, fmt.Errorf("save pool moves: %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(append([]error{notifyErr}, errs...)...), nil
	}
	return notifyErr, nil
}

// dueMoves returns the proposed moves to send now: those not sent before,
// changed since (other tiers or pools), or last sent repeat ago or more;
// and the subusers whose sent move is no longer proposed (forgotten, so
// that a later proposal is new).
func dueMoves(sent []history.PoolMove, proposed []alert.TierChange, now time.Time, repeat time.Duration) (due []alert.TierChange, gone []string) {
	if repeat <= 0 {
		repeat = rules.DefaultRepeat
	}
	byUser := make(map[string]history.PoolMove, len(sent))
	for _, m := range sent {
		byUser[m.Username] = m
	}
	still := map[string]bool{}
	for _, tc := range proposed {
		still[tc.Username] = true
		if m, ok := byUser[tc.Username]; ok && m.Same(tc) && now.Sub(m.SentAt) < repeat {
			continue
		}
		due = append(due, tc)
	}
	for _, m := range sent {
		if !still[m.Username] {
			gone = append(gone, m.Username)
		}
	}
	return due, gone
}

// evaluateRules evaluates the rules on every monitored account as of the
// newest complete day of its scope, skipping the scopes whose fetch failed
// or that have no complete day. It returns the firing alerts and the
// accounts evaluated. The history is read in two bulk reads: every
// account's last sweep.lookback_days, and every account's newest scored
// day, which is added when it is older than that window, so that an account
// without a score for longer than the window still counts its unscored days
// from that day (its eligibility alert keeps firing instead of looking
// resolved).
func (d *Daemon) evaluateRules(ctx context.Context, accts *accountSet, failedScopes map[string]error, evalDate map[string]client.Date) ([]alert.Alert, map[string]bool, error) {
	lookback := max(d.cfg.Sweep.LookbackDays, 1)
	var lo, hi client.Date
	for scope, asOf := range evalDate {
		if asOf.IsZero() || failedScopes[scope] != nil {
			continue
		}
		if from := asOf.AddDays(-(lookback - 1)); lo.IsZero() || from.Before(lo) {
			lo = from
		}
		if asOf.After(hi) {
			hi = asOf
		}
	}
	evaluated := map[string]bool{}
	if hi.IsZero() {
		return nil, evaluated, nil
	}
	all, err := d.store.HistoryAll(ctx, lo, hi)
	if err != nil {
		return nil, nil, err
	}
	scoredDays, err := d.store.LatestScored(ctx)
	if err != nil {
		return nil, nil, err
	}
	lastScored := make(map[string]history.DayScore, len(scoredDays))
	for _, ds := range scoredDays {
		lastScored[ds.Account] = ds
	}
	var firing []alert.Alert
	hist := make([]history.DayScore, 0, lookback+1)
	for _, name := range accts.names {
		scope := history.ScopeSubusers
		if name == alert.ParentAccount {
			scope = history.ScopeParent
		}
		asOf := evalDate[scope]
		if failedScopes[scope] != nil || asOf.IsZero() {
			continue // alerts of this account stay as they are
		}
		from := asOf.AddDays(-(lookback - 1))
		hist = hist[:0]
		if ls, ok := lastScored[name]; ok && ls.Date.Before(from) {
			hist = append(hist, ls)
		}
		for _, day := range all[name] {
			if !day.Date.Before(from) && !day.Date.After(asOf) {
				hist = append(hist, day)
			}
		}
		firing = append(firing, rules.EvaluateAt(d.cfg.Rules, name, hist, asOf)...)
		evaluated[name] = true
	}
	return firing, evaluated, nil
}

// runDetector calls one detector, turning a panic into an error so that a
// faulty detector cannot stop the sweep's bookkeeping.
func (d *Daemon) runDetector(ctx context.Context, det Detector, asOf client.Date) (as []alert.Alert, tcs []alert.TierChange, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("detector %T panicked: %v", det, p)
		}
	}()
	if asOf.IsZero() {
		return nil, nil, nil
	}
	as, tcs, err = det.Detect(ctx, d.store, asOf)
	if err != nil {
		err = fmt.Errorf("detector %T: %w", det, err)
	}
	return as, tcs, err
}

func builtinRule(r alert.Rule) bool {
	switch r {
	case alert.RuleDrop, alert.RuleBaseline, alert.RuleFloor, alert.RuleMetric, alert.RuleEligibility:
		return true
	}
	return false
}
