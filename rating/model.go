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

	// ShareExponent shapes the share of mail engaged with into the score:
	// score = MaxScore × share^ShareExponent, so 5 stars take about two
	// thirds of the mail and 4 stars about a quarter.
	ShareExponent = 1.5
	// PriorWeight is the unanswered mail every contact starts with (in
	// days of mail weight): a new contact earns its stars over weeks, not
	// with its first open.
	PriorWeight = 28 * 24 * time.Hour
	// A mail weighs the time since the previous mail to the contact,
	// clamped to [MinGap, MaxGap]; the first mail weighs FirstMailWeight.
	MinGap          = 6 * time.Hour
	MaxGap          = 30 * 24 * time.Hour
	FirstMailWeight = 7 * 24 * time.Hour
	// The memory of past mail halves every HalfLifeLow of mail sent (in
	// mail weight) at share 0, every HalfLifeHigh at share 1, in between
	// linearly: high engagement is remembered longer than low.
	HalfLifeLow  = 45 * 24 * time.Hour
	HalfLifeHigh = 120 * 24 * time.Hour
	// A contact whose mail has gone unanswered for DormantAfter and at
	// least DormantMails mails is dormant (score at most 0, 2 stars), and
	// its sunset says send_less.
	DormantAfter = 30 * 24 * time.Hour
	DormantMails = 3

	HighScore          = 6 // a hard bounce at or above this (rounded) score resets to 0
	HardBouncePenalty  = 5 // a hard bounce below HighScore gives -5
	BlockPenalty       = 2 // a block of the recipient's mailbox (soft bounce): min(score, 0) - 2
	ResubscribePenalty = 3 // a resubscribe after an unsubscribe: min(score, 0) - 3
	ComplaintScore     = MinScore
	// MarkMemory is how long a negative mark (soft bounce, resubscribe, a
	// hard bounce engaged since) holds the score below 0. A complaint's
	// mark, and a hard bounce's until the contact engages again, last.
	MarkMemory = 180 * 24 * time.Hour

	sunsetReduce         = DormantAfter
	sunsetReduceMore     = 90 * 24 * time.Hour
	sunsetReengage       = 180 * 24 * time.Hour
	sunsetReengageAnswer = 14 * 24 * time.Hour
)

// Segment is the audience a contact belongs in, from its stars.
type Segment string

// Segments. A 2-star contact is "new" if it never opened or clicked and
// "dormant" if it did once; a 1-star contact is "suppress" if it complained
// or hard-bounced (and has not engaged since), else "at_risk". An
// unsubscribed contact is "unsubscribed" whatever its stars (at most 2).
const (
	SegmentChampions    Segment = "champions"    // 5 stars
	SegmentEngaged      Segment = "engaged"      // 4 stars
	SegmentLow          Segment = "low"          // 3 stars
	SegmentNew          Segment = "new"          // 2 stars, never engaged
	SegmentDormant      Segment = "dormant"      // 2 stars, engaged before
	SegmentAtRisk       Segment = "at_risk"      // 1 star: soft bounce, unsubscribe + resubscribe
	SegmentSuppress     Segment = "suppress"     // 1 star: complained, hard-bounced
	SegmentUnsubscribed Segment = "unsubscribed" // unsubscribed (globally or from a group) and not resubscribed
)

// Segments lists every segment, best first.
var Segments = []Segment{SegmentChampions, SegmentEngaged, SegmentLow, SegmentNew, SegmentDormant, SegmentAtRisk, SegmentSuppress, SegmentUnsubscribed}

// Sunset is the mailing recommendation of the sunset policy: how to treat a
// contact given how long its mail has gone unanswered.
type Sunset string

// Sunset recommendations, after SendGrid's sunset policy: after one month
// of unanswered mail send less, after three months less still, after six a
// re-engagement campaign, and remove contacts that ignore it.
const (
	SunsetKeep         Sunset = "keep"           // mail unanswered for less than 30 days
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
	Bounces      int       `json:"bounces"`       // hard bounces and blocks of the recipient's mailbox
	Complaints   int       `json:"complaints"`    // spamreport events
	Unsubscribes int       `json:"unsubscribes"`  // unsubscribe and group_unsubscribe events
	Sunset       Sunset    `json:"sunset"`        // the sunset policy's recommendation
	SenderBlocks int       `json:"sender_blocks"` // blocks the sender caused (Classification.SenderSide): not held against the contact
	Value        float64   `json:"-"`             // the internal score before rounding
	// ChangesAt is the earliest as-of time at which this rating can change
	// without a new event of the contact (a mark runs out, the contact
	// turns dormant, a sunset step is reached); zero when only a new event
	// can change it. Incremental raters (package events) re-rate a contact
	// whose ChangesAt they pass.
	ChangesAt time.Time `json:"-"`
}

// Step is one event of a contact as the model saw it, for explain output.
// The last step may be an as-of step (Kind KindUnknown, Time the as-of
// time) when time alone moved the score after the last event: mail
// unanswered long enough to make the contact dormant, or a mark running
// out.
type Step struct {
	Time           time.Time      // the event's timestamp (UTC)
	Kind           Kind           // the event type; KindUnknown for the as-of step
	BounceType     BounceType     // for a bounce: hard or blocked
	Classification Classification // for a bounce: its bounce_classification
	MachineOpen    bool           // an open with sg_machine_open: true
	Group          int64          // for group_unsubscribe and group_resubscribe: the asm_group_id (see groupKey)
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

// group is the group key of a group_unsubscribe or group_resubscribe
// record (see groupKey).
func (r record) group() uint32 { return uint32(r.fingerprint() & groupMask) }

// groupMask is the part of the fingerprint of a group_unsubscribe or
// group_resubscribe record that holds its group key.
const groupMask = 1<<24 - 1

// groupKey maps an asm_group_id to the 24 bits a record keeps of it: ids
// from 0 (none given) to 16,777,214 are kept as they are; larger or
// negative ones are hashed into the same 24 bits (two of them could share a
// key; SendGrid's group ids are far smaller).
func groupKey(id int64) uint64 {
	if id >= 0 && id < groupMask {
		return uint64(id)
	}
	return uint64(id) * 0x9e3779b97f4a7c15 >> 40 & groupMask
}

// step describes r for explain output.
func (r record) step(before, after float64, note string, ignored bool) Step {
	st := Step{Time: r.time(), Kind: r.kind(), BounceType: r.btype(), Classification: r.class(),
		MachineOpen: r.machine(), Before: before, After: after, Note: note, Ignored: ignored}
	if k := r.kind(); k == KindGroupUnsubscribe || k == KindGroupResubscribe {
		st.Group = int64(r.group())
	}
	return st
}

func packInfo(k Kind, machine bool, b BounceType, c Classification) uint64 {
	info := uint64(k) & infoKindMask
	if machine {
		info |= infoMachine
	}
	return info | uint64(b&3)<<infoBTypeShift | uint64(c&7)<<infoClassShift
}

// fingerprintOf returns the 48-bit duplicate key of an event: a hash of its
// sg_event_id, or without one, of kind, timestamp and sg_message_id. A
// group_unsubscribe or group_resubscribe keeps its group key (groupKey of
// asm) in the low 24 bits instead.
func fingerprintOf(eventID []byte, k Kind, ts int64, messageID []byte, asm int64) uint64 {
	var fp uint64
	if len(eventID) > 0 {
		fp = hash64(eventID, 0) >> fpShift
	} else {
		h := hash64(messageID, uint64(ts)<<8|uint64(k))
		fp = (h | 1<<63) >> fpShift // never equal to an id hash by accident of zero
	}
	if k == KindGroupUnsubscribe || k == KindGroupResubscribe {
		fp = fp&^groupMask | groupKey(asm)
	}
	return fp
}

// rateContact sorts and deduplicates a contact's records in place and runs
// the model over those at or before asOf. trace, if not nil, receives every
// record in time order, duplicates and later events included.
func rateContact(email string, recs []record, asOf uint32, trace func(Step)) (r Rating, dups, after int) {
	return rateContactBuf(email, recs, asOf, trace, nil, nil)
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

// rateContactBuf is rateContact with reusable scratch space; blocks, if not
// nil, counts the contact's blocks by classification.
func rateContactBuf(email string, recs []record, asOf uint32, trace func(Step), set *[]uint64, blocks *[numClasses]int64) (r Rating, dups, after int) {
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

	m := model{asOf: asOf, explain: trace != nil, blocks: blocks}
	r.Email = email
	d := 0
	const dupNote = "duplicate sg_event_id: ignored"
	asOfStep := trace == nil
	for _, rec := range recs {
		for trace != nil && d < len(dupRecs) && byTime(dupRecs[d], rec) <= 0 {
			trace(dupRecs[d].step(m.last, m.last, dupNote, true))
			d++
		}
		if rec.ts > asOf {
			if !asOfStep {
				m.traceAsOf(trace)
				asOfStep = true
			}
			after++
			if trace != nil {
				trace(rec.step(m.last, m.last, "after --as-of: ignored", true))
			}
			continue
		}
		before := m.last
		note := m.apply(rec, &r)
		m.last = m.score(rec.ts)
		if trace != nil {
			trace(rec.step(before, m.last, note, false))
		}
	}
	if !asOfStep {
		m.traceAsOf(trace)
	}
	for trace != nil && d < len(dupRecs) {
		trace(dupRecs[d].step(m.last, m.last, dupNote, true))
		d++
	}
	m.finish(recs, &r)
	return r, dups, after
}

func classOrNone(c Classification) string {
	if c == ClassNone {
		return "no classification"
	}
	return c.String()
}

func fmtGap(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return fmt.Sprintf("%.0fh", d.Hours())
}
