// Package rating rates email contacts from a sender's own SendGrid Event
// Webhook data, after Mailchimp's contact ratings: an engagement score on a
// -5..10 scale and one to five stars, measured against how often the sender
// mails each contact. It reads webhook JSON, NDJSON and CSV at more than a
// gigabyte a second on two cores (line-oriented JSON; CSV and JSON that
// spans lines are parsed on one core), deduplicates webhook retries, accepts
// events in any order and explains every score.
//
// # Usage
//
//	e := rating.New(rating.Options{})          // AsOf zero: the newest event
//	if err := e.ReadFile(ctx, "events.ndjson.gz"); err != nil { ... }
//	res, err := e.Rate(ctx)                    // res.Ratings sorted by email
//	rating.WriteRatings(os.Stdout, rating.OutputCSV, res.Ratings)
//
// [Decode] is the simple one-event-at-a-time reader (iter.Seq2) of the same
// formats; [Engine.Explain] lists one contact's events with their effect.
// Rate consumes the stored events: call Explain before it (after it,
// Explain returns [ErrRated]).
//
// # The model
//
// Each contact's events are deduplicated, sorted by time (ties: the [Kind]
// order, then fingerprint) and replayed from an internal score s = 0.
// Events after the as-of time T (default: the newest event) are ignored, and
// a contact with no event at or before T gets no rating: the result is the
// same as rating only the events up to T.
// Every change is clamped to [-5, 10].
//
// Mail windows. A delivered event opens a mail window that lasts until the
// next delivered event; sends counts delivered events.
//
// Engagement. In each window the first human open adds OpenGain (1) and the
// first click brings the window's total to ClickGain (2): an open then a
// click add 1 + 1, a click alone adds 2. Further opens and clicks of the
// window add nothing (but are counted). Opens before the first delivery
// form a window of their own. Machine opens (sg_machine_open: true, Apple
// Mail Privacy Protection) never count as engagement; they are counted in
// machine_opens. Any engagement makes last_engaged its time.
//
// Frequency weighting (misses). When a delivered event arrives and the
// previous window had no human open or click, that mail was missed:
//
//	gap = clamp(t_delivered − t_previous_delivered, 6 h, 30 days)
//	s   = s × 0.8^(gap / 7 days)        (only if s > 0; s < 0.01 becomes 0)
//
// An unanswered monthly mail thus costs 0.8^4.3 ≈ ×0.38, as much as four
// unanswered weekly mails (0.8 each) or thirty daily ones (0.968 each): a
// miss weighs more on a monthly list than on a weekly one, and a month of
// ignored mail costs about 60% whatever the cadence. Decay never takes the
// score below 0; a contact that never engages stays at 0 (2 stars).
//
// Negative events are the only way below 0:
//
//	spamreport                     s = −5
//	bounce, type "bounce" (hard)   s = 0 if round(s) ≥ 6 (hard bounces are not always accurate), else s = −5
//	bounce, type "blocked"         s = min(s, 0) − p (whatever the score: soft bounced → 1 star),
//	                               p = 1 for a sender-side classification (Content, Reputation,
//	                               Frequency or Volume Too High, Technical), else p = 2
//	group_resubscribe after an     s = min(s, 0) − 3
//	unsubscribe/group_unsubscribe
//
// A bounce without a type counts as hard. Unsubscribes alone do not change
// the score (they mark the contact for removal, below). processed,
// deferred, dropped and account_status_change have no effect. A negative
// score recovers only through engagement.
//
// # Score, stars and segments
//
// The integer score is round(clamp(s, −5, 10)), rounding half away from
// zero (2.5 → 3, −0.5 → −1, 0.49 → 0). Stars: −5..−1 → 1★, 0 → 2★, 1 → 3★,
// 2..5 → 4★, 6..10 → 5★. Segments: 5★ champions, 4★ engaged, 3★ low,
// 2★ new (never opened or clicked) or dormant (engaged before), 1★ suppress
// (complained, hard-bounced to −5 without engaging since, or unsubscribed
// without resubscribing) or at_risk (any other negative score: blocks,
// unsubscribe then resubscribe).
//
// # Sunset policy
//
// The sunset field follows SendGrid's sunset policy. Idle time is T minus
// last_engaged (never engaged: minus the first delivery):
//
//	keep            idle < 30 days
//	send_less       30 ≤ idle < 90 days
//	send_even_less  90 ≤ idle < 180 days
//	reengage        idle ≥ 180 days: send a re-engagement campaign
//	remove          idle ≥ 180 days and the first mail delivered 180 days or more after the
//	                reference went unanswered for 14 days; also every contact that complained,
//	                hard-bounced to −5 or is unsubscribed
//
// # Duplicates and order
//
// The webhook retries: one sg_event_id can arrive many times. Each event
// is reduced to a 16-byte record holding a 48-bit fingerprint of its
// sg_event_id (without one: of event, timestamp and sg_message_id); a
// contact's records with the same fingerprint count once, keeping the
// earliest copy. Records are sorted per contact before the replay, so any
// input order gives the same ratings.
//
// # Input
//
// JSON: one event object per line (NDJSON), one webhook POST body (an
// array) per line, or one array spanning lines; CSV with a header row
// (columns by name: email, timestamp, event, sg_event_id, sg_message_id,
// type, bounce_classification, sg_machine_open, category, asm_group_id,
// url, useragent, ip). Fields: timestamp in Unix seconds, or milliseconds
// (values ≥ 10¹¹), as a number or a string; email trimmed and lower-cased;
// event and bounce type case-insensitive; bounce_classification
// case-insensitive; sg_machine_open absent means false; category a string
// or an array; unknown fields (custom arguments) ignored. A malformed line
// or event is skipped and counted by reason ([ErrSyntax], [ErrTruncated],
// [ErrMissingEmail], [ErrBadTimestamp], [ErrUnknownEvent], [ErrFieldCount]
// ...) and reported as a [*ParseError] with file and line; Options.Strict
// stops at the first.
//
// # Performance
//
// Line-oriented JSON is read in 4 MiB blocks cut at newlines and parsed by
// Options.Workers goroutines with a hand-written scanner that extracts only
// the keys above and checks the syntax of the rest without allocating.
// Emails are interned by hash (two 64-bit hashes) into per-worker
// open-addressing tables, looked up in batches so cache misses overlap;
// events are stored as 16-byte records (in huge-page mappings on Unix) in
// 54 partitions by email prefix, so Rate rates one partition at a time on
// every core and emits ratings in email order without a global sort.
// Memory is about 16 bytes per event plus roughly 150 bytes per contact
// per worker; bench/README.md has the figures.
package rating
