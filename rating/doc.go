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
// order, then fingerprint) and replayed. Events after the as-of time T
// (default: the newest event) are ignored, and a contact with no event at
// or before T gets no rating: the result is the same as rating only the
// events up to T. Times below are in days.
//
// Share of mail engaged with. Every delivered mail opens a mail window
// that lasts until the next delivery and weighs
//
//	w = clamp(t_delivered − t_previous_delivered, MinGap 6 h, MaxGap 30 d)   (the first mail: 7 d)
//
// so a mail weighs the time it stands for: a monthly mail 30, a weekly 7,
// a daily 1. The first human open or click of a window (machine opens,
// sg_machine_open: true, never count) makes it an engaged mail. The model
// keeps two sums, engaged weight E and mail weight N, that age with the
// mail sent:
//
//	start (first delivery or engagement):  E = 0, N = PriorWeight (28 d of unanswered mail)
//	each delivery after the first:         E, N ×= 2^(−w / H),  H = 45 d + 75 d × share
//	engaged mail (first open/click):       E += w, N += w
//	missed mail (next delivery, no open):  N += w
//	share = E / N
//
// Recent mail weighs more (the ageing, which a pause in sending does not
// advance beyond MaxGap); a missed monthly mail costs more
// than a missed weekly one (its weight); high engagement is remembered
// longer than low (H grows from 45 to 120 days with the share); and a new
// contact earns its stars over weeks (the prior), not with its first open.
// The mail still open at T is not judged yet.
//
// Score. While no mark (below) holds:
//
//	s = 10 × share^1.5
//	s = max(s, 1)   if the contact engaged since its start or last hard bounce ("opens but not consistently": 3★)
//	s = min(s, 0)   if dormant: its mail has gone unanswered for 30 days and 3 mails (DormantAfter, DormantMails)
//	s = min(s, 0)   if unsubscribed
//
// So 5 stars take about two thirds of the mail engaged with (share ≥ 0.67),
// 4 stars about a quarter (≥ 0.28), and a once-engaged contact that goes
// silent while still mailed falls to 2 stars (dormant) after a month and
// three mails: on a daily list 30 mails, on a weekly one 5, on a monthly
// one 3 (two months). Its memory comes back when it engages again.
//
// Worked examples (sgseq rate explain shows every step):
//
//	daily list, opens one mail in two, 8 weeks:  share 0.20 after the first open, 0.40 after
//	  56 days: s = 2.56 → score 3, 4★; one daily miss costs 0.06 (2.09 → 2.03)
//	weekly list, opens every mail: s 1.00, 2.00, 3.00, 3.84 ... 7.29 after 12 weeks (5★);
//	  each missed weekly mail then costs about 0.9 (7.29 → 6.35 → 5.56 → 4.90 → 4.33);
//	  30 days after the first unanswered mail it is dormant (0, 2★, sunset send_less)
//	monthly list, opens every mail: s 1.00, 5.10, 6.96, 7.93 (5★); one missed
//	  monthly mail costs 3.55 (7.93 → 4.38), the next open brings it to 5.62
//
// Negative marks are the only way below 0. A mark sets s and holds it:
//
//	spamreport                         s = −5, for good
//	bounce, type "bounce" (hard)       if round(s) ≥ 6: E = 0, N = prior, s = 0 (hard bounces are not always
//	                                   accurate); else the same reset and s = −5, held until the contact
//	                                   engages again and then for MarkMemory (180 d)
//	bounce, type "blocked", recipient  s = min(s, 0) − 2 (a soft bounce: 1★), held 180 d
//	bounce, type "blocked", sender     no effect; counted in sender_blocks and Summary.SenderBlocks
//	group_resubscribe after an         s = min(s, 0) − 3 (1★), held 180 d
//	unsubscribe in force
//
// While a mark holds, each engaged mail lifts it by 1, to −1 at most: a
// contact that resubscribed or soft-bounced stays 1 star however it
// engages, until the mark runs out. A block is the sender's
// ([Classification.SenderSide]) when classified Reputation, Content or
// Frequency or Volume Too High (SEQ counts these against the sender) or
// Technical (a failure of the connection or servers, not of the mailbox);
// Mailbox Unavailable, Invalid Address, Unclassified and a block without a
// classification are the recipient's (an unclassified block is most often
// a mailbox or domain that does not answer). A bounce without a type
// counts as hard. processed, deferred, dropped and account_status_change
// have no effect.
//
// Unsubscribes. A contact is unsubscribed after an unsubscribe (all mail)
// or a group_unsubscribe of a group (asm_group_id) it has not resubscribed
// to since: a group_resubscribe lifts that group's unsubscribe, and a
// global one. An unsubscribed contact scores at most 0 (2 stars), has
// segment unsubscribed and sunset remove, whatever it opens. A rating is
// per contact, so an unsubscribe from any one group counts: rate a group's
// events alone to rate per group.
//
// # Score, stars and segments
//
// The integer score is round(clamp(s, −5, 10)), rounding half away from
// zero (2.5 → 3, −0.5 → −1, 0.49 → 0). Stars: −5..−1 → 1★, 0 → 2★, 1 → 3★,
// 2..5 → 4★, 6..10 → 5★. Segments: unsubscribed (whatever the stars), then
// 5★ champions, 4★ engaged, 3★ low, 2★ new (never opened or clicked) or
// dormant (engaged before), 1★ suppress (complained, or hard-bounced
// without engaging since) or at_risk (soft bounce, resubscribe, a hard
// bounce engaged since).
//
// # Sunset policy
//
// The sunset field follows SendGrid's sunset policy, on the time the
// contact's mail has gone unanswered: from the first delivery after its
// latest engagement (never engaged: its first delivery) to T, counted once
// at least DormantMails (3) mails are unanswered (else keep):
//
//	keep            less than 30 days
//	send_less       30 ≤ idle < 90 days
//	send_even_less  90 ≤ idle < 180 days
//	reengage        idle ≥ 180 days: send a re-engagement campaign
//	remove          idle ≥ 180 days and the first mail delivered 180 days or more after the
//	                reference went unanswered for 14 days; also every contact that complained,
//	                hard-bounced (not engaged since) or is unsubscribed
//
// The 30 days and 3 mails are those of dormancy, so segments and sunset
// agree: a contact told send_less or later is never engaged or a champion.
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
// stops at the first. A record (line, object spanning lines, CSV record)
// longer than Options.MaxRecordSize is skipped without being held
// ([ErrRecordTooLarge]), so memory stays bounded; an input that breaks off
// (a truncated or corrupt .gz) keeps the events before the break and
// reports [ErrInputBroken] on the line where reading stopped.
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
