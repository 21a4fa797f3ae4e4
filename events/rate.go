package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgseq/sgseq/rating"
)

// RateOptions configure [Rate].
type RateOptions struct {
	// Workers is rating's parsing goroutines; 0 means GOMAXPROCS.
	Workers int
	// Checkpoint is the checkpoint file; "" means DIR/rating.ckpt.
	Checkpoint string
	// Full ignores the checkpoint and rates every stored event (the
	// checkpoint is written afresh).
	Full bool
	// Logger receives debug logs (why a run was full); nil discards them.
	Logger *slog.Logger
}

// RateStats tells what a [Rate] run did.
type RateStats struct {
	Incremental bool   // from the checkpoint; false: every stored event was rated
	Reason      string // why the run was full
	Events      int64  // events in the store
	Unrated     int64  // of which rating cannot read (no email, timestamp or known event)
	NewEvents   int64  // events read from the store in this run
	Rerated     int    // contacts rated in this run (all of them in a full run)
	Stepped     int    // of which rated only because the as-of time passed their rating's ChangesAt (a mark ran out, dormancy, a sunset step)
	Saved       bool   // the checkpoint was written
}

// Rate rates every contact of the store in dir as "sgseq rate" would rate
// an export of it (as of the newest event), and keeps a checkpoint so that
// the next run is incremental: it reads only the events stored since,
// re-rates the contacts that got events (late or out of order ones
// included) and those whose sunset recommendation can change because the
// as-of time moved, and takes every other rating from the checkpoint. See
// the package doc for why that equals rating from scratch.
//
// The checkpoint is discarded (and the run is full) when the store was
// pruned, recreated or rewritten under it, or this binary's rating model
// differs from the one that wrote it.
func Rate(ctx context.Context, dir string, opts RateOptions) (*rating.Result, *RateStats, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := opts.Checkpoint
	if path == "" {
		path = filepath.Join(dir, "rating.ckpt")
	}
	id, err := storeID(dir, false)
	if err != nil {
		return nil, nil, err
	}
	nums, err := segments(dir)
	if err != nil {
		return nil, nil, err
	}
	var first uint32
	if len(nums) > 0 {
		first = nums[0]
	}
	digest, ok := modelDigest()
	reason := "no checkpoint"
	if !ok {
		reason = "rating.Rating has fields this checkpoint format does not know"
	} else if !opts.Full {
		ck, err := loadCheckpoint(path)
		switch {
		case err != nil:
			reason = err.Error()
		case ck.storeID != id:
			reason = "checkpoint of another store"
		case ck.digest != digest:
			reason = "checkpoint written by another rating model"
		case ck.first != first:
			reason = "store pruned since the checkpoint"
		case !ck.tailMatches(dir):
			reason = "store changed under the checkpoint"
		default:
			res, st, err := rateIncremental(ctx, dir, ck, opts)
			if err == nil {
				if st.Saved = saveCheckpoint(path, ck) == nil; !st.Saved {
					log.Warn("events: cannot save the rating checkpoint", "path", path)
				}
				return res, st, nil
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			reason = err.Error()
		}
	}
	log.Debug("events: full rating run", "reason", reason)
	res, ck, st, err := rateFull(ctx, dir, opts)
	if err != nil {
		return nil, nil, err
	}
	st.Reason = reason
	if ck != nil && ok {
		ck.storeID, ck.digest, ck.first = id, digest, first
		st.Saved = saveCheckpoint(path, ck) == nil
	}
	return res, st, nil
}

// RateFrom rates every stored event with the given rating options (an
// --as-of time, --strict), from scratch, without a checkpoint.
func RateFrom(ctx context.Context, dir string, opts rating.Options) (*rating.Result, error) {
	e := rating.New(opts)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	defer wg.Wait()
	go func() {
		defer wg.Done()
		bw := bufio.NewWriterSize(pw, 1<<20)
		_, err := Scan(ctx, dir, Position{}, func(r *Record) error {
			bw.Write(r.Raw)
			return bw.WriteByte('\n')
		})
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	if err := e.Read(ctx, "events", pr); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	return e.Rate(ctx)
}

// compact event, per contact in the checkpoint:
//
//	u32 LE ts | u8 kind | u8 flags (1 machine, 2-3 bounce type, 8 has sg_event_id) | u8 class
//	[uvarint length, sg_message_id]   only without sg_event_id
//	[uvarint length, sg_event_id]     only for a bounce with one
//
// Rating orders a contact's events of the same second and type by their
// fingerprint (of sg_event_id); only for bounces (a hard bounce and a block
// in the same second) does that order change the score, so bounces keep
// their sg_event_id and the other events get stand-in ids, distinct per
// contact.
const (
	cMachine = 1
	cBShift  = 1
	cHasID   = 8
)

func appendCompact(dst []byte, r *Record) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(r.Info.Time))
	flags := byte(0)
	if r.Info.MachineOpen {
		flags |= cMachine
	}
	flags |= byte(r.Info.BounceType&3) << cBShift
	if len(r.ID) > 0 {
		flags |= cHasID
	}
	dst = append(dst, byte(r.Info.Kind), flags, byte(r.Info.Classification))
	if len(r.ID) == 0 {
		dst = binary.AppendUvarint(dst, uint64(len(r.Info.MessageID)))
		dst = append(dst, r.Info.MessageID...)
	} else if r.Info.Kind == rating.KindBounce {
		dst = binary.AppendUvarint(dst, uint64(len(r.ID)))
		dst = append(dst, r.ID...)
	}
	return dst
}

// eachCompact calls fn for the compact events in b; msg is the
// sg_message_id of an event without sg_event_id, or the sg_event_id of a
// bounce.
func eachCompact(b []byte, fn func(ts uint32, kind rating.Kind, flags byte, class rating.Classification, msg []byte)) error {
	for len(b) > 0 {
		if len(b) < 7 {
			return errBadCheckpoint
		}
		ts := binary.LittleEndian.Uint32(b)
		kind, flags, class := rating.Kind(b[4]), b[5], rating.Classification(b[6])
		b = b[7:]
		var msg []byte
		if flags&cHasID == 0 || kind == rating.KindBounce {
			n, w := binary.Uvarint(b)
			if w <= 0 || n > uint64(len(b)-w) {
				return errBadCheckpoint
			}
			msg, b = b[w:w+int(n)], b[w+int(n):]
		}
		fn(ts, kind, flags, class, msg)
	}
	return nil
}

// appendEventsJSON writes the contact's compact events as the JSON rating
// reads: the same fields; a bounce with its sg_event_id, any other event
// with a stand-in ("\u0000" and a number: stored events are unique by
// sg_event_id, so the ids only need to stay distinct), or without one its
// sg_message_id, as rating fingerprints it. It fails with errBadCheckpoint
// on a malformed compact record.
func appendEventsJSON(dst []byte, email string, evs []byte) ([]byte, error) {
	i := 0
	head := appendJSONString([]byte(`{"email":`), email)
	head = append(head, `,"timestamp":`...)
	err := eachCompact(evs, func(ts uint32, kind rating.Kind, flags byte, class rating.Classification, msg []byte) {
		dst = append(dst, head...)
		dst = strconv.AppendUint(dst, uint64(ts), 10)
		dst = append(dst, `,"event":"`...)
		dst = append(dst, kind.String()...)
		dst = append(dst, '"')
		switch {
		case flags&cHasID != 0 && kind == rating.KindBounce:
			dst = append(dst, `,"sg_event_id":`...)
			dst = appendJSONString(dst, string(msg))
		case flags&cHasID != 0:
			dst = append(dst, `,"sg_event_id":"\u0000`...)
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, '"')
		case len(msg) > 0:
			dst = append(dst, `,"sg_message_id":`...)
			dst = appendJSONString(dst, string(msg))
		}
		if bt := rating.BounceType(flags >> cBShift & 3); kind == rating.KindBounce && bt != rating.BounceNone {
			dst = append(dst, `,"type":"`...)
			dst = append(dst, bt.String()...)
			dst = append(dst, '"')
		}
		if class != rating.ClassNone {
			dst = append(dst, `,"bounce_classification":`...)
			dst = appendJSONString(dst, class.String())
		}
		if flags&cMachine != 0 {
			dst = append(dst, `,"sg_machine_open":true`...)
		}
		dst = append(dst, "}\n"...)
		i++
	})
	return dst, err
}

func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// rateFull rates every stored event from its original JSON and builds the
// checkpoint from the stored fields. The checkpoint is nil when the two
// readings of the store disagree (then it must not be trusted).
func rateFull(ctx context.Context, dir string, opts RateOptions) (*rating.Result, *checkpoint, *RateStats, error) {
	st := &RateStats{}
	e := rating.New(rating.Options{Workers: opts.Workers, Logger: opts.Logger})
	byEmail := map[string]*ckContact{}
	var maxTS uint32
	var lastStart Position
	var lastCRC uint32
	var end Position
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bw := bufio.NewWriterSize(pw, 1<<20)
		var err error
		end, err = Scan(ctx, dir, Position{}, func(r *Record) error {
			st.Events++
			lastStart, lastCRC = r.Pos, crcOf(r)
			if _, err := bw.Write(r.Raw); err != nil {
				return err
			}
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
			if !r.Info.Valid {
				st.Unrated++
				return nil
			}
			c := byEmail[string(r.Info.Email)]
			if c == nil {
				c = &ckContact{email: string(r.Info.Email)}
				byEmail[c.email] = c
			}
			c.add(r)
			maxTS = max(maxTS, uint32(r.Info.Time))
			return nil
		})
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	err := e.Read(ctx, "events", pr)
	pr.CloseWithError(io.ErrClosedPipe)
	wg.Wait()
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := e.Rate(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	st.NewEvents = st.Events
	st.Rerated = len(res.Ratings)
	ck := &checkpoint{pos: end, lastStart: lastStart, lastCRC: lastCRC, asOf: maxTS, events: st.Events, unrated: st.Unrated}
	if len(res.Ratings) != len(byEmail) || (len(res.Ratings) > 0 && uint32(res.Summary.AsOf.Unix()) != maxTS) {
		return res, nil, st, nil
	}
	ck.contacts = make([]ckContact, len(res.Ratings))
	for i := range res.Ratings {
		c := byEmail[res.Ratings[i].Email]
		if c == nil {
			return res, nil, st, nil
		}
		c.r = res.Ratings[i]
		ck.contacts[i] = *c
	}
	return res, ck, st, nil
}

func crcOf(r *Record) uint32 { return r.crc }

// stable reports whether c's rating, computed as of from, is still its
// rating as of to when it got no new event: whether to is before the
// rating's ChangesAt (rating computes when time alone next changes it: a
// mark running out, dormancy, a sunset step). The incremental tests cross
// every such time.
func (c *ckContact) stable(from, to uint32) bool {
	if to <= from || c.r.ChangesAt.IsZero() {
		return true
	}
	return int64(to) < c.r.ChangesAt.Unix()
}

// rateIncremental reads the events stored since the checkpoint, re-rates
// the contacts that need it and updates ck in place.
func rateIncremental(ctx context.Context, dir string, ck *checkpoint, opts RateOptions) (*rating.Result, *RateStats, error) {
	st := &RateStats{Incremental: true}
	dirty := map[int]bool{}          // index in ck.contacts
	added := map[string]*ckContact{} // contacts new since the checkpoint
	newTS := ck.asOf
	end, err := Scan(ctx, dir, ck.pos, func(r *Record) error {
		st.NewEvents++
		ck.lastStart, ck.lastCRC = r.Pos, crcOf(r)
		if !r.Info.Valid {
			ck.unrated++
			return nil
		}
		newTS = max(newTS, uint32(r.Info.Time))
		email := string(r.Info.Email)
		if i, ok := slices.BinarySearchFunc(ck.contacts, email, func(c ckContact, e string) int { return strings.Compare(c.email, e) }); ok {
			c := &ck.contacts[i]
			if !dirty[i] {
				c.evs = slices.Clip(c.evs) // shared with the loaded file: copy on append
				dirty[i] = true
			}
			c.add(r)
			return nil
		}
		c := added[email]
		if c == nil {
			c = &ckContact{email: email}
			added[email] = c
		}
		c.add(r)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	ck.events += st.NewEvents
	st.Events, st.Unrated = ck.events, ck.unrated
	// The contacts to rate now: with new events, new, or whose rating the as-of time changes.
	var redo []int
	for i := range ck.contacts {
		if dirty[i] {
			redo = append(redo, i)
		} else if !ck.contacts[i].stable(ck.asOf, newTS) {
			redo = append(redo, i)
			st.Stepped++
		}
	}
	fresh := make([]ckContact, 0, len(added))
	for _, c := range added {
		fresh = append(fresh, *c)
	}
	slices.SortFunc(fresh, func(a, b ckContact) int { return strings.Compare(a.email, b.email) })
	size := 0
	for _, i := range redo {
		size += len(ck.contacts[i].evs) * (16 + len(ck.contacts[i].email)/4)
	}
	for i := range fresh {
		size += len(fresh[i].evs) * (16 + len(fresh[i].email)/4)
	}
	buf := make([]byte, 0, size)
	for _, i := range redo {
		if buf, err = appendEventsJSON(buf, ck.contacts[i].email, ck.contacts[i].evs); err != nil {
			return nil, nil, fmt.Errorf("contact %d of the checkpoint: %w", i, err)
		}
	}
	for i := range fresh {
		if buf, err = appendEventsJSON(buf, fresh[i].email, fresh[i].evs); err != nil {
			return nil, nil, fmt.Errorf("a contact new since the checkpoint: %w", err)
		}
	}
	var rated []rating.Rating
	if len(buf) > 0 {
		e := rating.New(rating.Options{Workers: opts.Workers, Logger: opts.Logger, AsOf: time.Unix(int64(newTS), 0)})
		if err := e.Read(ctx, "checkpoint", bytes.NewReader(buf)); err != nil {
			return nil, nil, err
		}
		res, err := e.Rate(ctx)
		if err != nil {
			return nil, nil, err
		}
		if res.Summary.Skipped > 0 || res.Summary.AfterAsOf > 0 || len(res.Ratings) != len(redo)+len(fresh) {
			return nil, nil, fmt.Errorf("incremental rating disagrees with the checkpoint (skipped %d, after as-of %d, %d ratings for %d contacts)",
				res.Summary.Skipped, res.Summary.AfterAsOf, len(res.Ratings), len(redo)+len(fresh))
		}
		rated = res.Ratings
	}
	// Merge, in email order: the checkpoint's contacts (re-rated or not)
	// and the new ones.
	byEmail := make(map[string]*rating.Rating, len(rated))
	for i := range rated {
		byEmail[rated[i].Email] = &rated[i]
	}
	for _, i := range redo {
		c := &ck.contacts[i]
		r := byEmail[c.email]
		if r == nil {
			return nil, nil, fmt.Errorf("incremental rating: no rating for a re-rated contact")
		}
		c.r = *r
	}
	for i := range fresh {
		r := byEmail[fresh[i].email]
		if r == nil {
			return nil, nil, fmt.Errorf("incremental rating: no rating for a new contact")
		}
		fresh[i].r = *r
	}
	if len(fresh) > 0 {
		merged := make([]ckContact, 0, len(ck.contacts)+len(fresh))
		a, b := ck.contacts, fresh
		for len(a) > 0 && len(b) > 0 {
			if a[0].email < b[0].email {
				merged, a = append(merged, a[0]), a[1:]
			} else {
				merged, b = append(merged, b[0]), b[1:]
			}
		}
		merged = append(append(merged, a...), b...)
		ck.contacts = merged
	}
	ck.pos, ck.asOf = end, newTS
	out := &rating.Result{Ratings: make([]rating.Rating, len(ck.contacts))}
	for i := range ck.contacts {
		out.Ratings[i] = ck.contacts[i].r
	}
	out.Summary = summarize(out.Ratings, newTS, ck.events, ck.unrated)
	st.Rerated = len(redo) + len(fresh)
	return out, st, nil
}

// summarize fills the counts of a rating.Summary for ratings from the
// checkpoint (read and used are the stored events; duplicates were dropped
// when they were stored).
func summarize(rs []rating.Rating, asOf uint32, events, unrated int64) rating.Summary {
	sum := rating.Summary{Read: events, Used: events - unrated, Skipped: unrated, Contacts: len(rs),
		SkippedBy: map[string]int64{}, Segments: map[rating.Segment]int{}, Sunsets: map[rating.Sunset]int{},
		AsOf: time.Unix(int64(asOf), 0).UTC(), Inputs: 1}
	for i := range rs {
		sum.Stars[rs[i].Stars]++
		sum.Segments[rs[i].Segment]++
		sum.Sunsets[rs[i].Sunset]++
	}
	return sum
}

// ratingFields is the rating.Rating layout the checkpoint stores. If the
// model gains or renames a field, modelDigest reports it and every run is
// full until the checkpoint format follows.
var ratingFields = []string{"Email", "Score", "Stars", "Segment", "LastEngaged", "Sends", "HumanOpens",
	"MachineOpens", "Clicks", "Bounces", "Complaints", "Unsubscribes", "Sunset", "SenderBlocks", "Value", "ChangesAt"}

var digestOnce = sync.OnceValues(computeDigest)

// modelDigest fingerprints this binary's rating model: the ratings of a
// fixed set of probe contacts. A checkpoint written by another model is
// not used.
func modelDigest() (uint64, bool) { return digestOnce() }

func computeDigest() (uint64, bool) {
	t := reflect.TypeFor[rating.Rating]()
	if t.NumField() != len(ratingFields) {
		return 0, false
	}
	for i, name := range ratingFields {
		if t.Field(i).Name != name {
			return 0, false
		}
	}
	var buf []byte
	day := uint32(86400)
	base := uint32(1_700_000_000)
	probe := []struct {
		email string
		evs   []string
	}{
		{"a", []string{"delivered", "open", "click", "delivered", "delivered", "open"}},
		{"b", []string{"delivered", "delivered", "delivered", "bounce"}},
		{"c", []string{"delivered", "open", "spamreport"}},
		{"d", []string{"delivered", "unsubscribe", "group_resubscribe", "delivered", "click"}},
		{"e", []string{"processed", "deferred", "delivered", "dropped"}},
	}
	for _, p := range probe {
		for k, ev := range p.evs {
			ts := base + uint32(k)*7*day
			buf = fmt.Appendf(buf, `{"email":%q,"timestamp":%d,"event":%q,"sg_event_id":"%s%d"}`+"\n", p.email, ts, ev, p.email, k)
		}
	}
	h := fnv.New64a()
	for _, asOf := range []uint32{base + 40*day, base + 100*day, base + 200*day, base + 400*day} {
		e := rating.New(rating.Options{Workers: 1, AsOf: time.Unix(int64(asOf), 0)})
		if e.Read(context.Background(), "probe", bytes.NewReader(buf)) != nil {
			return 0, false
		}
		res, err := e.Rate(context.Background())
		if err != nil {
			return 0, false
		}
		for _, r := range res.Ratings {
			fmt.Fprintf(h, "%#v\n", r)
		}
	}
	return h.Sum64(), true
}
