package events

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/sgseq/sgseq/rating"
)

// The rating checkpoint (DIR/rating.ckpt) holds, for every contact, its
// last rating and its events in compact form (7 bytes each), and where in
// the store the last run stopped. It is a cache: lose it and the next run
// is full.
//
//	"SGSEQRC2"
//	store id, model digest, first segment, position (segment, offset),
//	last record (segment, offset, CRC), as-of, events, unrated
//	contacts: email, rating, first seen, first delivery, compact events
//	CRC-32C of everything before it
type checkpoint struct {
	storeID   string
	digest    uint64
	first     uint32
	pos       Position
	lastStart Position
	lastCRC   uint32
	asOf      uint32
	events    int64
	unrated   int64
	contacts  []ckContact // sorted by email
}

type ckContact struct {
	email     string
	r         rating.Rating
	firstSeen uint32 // earliest event
	firstSend uint32 // earliest delivery
	evs       []byte // compact events
}

func (c *ckContact) add(r *Record) {
	ts := uint32(r.Info.Time)
	if c.firstSeen == 0 || ts < c.firstSeen {
		c.firstSeen = ts
	}
	if r.Info.Kind == rating.KindDelivered && (c.firstSend == 0 || ts < c.firstSend) {
		c.firstSend = ts
	}
	c.evs = appendCompact(c.evs, r)
}

var errBadCheckpoint = errors.New("events: bad rating checkpoint")

const ckMagic = "SGSEQRC2"

// tailMatches reports whether the record the checkpoint read last is still
// there, unchanged (a store restored from a backup, or a torn tail dropped
// after a crash and written over, would not be).
func (ck *checkpoint) tailMatches(dir string) bool {
	if ck.pos == (Position{}) {
		return true
	}
	f, err := os.Open(segPath(dir, ck.lastStart.Segment))
	if err != nil {
		return false
	}
	defer f.Close()
	var h [headerSize]byte
	if _, err := f.ReadAt(h[:], ck.lastStart.Offset); err != nil {
		return false
	}
	size := int64(binary.LittleEndian.Uint32(h[:]))
	if binary.LittleEndian.Uint32(h[4:]) != ck.lastCRC {
		return false
	}
	if ck.pos.Segment == ck.lastStart.Segment {
		return ck.lastStart.Offset+headerSize+size == ck.pos.Offset
	}
	return true
}

func saveCheckpoint(path string, ck *checkpoint) error {
	size := 128
	for i := range ck.contacts {
		size += len(ck.contacts[i].email) + len(ck.contacts[i].evs) + 96
	}
	b := make([]byte, 0, size)
	b = append(b, ckMagic...)
	b = appendString(b, ck.storeID)
	b = binary.LittleEndian.AppendUint64(b, ck.digest)
	b = binary.AppendUvarint(b, uint64(ck.first))
	b = appendPos(b, ck.pos)
	b = appendPos(b, ck.lastStart)
	b = binary.LittleEndian.AppendUint32(b, ck.lastCRC)
	b = binary.LittleEndian.AppendUint32(b, ck.asOf)
	b = binary.AppendUvarint(b, uint64(ck.events))
	b = binary.AppendUvarint(b, uint64(ck.unrated))
	b = binary.AppendUvarint(b, uint64(len(ck.contacts)))
	for i := range ck.contacts {
		c := &ck.contacts[i]
		r := &c.r
		b = appendString(b, c.email)
		b = binary.AppendVarint(b, int64(r.Score))
		b = binary.AppendUvarint(b, uint64(r.Stars))
		b = appendString(b, string(r.Segment))
		var le int64
		if !r.LastEngaged.IsZero() {
			le = r.LastEngaged.Unix()
		}
		b = binary.AppendVarint(b, le)
		for _, n := range []int{r.Sends, r.HumanOpens, r.MachineOpens, r.Clicks, r.Bounces, r.Complaints, r.Unsubscribes, r.SenderBlocks} {
			b = binary.AppendUvarint(b, uint64(n))
		}
		b = appendString(b, string(r.Sunset))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Value))
		var ch int64
		if !r.ChangesAt.IsZero() {
			ch = r.ChangesAt.Unix()
		}
		b = binary.AppendVarint(b, ch)
		b = binary.LittleEndian.AppendUint32(b, c.firstSeen)
		b = binary.LittleEndian.AppendUint32(b, c.firstSend)
		b = binary.AppendUvarint(b, uint64(len(c.evs)))
		b = append(b, c.evs...)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rating.ckpt.*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// No fsync: the checkpoint is a cache with its own checksum; a torn
	// one after a crash only makes the next run full.
	return os.Rename(tmp.Name(), path)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPos(b []byte, p Position) []byte {
	b = binary.AppendUvarint(b, uint64(p.Segment))
	return binary.AppendUvarint(b, uint64(p.Offset))
}

// ckReader decodes a checkpoint; the first error sticks.
type ckReader struct {
	b   []byte
	err error
}

func (r *ckReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadCheckpoint
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *ckReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadCheckpoint
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *ckReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errBadCheckpoint
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *ckReader) str() string { return string(r.bytes(r.uvarint())) }

func (r *ckReader) u32() uint32 {
	v := r.bytes(4)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (r *ckReader) u64() uint64 {
	v := r.bytes(8)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(v)
}

func (r *ckReader) pos() Position {
	return Position{Segment: uint32(r.uvarint()), Offset: int64(r.uvarint())}
}

// segmentOf and sunsetOf intern the few values so that loading 100,000
// ratings does not allocate 200,000 strings.
func segmentOf(b []byte) rating.Segment {
	for _, s := range rating.Segments {
		if string(s) == string(b) {
			return s
		}
	}
	return rating.Segment(b)
}

func sunsetOf(b []byte) rating.Sunset {
	for _, s := range rating.Sunsets {
		if string(s) == string(b) {
			return s
		}
	}
	return rating.Sunset(b)
}

func loadCheckpoint(path string) (*checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no checkpoint")
		}
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if len(data) < len(ckMagic)+4 || !bytes.HasPrefix(data, []byte(ckMagic)) {
		return nil, errBadCheckpoint
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadCheckpoint)
	}
	r := &ckReader{b: body[len(ckMagic):]}
	ck := &checkpoint{}
	ck.storeID = r.str()
	ck.digest = r.u64()
	ck.first = uint32(r.uvarint())
	ck.pos = r.pos()
	ck.lastStart = r.pos()
	ck.lastCRC = r.u32()
	ck.asOf = r.u32()
	ck.events = int64(r.uvarint())
	ck.unrated = int64(r.uvarint())
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		return nil, errBadCheckpoint
	}
	ck.contacts = make([]ckContact, n)
	for i := range ck.contacts {
		c := &ck.contacts[i]
		c.email = r.str()
		c.r.Email = c.email
		c.r.Score = int(r.varint())
		c.r.Stars = int(r.uvarint())
		c.r.Segment = segmentOf(r.bytes(r.uvarint()))
		if le := r.varint(); le != 0 {
			c.r.LastEngaged = time.Unix(le, 0).UTC()
		}
		for _, p := range []*int{&c.r.Sends, &c.r.HumanOpens, &c.r.MachineOpens, &c.r.Clicks, &c.r.Bounces, &c.r.Complaints, &c.r.Unsubscribes, &c.r.SenderBlocks} {
			*p = int(r.uvarint())
		}
		c.r.Sunset = sunsetOf(r.bytes(r.uvarint()))
		c.r.Value = math.Float64frombits(r.u64())
		if ch := r.varint(); ch != 0 {
			c.r.ChangesAt = time.Unix(ch, 0).UTC()
		}
		c.firstSeen = r.u32()
		c.firstSend = r.u32()
		c.evs = r.bytes(r.uvarint())
		if r.err != nil {
			return nil, r.err
		}
		if i > 0 && ck.contacts[i-1].email >= c.email {
			return nil, fmt.Errorf("%w: contacts out of order", errBadCheckpoint)
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", errBadCheckpoint)
	}
	return ck, nil
}
