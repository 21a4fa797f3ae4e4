package rating

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Durations of the model in seconds and days, the units the replay uses.
const (
	daySecs      = 86400
	priorDays    = float64(PriorWeight / (24 * time.Hour))
	firstDays    = float64(FirstMailWeight / (24 * time.Hour))
	minGapSecs   = uint32(MinGap / time.Second)
	maxGapSecs   = uint32(MaxGap / time.Second)
	halfLowSecs  = float64(HalfLifeLow / time.Second)
	halfHighSecs = float64(HalfLifeHigh / time.Second)
	dormantSecs  = uint32(DormantAfter / time.Second)
	markSecs     = uint32(MarkMemory / time.Second)
)

// model is the running state of one contact; see the package doc for the
// rules it applies.
type model struct {
	asOf    uint32
	explain bool
	blocks  *[numClasses]int64 // blocks by classification, for the summary; may be nil

	last float64 // the score after the latest event (for explain)

	// Share of mail engaged with: engaged and total mail weight in days.
	eng, mail float64
	started   bool // the prior is in

	lastSend uint32  // time of the latest delivered mail; 0 before the first
	win      float64 // weight of the current mail window (days); 0 before any
	credited bool    // the current window was engaged with
	fresh    bool    // engaged since the start or the last hard bounce

	firstSeen, firstSend, lastEngaged uint32
	silentSince                       uint32 // first delivery after the latest engagement; 0 if none
	unanswered                        int    // deliveries since silentSince

	mark        float64 // < 0 while a negative mark holds the score (see markActive)
	markAt      uint32
	complained  bool // a spam report: a lasting mark
	hardBounced bool // a hard bounce gave -5 and the contact has not engaged since: a lasting mark

	unsubAll    bool     // a global unsubscribe not lifted by a resubscribe
	unsubGroups []uint32 // groups unsubscribed from and not resubscribed to
}

// halfLife is the memory half-life in seconds at share p.
func halfLife(p float64) float64 {
	return halfLowSecs + (halfHighSecs-halfLowSecs)*p
}

// share is the decayed share of mail engaged with, 0..1.
func (m *model) share() float64 {
	if m.mail <= 0 {
		return 0
	}
	return min(1, m.eng/m.mail)
}

// start gives a contact's first delivery or engagement the prior:
// PriorWeight of unanswered mail.
func (m *model) start() {
	if !m.started {
		m.mail, m.started = priorDays, true
	}
}

// age ages the mail weights by one mail of weight w days: the memory halves
// every halfLife of mail sent, so a pause in sending does not age it.
func (m *model) age(w float64) {
	f := math.Exp2(-w * daySecs / halfLife(m.share()))
	m.eng *= f
	m.mail *= f
}

func (m *model) markActive(t uint32) bool {
	return m.mark < 0 && (m.complained || m.hardBounced || t-m.markAt < markSecs)
}

func (m *model) unsubscribed() bool { return m.unsubAll || len(m.unsubGroups) > 0 }

// silence returns since when mail has gone unanswered: the first delivery
// after the latest engagement (or the first delivery). ok is false unless
// at least DormantMails mails are unanswered.
func (m *model) silence() (since uint32, ok bool) {
	if m.silentSince == 0 || m.unanswered < DormantMails {
		return 0, false
	}
	return m.silentSince, true
}

// dormant reports whether the contact's mail has gone unanswered for
// DormantAfter and DormantMails mails at time t.
func (m *model) dormant(t uint32) bool {
	since, ok := m.silence()
	return ok && t >= since && t-since >= dormantSecs
}

// shareScore is MaxScore × share^ShareExponent.
func (m *model) shareScore() float64 {
	p := m.share()
	return MaxScore * p * math.Sqrt(p) // ShareExponent = 1.5
}

// score is the internal score at time t (not rounded).
func (m *model) score(t uint32) float64 {
	if m.markActive(t) {
		return m.mark
	}
	v := m.shareScore()
	if m.fresh && v < 1 {
		v = 1 // engaged, not yet consistently: 3 stars
	}
	if m.dormant(t) || m.unsubscribed() {
		v = min(v, 0)
	}
	return v
}

// setMark puts a negative mark: min(score, 0) - penalty, at least MinScore.
func (m *model) setMark(t uint32, penalty float64) {
	m.mark = max(MinScore, min(m.score(t), 0)-penalty)
	m.markAt = t
}

// apply runs one event through the model and returns what it did (only
// when explaining; else "").
func (m *model) apply(rec record, r *Rating) string {
	t := rec.ts
	if m.firstSeen == 0 {
		m.firstSeen = t
	}
	note := ""
	if m.explain {
		note = m.timeNote(t)
	}
	switch rec.kind() {
	case KindDelivered:
		r.Sends++
		return note + m.deliver(t)
	case KindOpen:
		if rec.machine() {
			r.MachineOpens++
			return note + "machine open (Apple MPP): not engagement"
		}
		r.HumanOpens++
		return note + m.engage(t, "open")
	case KindClick:
		r.Clicks++
		return note + m.engage(t, "click")
	case KindBounce:
		return note + m.bounce(t, rec, r)
	case KindSpamReport:
		r.Complaints++
		m.complained = true
		m.mark, m.markAt = ComplaintScore, t
		return note + "spam complaint: -5 (lasting)"
	case KindUnsubscribe:
		r.Unsubscribes++
		m.unsubAll = true
		return note + "unsubscribed from all mail: at most 0 (2 stars) until a resubscribe; sunset remove"
	case KindGroupUnsubscribe:
		r.Unsubscribes++
		g := rec.group()
		if !slices.Contains(m.unsubGroups, g) {
			m.unsubGroups = append(m.unsubGroups, g)
		}
		if !m.explain {
			return ""
		}
		return note + fmt.Sprintf("unsubscribed from group %d: at most 0 (2 stars) until a resubscribe to it; sunset remove", g)
	case KindGroupResubscribe:
		g := rec.group()
		i := slices.Index(m.unsubGroups, g)
		if i < 0 && !m.unsubAll {
			if !m.explain {
				return ""
			}
			return note + fmt.Sprintf("resubscribe to group %d without an unsubscribe in force: no change", g)
		}
		if i >= 0 {
			m.unsubGroups = slices.Delete(m.unsubGroups, i, i+1)
		}
		m.unsubAll = false
		m.setMark(t, ResubscribePenalty)
		if !m.explain {
			return ""
		}
		rest := ""
		if len(m.unsubGroups) > 0 {
			rest = fmt.Sprintf("; still unsubscribed from %d other group(s)", len(m.unsubGroups))
		}
		return note + fmt.Sprintf("resubscribe to group %d after an unsubscribe: min(score, 0) - %d = %.2f, held %s (engagement lifts it by 1 a mail, to -1 at most)%s",
			g, ResubscribePenalty, m.mark, fmtGap(MarkMemory), rest)
	case KindProcessed:
		return note + "processed: no effect"
	case KindDeferred:
		return note + "deferred: no effect"
	case KindDropped:
		return note + "dropped: no effect"
	case KindAccountStatusChange:
		return note + "account status change: no effect"
	}
	return note + "no effect"
}

// timeNote says what time alone changed since the previous event: the
// contact became dormant, or a mark ran out.
func (m *model) timeNote(t uint32) string {
	if !m.started && m.mark == 0 {
		return ""
	}
	now := m.score(t)
	if now == m.last {
		return ""
	}
	if m.mark < 0 && !m.markActive(t) && m.markActive(m.markAt) {
		return fmt.Sprintf("[mark of %s ran out after %s: score %.2f] ", fmtTime(m.markAt), fmtGap(MarkMemory), now)
	}
	if m.dormant(t) {
		return fmt.Sprintf("[%d mails unanswered since %s (%s): dormant, score %.2f] ", m.unanswered, fmtTime(m.silentSince), fmtGap(time.Duration(t-m.silentSince)*time.Second), now)
	}
	return fmt.Sprintf("[score %.2f] ", now)
}

// deliver opens a new mail window at t, judging the previous one.
func (m *model) deliver(t uint32) string {
	wasDormant := m.explain && m.dormant(t)
	m.start()
	w := firstDays
	if m.lastSend != 0 {
		w = float64(min(maxGapSecs, max(minGapSecs, t-m.lastSend))) / daySecs
	}
	missed := m.lastSend != 0 && !m.credited
	before := m.share()
	if m.lastSend != 0 {
		m.age(w)
	}
	if missed {
		m.mail += m.win
	}
	if m.firstSend == 0 {
		m.firstSend = t
	}
	if m.silentSince == 0 {
		m.silentSince = t
	}
	m.unanswered++
	prevWin := m.win
	m.lastSend, m.win, m.credited = t, w, false
	if !m.explain {
		return ""
	}
	note := fmt.Sprintf("mail delivered (weight %s)", fmtDays(w))
	if missed {
		note += fmt.Sprintf("; previous mail (weight %s) unanswered: share %.3f → %.3f", fmtDays(prevWin), before, m.share())
	}
	if !wasDormant && m.dormant(t) {
		note += fmt.Sprintf("; %d mails unanswered since %s: dormant, at most 0", m.unanswered, fmtTime(m.silentSince))
	}
	return note
}

// engage credits a human open or click at t to the current mail window.
func (m *model) engage(t uint32, what string) string {
	m.lastEngaged = t
	m.silentSince, m.unanswered = 0, 0
	m.hardBounced = false // the address works: a hard bounce's mark may now run out
	if m.credited {
		return what + ": this mail already credited"
	}
	if m.win == 0 {
		m.win = firstDays // engagement before any delivery: a mail of its own
	}
	m.start()
	before := m.share()
	m.eng += m.win
	m.mail += m.win
	m.credited, m.fresh = true, true
	lifted := false
	if m.markActive(t) && m.mark < -1 {
		m.mark = min(-1, m.mark+1)
		lifted = true
	}
	if !m.explain {
		return ""
	}
	note := fmt.Sprintf("%s: mail engaged with (weight %s): share %.3f → %.3f", what, fmtDays(m.win), before, m.share())
	switch {
	case lifted:
		note += fmt.Sprintf("; mark lifted to %.2f", m.mark)
	case m.markActive(t):
		note += fmt.Sprintf("; mark holds at %.2f until %s", m.mark, fmtTime(m.markAt+markSecs))
	case m.unsubscribed():
		note += "; unsubscribed: at most 0"
	}
	return note
}

// bounce applies a bounce or block at t.
func (m *model) bounce(t uint32, rec record, r *Rating) string {
	c := rec.class()
	if rec.btype() == BounceBlocked {
		if m.blocks != nil {
			m.blocks[c]++
		}
		if c.SenderSide() {
			r.SenderBlocks++
			return fmt.Sprintf("block (%s): the sender's side, not the contact's: no effect (counted in sender_blocks)", c)
		}
		r.Bounces++
		m.setMark(t, BlockPenalty)
		if !m.explain {
			return ""
		}
		return fmt.Sprintf("block (%s): soft bounce of the recipient's mailbox: min(score, 0) - %d = %.2f, held %s",
			classOrNone(c), BlockPenalty, m.mark, fmtGap(MarkMemory))
	}
	r.Bounces++
	high := RoundScore(m.score(t)) >= HighScore
	// Either way the contact starts over: no memory of its mail.
	m.eng, m.mail, m.started = 0, priorDays, true
	m.fresh, m.credited = false, true
	if high {
		m.mark, m.hardBounced = 0, false
		return "hard bounce of a highly rated contact (hard bounces are not always accurate): reset to 0"
	}
	m.mark, m.markAt, m.hardBounced = -HardBouncePenalty, t, true
	return "hard bounce: -5 (lasting until the contact engages again)"
}

// traceAsOf reports an as-of step when time alone moved the score after
// the last event.
func (m *model) traceAsOf(trace func(Step)) {
	if trace == nil || (!m.started && m.mark == 0) {
		return
	}
	now := m.score(m.asOf)
	if now == m.last {
		return
	}
	note := m.timeNote(m.asOf)
	trace(Step{Time: time.Unix(int64(m.asOf), 0).UTC(), Before: m.last, After: now,
		Note: "as of " + fmtTime(m.asOf) + ": " + note})
	m.last = now
}

// finish fills the derived fields of r.
func (m *model) finish(recs []record, r *Rating) {
	v := m.score(m.asOf)
	r.Value = v
	r.Score = RoundScore(v)
	r.Stars = Stars(r.Score)
	if m.lastEngaged != 0 {
		r.LastEngaged = time.Unix(int64(m.lastEngaged), 0).UTC()
	}
	suppress := m.complained || m.hardBounced
	switch {
	case m.unsubscribed():
		r.Segment = SegmentUnsubscribed
	case r.Stars == 5:
		r.Segment = SegmentChampions
	case r.Stars == 4:
		r.Segment = SegmentEngaged
	case r.Stars == 3:
		r.Segment = SegmentLow
	case r.Stars == 2 && m.lastEngaged != 0:
		r.Segment = SegmentDormant
	case r.Stars == 2:
		r.Segment = SegmentNew
	case suppress:
		r.Segment = SegmentSuppress
	default:
		r.Segment = SegmentAtRisk
	}
	r.Sunset = m.sunset(recs, suppress || m.unsubscribed())
	if t := m.changesAt(recs); t != 0 {
		r.ChangesAt = time.Unix(int64(t), 0).UTC()
	}
}

// changesAt returns the earliest time after the as-of time at which score
// or sunset change with time alone (see score, dormant and sunset: the only
// uses of the as-of time), or 0 when none does.
func (m *model) changesAt(recs []record) uint32 {
	var next uint64
	at := func(t uint64) {
		if t > uint64(m.asOf) && (next == 0 || t < next) {
			next = t
		}
	}
	if m.mark < 0 && !m.complained && !m.hardBounced {
		at(uint64(m.markAt) + uint64(markSecs))
	}
	if ref, ok := m.silence(); ok {
		for _, d := range []time.Duration{DormantAfter, sunsetReduce, sunsetReduceMore, sunsetReengage} {
			at(uint64(ref) + uint64(d/time.Second))
		}
		mark := uint64(ref) + uint64(sunsetReengage/time.Second)
		for _, rec := range recs {
			if rec.ts > m.asOf {
				break
			}
			if rec.kind() == KindDelivered && uint64(rec.ts) >= mark {
				at(uint64(rec.ts) + uint64(sunsetReengageAnswer/time.Second))
				break
			}
		}
	}
	if next > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(next)
}

// sunset applies the sunset policy to the time mail has gone unanswered;
// see the package doc.
func (m *model) sunset(recs []record, remove bool) Sunset {
	if remove {
		return SunsetRemove
	}
	ref, ok := m.silence()
	if !ok || m.asOf < ref {
		return SunsetKeep
	}
	idle := time.Duration(m.asOf-ref) * time.Second
	switch {
	case idle < sunsetReduce:
		return SunsetKeep
	case idle < sunsetReduceMore:
		return SunsetSendLess
	case idle < sunsetReengage:
		return SunsetSendEvenLess
	}
	// The re-engagement mail is the first delivery 180 days or more after
	// the reference time; unanswered for 14 days, the contact goes.
	mark := uint64(ref) + uint64(sunsetReengage/time.Second)
	for _, rec := range recs {
		if rec.ts > m.asOf {
			break
		}
		if rec.kind() == KindDelivered && uint64(rec.ts) >= mark {
			if time.Duration(m.asOf-rec.ts)*time.Second >= sunsetReengageAnswer {
				return SunsetRemove
			}
			break
		}
	}
	return SunsetReengage
}

func fmtDays(d float64) string {
	if d >= 2 {
		return fmt.Sprintf("%.1f d", d)
	}
	return fmt.Sprintf("%.0fh", d*24)
}

func fmtTime(t uint32) string {
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}
