// Package pools plans the grouping of subusers in IP pools by their SEQ
// scores, as SendGrid's SEQ overview recommends ("group senders by sending
// habits and reputation"), and finds underperforming senders in a shared
// pool.
//
// # Tiers
//
// Each subuser's daily median score over a trailing window (Config.WindowDays)
// places it in one of the configured tiers (Config.Tiers, best first). The
// placement is replayed day by day over the stored history: a subuser
// changes tier only after its daily median has stayed in the new tier for
// Config.HoldDays consecutive days, and it is not promoted to a better tier
// while its score is falling. The plan is therefore a pure function of the
// stored history and the current pool membership.
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
