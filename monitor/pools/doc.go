// Package pools plans the grouping of subusers in IP pools by their SEQ
// scores, as SendGrid's SEQ overview recommends ("group senders by sending
// habits and reputation"), and finds underperforming senders in a shared
// pool.
//
// # Tiers
//
// Each subuser's median score over a trailing window (Config.WindowDays)
// places it in one of the configured tiers (Config.Tiers, best first).
// Hysteresis only delays leaving the tier of the pool a subuser sends
// through now: it stays in that tier's pool until its daily median has been
// on the same side of the tier for Config.HoldDays consecutive days, and it
// is not promoted while its score is falling. A subuser that moves —
// because its pool is no tier's pool, or because it changed tier — goes to
// the tier its current median falls in, never to a tier whose range
// excludes that median. The plan is a pure function of the stored history
// and the current pool layout.
//
// # Applying
//
// [Prepare] checks everything applying a plan needs before any call: the
// plan is fresh, and every target pool exists and holds at least one IP.
// Otherwise it returns a *[StaleError] or a *[BlockedError] and nothing is
// changed. A plan made when none of the tiers' pools exists suggests a
// mapping of the tiers onto the account's own pools (Plan.SuggestedTiers).
//
// # Current state
//
// [LoadState] reads which pool(s) each subuser sends through from the IPs
// API (each IP lists its pools and subusers) and the pools API.
//
// # Outliers
//
// A subuser whose median is at least Config.OutlierGap below the median of
// a pool it shares with at least Config.OutlierMinMembers-1 other scored
// subusers is an underperforming sender; [Detector] reports it to the
// monitor as an [alert.RuleOutlier] alert.
package pools

import "github.com/sgseq/sgseq/client"

// ReplayDays is how many days of stored history, ending at the plan's
// as-of day, the planner replays to place subusers in tiers: SendGrid's
// retention, [client.RetentionDays].
const ReplayDays = client.RetentionDays

// eps absorbs floating-point noise in score comparisons.
const eps = 1e-9
