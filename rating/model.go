package rating

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// The constants of the model; the package documentation gives the formulas
// they take part in.
const (
	MinScore = -5 // lowest engagement score
	MaxScore = 10 // highest engagement score

	OpenGain  = 1.0 // score an opened mail earns (once per mail window)
	ClickGain = 2.0 // score a clicked mail earns in total (once per mail window)

	// MissRetention is the factor a positive score keeps per week of
	// unanswered mail: an unanswered mail multiplies the score by
	// MissRetention^(gap/7 days), gap being the time until the next mail,
	// clamped to [MinGap, MaxGap].
	MissRetention = 0.8
	MinGap        = 6 * time.Hour
	MaxGap        = 30 * 24 * time.Hour

	HighScore            = 6 // a hard bounce at or above this (rounded) score resets to 0
	HardBouncePenalty    = 5 // a hard bounce below HighScore gives -5
	BlockPenalty         = 2 // a block with a recipient-side (or no) classification
	SenderBlockPenalty   = 1 // a block classified Content, Reputation, Frequency or Technical
	ResubscribePenalty   = 3 // a resubscribe after an unsubscribe
	ComplaintScore       = MinScore
	zeroSnap             = 0.01 // a decayed score below this becomes exactly 0
	sunsetReduce         = 30 * 24 * time.Hour
	sunsetReduceMore     = 90 * 24 * time.Hour
	sunsetReengage       = 180 * 24 * time.Hour
	sunsetReengageAnswer = 14 * 24 * time.Hour
)

// Segment is the audience a contact belongs in, from its stars.
type Segment string

// Segments. A 2-star contact is "new" if it never opened or clicked and
// "dormant" if it did once; a 1-star contact is "suppress" if it complained,
// hard-bounced to -5 or is unsubscribed, else "at_risk".
const (
	SegmentChampions Segment = "champions" // 5 stars
	SegmentEngaged   Segment = "engaged"   // 4 stars
	SegmentLow       Segment = "low"       // 3 stars
	SegmentNew       Segment = "new"       // 2 stars, never engaged
	SegmentDormant   Segment = "dormant"   // 2 stars, engaged before
	SegmentAtRisk    Segment = "at_risk"   // 1 star: blocks, unsubscribe + resubscribe
	SegmentSuppress  Segment = "suppress"  // 1 star: complained, hard-bounced, unsubscribed
)

// Segments lists every segment, best first.
var Segments = []Segment{SegmentChampions, SegmentEngaged, SegmentLow, SegmentNew, SegmentDormant, SegmentAtRisk, SegmentSuppress}

// Sunset is the mailing recommendation of the sunset policy: how to treat a
// contact given how long it has not engaged.
type Sunset string

// Sunset recommendations, after SendGrid's sunset policy: after one month
// without engagement send less, after three months less still, after six a
// re-engagement campaign, and remove contacts that ignore it.
const (
	SunsetKeep         Sunset = "keep"           // engaged within 30 days
	SunsetSendLess     Sunset = "send_less"      // 30 to 90 days
	SunsetSendEvenLess Sunset = "send_even_less" // 90 to 180 days
	SunsetReengage     Sunset = "reengage"       // 180 days or more: send a re-engagement campaign
	SunsetRemove       Sunset = "remove"         // ignored the re-engagement mail, or complained / hard-bounced / unsubscribed
)

// Sunsets lists every recommendation in policy order.
var Sunsets = []Sunset{SunsetKeep, SunsetSendLess, SunsetSendEvenLess, SunsetReengage, SunsetRemove}

// Stars maps an integer engagement score to its star band:
// -5..-1 → 1, 0 → 2, 1 → 3, 2..5 → 4, 6..10 → 5.
func Stars(score int) int {
	switch {
	case score < 0:
		return 1
	case score == 0:
		return 2
	case score == 1:
		return 3
	case score <= 5:
		return 4
	default:
		return 5
	}
}

// RoundScore clamps an internal score to [MinScore, MaxScore] and rounds it
// half away from zero to the integer score (2.5 → 3, -0.5 → -1, 0.49 → 0).
func RoundScore(v float64) int {
	v = math.Max(MinScore, math.Min(MaxScore, v))
	return int(math.Round(v))
}

// Rating is the result for one contact. The JSON names are those of the
// CSV header.
type Rating struct {
	Email        string    `json:"email"`         // trimmed, lower-cased
	Score        int       `json:"score"`         // -5..10, RoundScore of Value
	Stars        int       `json:"stars"`         // 1..5, Stars(Score)
	Segment      Segment   `json:"segment"`       // from the stars; see Segment
	LastEngaged  time.Time `json:"-"`             // latest human open or click; zero if never ("last_engaged")
	Sends        int       `json:"sends"`         // distinct delivered events
	HumanOpens   int       `json:"human_opens"`   // opens without sg_machine_open
	MachineOpens int       `json:"machine_opens"` // opens with sg_machine_open: true (not engagement)
	Clicks       int       `json:"clicks"`        // distinct click events
	Bounces      int       `json:"bounces"`       // hard bounces and blocks
	Complaints   int       `json:"complaints"`    // spamreport events
	Unsubscribes int       `json:"unsubscribes"`  // unsubscribe and group_unsubscribe events
	Sunset       Sunset    `json:"sunset"`        // the sunset policy's recommendation
	Value        float64   `json:"-"`             // the internal score before rounding
}

// Step is one event of a contact as the model saw it, for explain output.
type Step struct {
	Time           time.Time      // the event's timestamp (UTC)
	Kind           Kind           // the event type
	BounceType     BounceType     // for a bounce: hard or blocked
	Classification Classification // for a bounce: its bounce_classification
	MachineOpen    bool           // an open with sg_machine_open: true
	Before, After  float64        // internal score around the event
	Note           string         // what the event did
	Ignored        bool           // a duplicate or an event after the as-of time
}

// record is the compact form of an event: 16 bytes.
type record struct {
	ts  uint32 // Unix seconds
	cid uint32 // contact index (worker-local, then partition-local)
	key uint64 // fingerprint<<16 | info
}

const (
	infoKindMask   = 0xf
	infoMachine    = 1 << 4
	infoBTypeShift = 5
	infoClassShift = 7
	fpShift        = 16
)

func (r record) kind() Kind            { return Kind(r.key & infoKindMask) }
func (r record) machine() bool         { return r.key&infoMachine != 0 }
func (r record) btype() BounceType     { return BounceType(r.key >> infoBTypeShift & 3) }
func (r record) class() Classification { return Classification(r.key >> infoClassShift & 7) }
func (r record) fingerprint() uint64   { return r.key >> fpShift }
func (r record) time() time.Time       { return time.Unix(int64(r.ts), 0).UTC() }

// step describes r for explain output.
func (r record) step(before, after float64, note string, ignored bool) Step {
	return Step{Time: r.time(), Kind: r.kind(), BounceType: r.btype(), Classification: r.class(),
		MachineOpen: r.machine(), Before: before, After: after, Note: note, Ignored: ignored}
}

func packInfo(k Kind, machine bool, b BounceType, c Classification) uint64 {
	info := uint64(k) & infoKindMask
	if machine {
		info |= infoMachine
	}
	return info | uint64(b&3)<<infoBTypeShift | uint64(c&7)<<infoClassShift
}

// fingerprintOf returns the 48-bit duplicate key of an event: a hash of its
// sg_event_id, or without one, of kind, timestamp and sg_message_id.
func fingerprintOf(eventID []byte, k Kind, ts int64, messageID []byte) uint64 {
	if len(eventID) > 0 {
		return hash64(eventID, 0) >> fpShift
	}
	h := hash64(messageID, uint64(ts)<<8|uint64(k))
	return (h | 1<<63) >> fpShift // never equal to an id hash by accident of zero
}

// rateContact sorts and deduplicates a contact's records in place and runs
// the model over those at or before asOf. trace, if not nil, receives every
// record in time order, duplicates and later events included.
func rateContact(email string, recs []record, asOf uint32, trace func(Step)) (r Rating, dups, after int) {
	return rateContactBuf(email, recs, asOf, trace, nil)
}

func byTime(a, b record) int {
	if a.ts != b.ts {
		return cmp.Compare(a.ts, b.ts)
	}
	if a.kind() != b.kind() {
		return cmp.Compare(a.kind(), b.kind())
	}
	return cmp.Compare(a.key, b.key)
}

// dedup sorts recs by time and removes duplicate fingerprints, keeping the
// earliest copy (then the lowest key), so the result does not depend on
// input order. set is scratch space. It returns the kept records and the
// removed ones (only when keepDups).
func dedup(recs []record, set []uint64, keepDups bool) (kept, dupRecs []record, scratch []uint64) {
	slices.SortFunc(recs, byTime)
	// Webhook retries are exact copies (same timestamp and key): after the
	// sort they are neighbours.
	n := 0
	for i, rec := range recs {
		if i > 0 && rec == recs[n-1] {
			if keepDups {
				dupRecs = append(dupRecs, rec)
			}
			continue
		}
		recs[n] = rec
		n++
	}
	kept = recs[:n]
	// Copies that differ (same sg_event_id, other timestamp or type) are
	// rare: find any with a small hash set of fingerprints.
	size := 64
	for size < 2*len(kept) {
		size *= 2
	}
	if cap(set) < size {
		set = make([]uint64, size)
	}
	set = set[:size]
	clear(set)
	mask := uint64(size - 1)
	clash := false
	for _, rec := range kept {
		fp := rec.fingerprint() | 1<<63 // never 0
		i := fp * 0x9e3779b97f4a7c15 >> 32 & mask
		for set[i] != 0 && set[i] != fp {
			i = (i + 1) & mask
		}
		if set[i] == fp {
			clash = true
			break
		}
		set[i] = fp
	}
	if !clash {
		return kept, dupRecs, set
	}
	// Exact path: group by fingerprint, keep the earliest copy.
	slices.SortFunc(kept, func(a, b record) int {
		if a.key>>fpShift != b.key>>fpShift {
			return cmp.Compare(a.key, b.key)
		}
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		return cmp.Compare(a.key, b.key)
	})
	n = 0
	for i, rec := range kept {
		if i > 0 && rec.fingerprint() == kept[n-1].fingerprint() {
			if keepDups {
				dupRecs = append(dupRecs, rec)
			}
			continue
		}
		kept[n] = rec
		n++
	}
	kept = kept[:n]
	slices.SortFunc(kept, byTime)
	slices.SortFunc(dupRecs, byTime)
	return kept, dupRecs, set
}

// rateContactBuf is rateContact with reusable scratch space.
func rateContactBuf(email string, recs []record, asOf uint32, trace func(Step), set *[]uint64) (r Rating, dups, after int) {
	var scratch []uint64
	if set != nil {
		scratch = *set
	}
	total := len(recs)
	recs, dupRecs, scratch := dedup(recs, scratch, trace != nil)
	if set != nil {
		*set = scratch
	}
	dups = total - len(recs)

	m := model{asOf: asOf, explain: trace != nil}
	r.Email = email
	d := 0
	const dupNote = "duplicate sg_event_id: ignored"
	for _, rec := range recs {
		for trace != nil && d < len(dupRecs) && byTime(dupRecs[d], rec) <= 0 {
			trace(dupRecs[d].step(m.s, m.s, dupNote, true))
			d++
		}
		if rec.ts > asOf {
			after++
			if trace != nil {
				trace(rec.step(m.s, m.s, "after --as-of: ignored", true))
			}
			continue
		}
		before := m.s
		note := m.apply(rec, &r)
		if trace != nil {
			trace(rec.step(before, m.s, note, false))
		}
	}
	for trace != nil && d < len(dupRecs) {
		trace(dupRecs[d].step(m.s, m.s, dupNote, true))
		d++
	}
	m.finish(recs, &r)
	return r, dups, after
}

// model is the running state of one contact.
type model struct {
	asOf         uint32
	explain      bool
	s            float64 // internal score
	lastSend     uint32  // time of the latest delivered mail; 0 before the first
	level        int     // engagement credited in the current mail window: 0, 1 (open), 2 (click)
	firstSeen    uint32
	firstSend    uint32
	lastEngaged  uint32
	unsubscribed bool // an unsubscribe not yet followed by a resubscribe
	hardBounced  bool // the latest hard bounce gave the floor score and nothing engaged since
}

func (m *model) clamp() {
	m.s = math.Max(MinScore, math.Min(MaxScore, m.s))
}

// apply runs one event through the model and returns what it did.
func (m *model) apply(rec record, r *Rating) string {
	if m.firstSeen == 0 {
		m.firstSeen = rec.ts
	}
	switch rec.kind() {
	case KindDelivered:
		r.Sends++
		note := "mail delivered"
		if m.lastSend != 0 && m.level == 0 {
			gap := time.Duration(rec.ts-m.lastSend) * time.Second
			gap = max(MinGap, min(MaxGap, gap))
			weeks := gap.Hours() / (7 * 24)
			if m.s > 0 {
				f := math.Pow(MissRetention, weeks)
				m.s *= f
				if m.s < zeroSnap {
					m.s = 0
				}
				if m.explain {
					note = fmt.Sprintf("mail delivered; previous mail unanswered after %s: decay ×%.3f", fmtGap(gap), f)
				}
			} else if m.explain {
				note = fmt.Sprintf("mail delivered; previous mail unanswered after %s (no positive score to decay)", fmtGap(gap))
			}
		}
		if m.firstSend == 0 {
			m.firstSend = rec.ts
		}
		m.lastSend = rec.ts
		m.level = 0
		return note
	case KindOpen:
		if rec.machine() {
			r.MachineOpens++
			return "machine open (Apple MPP): not engagement"
		}
		r.HumanOpens++
		return m.engage(rec.ts, 1, OpenGain, "open")
	case KindClick:
		r.Clicks++
		return m.engage(rec.ts, 2, ClickGain, "click")
	case KindBounce:
		r.Bounces++
		if rec.btype() == BounceBlocked {
			// A block (soft bounce) always goes negative, whatever the score:
			// the high-score reset is for hard bounces only, which are not
			// always accurate.
			p := float64(BlockPenalty)
			if rec.class().SenderSide() {
				p = SenderBlockPenalty
			}
			m.s = min(m.s, 0) - p
			m.clamp()
			if !m.explain {
				return ""
			}
			return fmt.Sprintf("block (%s): -%g", classOrNone(rec.class()), p)
		}
		if RoundScore(m.s) >= HighScore {
			m.s = 0
			m.hardBounced = false
			return "hard bounce of a highly rated contact: reset to 0"
		}
		m.s = -HardBouncePenalty
		m.hardBounced = true
		return "hard bounce: -5"
	case KindSpamReport:
		r.Complaints++
		m.s = ComplaintScore
		return "spam complaint: -5"
	case KindUnsubscribe, KindGroupUnsubscribe:
		r.Unsubscribes++
		m.unsubscribed = true
		return "unsubscribed (score kept; a later resubscribe costs 3)"
	case KindGroupResubscribe:
		if !m.unsubscribed {
			return "resubscribe without an earlier unsubscribe: no change"
		}
		m.unsubscribed = false
		m.s = min(m.s, 0) - ResubscribePenalty
		m.clamp()
		return "resubscribe after unsubscribe: -3"
	case KindProcessed:
		return "processed: no effect"
	case KindDeferred:
		return "deferred: no effect"
	case KindDropped:
		return "dropped: no effect"
	case KindAccountStatusChange:
		return "account status change: no effect"
	}
	return "no effect"
}

func (m *model) engage(ts uint32, level int, target float64, what string) string {
	m.lastEngaged = ts
	m.hardBounced = false
	if m.level >= level {
		return what + ": this mail already credited"
	}
	credited := 0.0
	if m.level == 1 {
		credited = OpenGain
	}
	gain := target - credited
	m.level = level
	m.s += gain
	capped := m.s > MaxScore
	m.clamp()
	if !m.explain {
		return ""
	}
	if capped {
		return fmt.Sprintf("%s: +%g (capped at %d)", what, gain, MaxScore)
	}
	return fmt.Sprintf("%s: +%g", what, gain)
}

// finish fills the derived fields of r.
func (m *model) finish(recs []record, r *Rating) {
	r.Value = m.s
	r.Score = RoundScore(m.s)
	r.Stars = Stars(r.Score)
	if m.lastEngaged != 0 {
		r.LastEngaged = time.Unix(int64(m.lastEngaged), 0).UTC()
	}
	suppress := r.Complaints > 0 || m.hardBounced || m.unsubscribed
	switch r.Stars {
	case 5:
		r.Segment = SegmentChampions
	case 4:
		r.Segment = SegmentEngaged
	case 3:
		r.Segment = SegmentLow
	case 2:
		if m.lastEngaged != 0 {
			r.Segment = SegmentDormant
		} else {
			r.Segment = SegmentNew
		}
	default:
		if suppress {
			r.Segment = SegmentSuppress
		} else {
			r.Segment = SegmentAtRisk
		}
	}
	r.Sunset = m.sunset(recs, suppress)
}

// sunset applies the sunset policy; see the package doc.
func (m *model) sunset(recs []record, suppress bool) Sunset {
	if suppress {
		return SunsetRemove
	}
	ref := m.lastEngaged
	if ref == 0 {
		ref = m.firstSend
	}
	if ref == 0 {
		ref = m.firstSeen
	}
	if ref == 0 || m.asOf < ref {
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

func classOrNone(c Classification) string {
	if c == ClassNone {
		return "unclassified"
	}
	return c.String()
}

func fmtGap(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return fmt.Sprintf("%.0fh", d.Hours())
}
