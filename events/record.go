package events

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/sgseq/sgseq/rating"
)

// On disk a record is
//
//	u32 little-endian  payload length
//	u32 little-endian  CRC-32C (Castagnoli) of the payload
//	payload:
//	  u8       format version (1)
//	  u8       flags: 1 valid for rating, 2 machine open, bits 2-3 bounce type
//	  u8       kind (rating.Kind)
//	  u8       bounce classification (rating.Classification)
//	  u32 LE   timestamp, Unix seconds (0 when not valid for rating)
//	  uvarint  length, then sg_event_id (the identity; empty when absent)
//	  uvarint  length, then email (trimmed, lower-cased, as rating reads it)
//	  uvarint  length, then sg_message_id (kept only when sg_event_id is empty)
//	  the event object's JSON exactly as received (compacted to one line if
//	  it spanned lines)
//
// The leading fields are what rating reads from the object, decoded once at
// ingest, so that stats, export --since and the incremental rating need not
// parse the JSON again.
const (
	headerSize    = 8
	recordVersion = 1
	// maxRecord bounds one record's payload; larger lengths on disk are
	// corruption (a webhook event is a few kB).
	maxRecord = 16 << 20

	flagValid   = 1
	flagMachine = 2
	btypeShift  = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Info is what rating reads from one event, as stored with it.
type Info struct {
	Valid          bool // rating accepts it (email, timestamp and a known event)
	Kind           rating.Kind
	BounceType     rating.BounceType // BounceNone unless Kind is KindBounce
	Classification rating.Classification
	MachineOpen    bool  // only for opens
	Time           int64 // Unix seconds; 0 when not Valid
	Email          []byte
	MessageID      []byte // only when the event has no sg_event_id
}

// appendRecord appends the framed record of one event to dst.
func appendRecord(dst []byte, id []byte, info *Info, raw []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	var flags byte
	if info.Valid {
		flags |= flagValid
	}
	if info.MachineOpen {
		flags |= flagMachine
	}
	flags |= byte(info.BounceType&3) << btypeShift
	dst = append(dst, recordVersion, flags, byte(info.Kind), byte(info.Classification))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(info.Time))
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	dst = append(dst, id...)
	dst = binary.AppendUvarint(dst, uint64(len(info.Email)))
	dst = append(dst, info.Email...)
	var msg []byte
	if len(id) == 0 {
		msg = info.MessageID
	}
	dst = binary.AppendUvarint(dst, uint64(len(msg)))
	dst = append(dst, msg...)
	dst = append(dst, raw...)
	payload := dst[start+headerSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// Record is one stored event as read back. Its byte slices are valid only
// during the callback that receives it.
type Record struct {
	Pos  Position // where it is stored
	ID   []byte   // sg_event_id; empty when the event has none
	Info Info     // what rating reads from it
	Raw  []byte   // the event object's JSON, one line
	crc  uint32
}

// Time returns the event's timestamp, or the zero time when rating cannot
// read the event.
func (r *Record) Time() time.Time {
	if !r.Info.Valid {
		return time.Time{}
	}
	return time.Unix(r.Info.Time, 0).UTC()
}

// errCorrupt is a record whose length or checksum is wrong.
var errCorrupt = errors.New("corrupt record")

// decodePayload parses a checked payload into r (slices point into p).
func decodePayload(p []byte, r *Record) error {
	if len(p) < 8 || p[0] != recordVersion {
		return fmt.Errorf("%w: unknown record version", errCorrupt)
	}
	flags := p[1]
	r.Info = Info{
		Valid:          flags&flagValid != 0,
		MachineOpen:    flags&flagMachine != 0,
		BounceType:     rating.BounceType(flags >> btypeShift & 3),
		Kind:           rating.Kind(p[2]),
		Classification: rating.Classification(p[3]),
		Time:           int64(binary.LittleEndian.Uint32(p[4:])),
	}
	rest := p[8:]
	var fields [3][]byte
	for k := range fields {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return fmt.Errorf("%w: bad field length", errCorrupt)
		}
		fields[k] = rest[w : w+int(n)]
		rest = rest[w+int(n):]
	}
	r.ID, r.Info.Email, r.Info.MessageID = fields[0], fields[1], fields[2]
	r.Raw = rest
	return nil
}

// infoOf reads, with rating's own decoder, what rating takes from each of
// objs, so that the stored fields are exactly rating's reading.
func infoOf(objs [][]byte) []Info {
	infos := make([]Info, len(objs))
	if len(objs) == 0 {
		return infos
	}
	var buf bytes.Buffer
	for _, o := range objs {
		buf.Write(o)
		buf.WriteByte('\n')
	}
	i := 0
	ok := true
	for ev, err := range rating.Decode(&buf, "batch.ndjson") {
		if i >= len(objs) {
			ok = false
			break
		}
		var pe *rating.ParseError
		switch {
		case err == nil:
			infos[i] = infoFromEvent(&ev)
		case errors.As(err, &pe):
			infos[i] = Info{}
		default:
			ok = false
		}
		i++
	}
	if ok && i == len(objs) {
		return infos
	}
	// The decoder did not yield exactly one result per object (it should
	// not happen with valid JSON objects): decode them one by one.
	for k, o := range objs {
		infos[k] = Info{}
		for ev, err := range rating.Decode(bytes.NewReader(o), "event.ndjson") {
			if err == nil {
				infos[k] = infoFromEvent(&ev)
			}
			break
		}
	}
	return infos
}

func infoFromEvent(ev *rating.Event) Info {
	in := Info{
		Valid:          true,
		Kind:           ev.Kind,
		Classification: ev.Classification,
		Time:           ev.Timestamp.Unix(),
		Email:          []byte(ev.Email),
	}
	if ev.Kind == rating.KindBounce {
		in.BounceType = ev.BounceType
	}
	if ev.Kind == rating.KindOpen {
		in.MachineOpen = ev.MachineOpen
	}
	if ev.EventID == "" {
		in.MessageID = []byte(ev.MessageID)
	}
	return in
}

// oneLine returns obj on one line: a value that spans lines is compacted
// (white space between tokens removed; strings cannot hold raw newlines).
func oneLine(obj []byte) []byte {
	if bytes.IndexByte(obj, '\n') < 0 && bytes.IndexByte(obj, '\r') < 0 {
		return obj
	}
	var b bytes.Buffer
	if err := json.Compact(&b, obj); err != nil {
		return obj
	}
	return b.Bytes()
}
