// Package rules is the monitor's detection: it turns one account's stored
// daily scores into alerts ([Evaluate]) and runs the alert lifecycle —
// notify once, remind after a repeat interval, resolve once —
// ([Reconcile], [Reconciliation.Commit]).
//
// # Rules
//
//   - drop: the score fell by at least drop.min_drop against the previous
//     scored day. The alert holds from the day of the fall until the score
//     is back at its pre-drop value. From is the pre-drop score, To the
//     current one.
//   - baseline: the score is at least baseline.below_median below the median
//     of the previous baseline.window_days scored days (3 needed).
//   - floor: the score is at or below floor.max_score.
//   - metric: per metric, the value is at or below metric.max_value, or it
//     fell by at least metric.min_drop (holding until it recovers, as drop).
//   - eligibility: an account that had a score has had none for the last
//     eligibility.days days.
//
// Severity is Critical when the fall (or distance below the median) is at
// least the rule's threshold plus one, or the value reached 1; Warning
// otherwise; eligibility is Info, Warning after twice its days.
//
// Each rule may require its condition to hold for_days consecutive scored
// days before it fires; Since is still the first day.
//
// # Lifecycle
//
// [Reconcile] compares the alerts firing now with the stored states: a new
// alert is notified once, a still-firing one again as a reminder after the
// repeat interval (or at once when its severity rose), a cleared one once as
// resolved. [Reconciliation.Commit] marks notified only the keys actually delivered,
// so a failed notification goes out on the next run, and a restart (same
// stored states) repeats nothing.
package rules
