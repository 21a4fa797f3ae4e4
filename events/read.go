package events

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"
)

// Scan calls fn for every stored event from position from on (the zero
// Position: from the start), in the order they were stored, and returns
// the position after the last one. It reads while a writer appends: it
// stops at a record cut short at the end of the newest segment (a write in
// progress, or a torn tail the next Open drops). A bad record anywhere
// else is a [*CorruptError]; an error from fn stops the scan and is
// returned.
func Scan(ctx context.Context, dir string, from Position, fn func(*Record) error) (Position, error) {
	nums, err := segments(dir)
	if err != nil {
		return from, err
	}
	pos := from
	var r Record
	for i, n := range nums {
		if n < from.Segment {
			continue
		}
		off := int64(0)
		if n == from.Segment {
			off = from.Offset
		}
		path := segPath(dir, n)
		data, err := readFrom(path, off)
		if err != nil {
			return pos, err
		}
		last := i == len(nums)-1
		k := 0
		for k < len(data) {
			if err := ctx.Err(); err != nil {
				return pos, err
			}
			p, m, err := nextPayload(data[k:])
			if err == nil {
				err = decodePayload(p, &r)
			}
			if err != nil {
				if last {
					break
				}
				return pos, &CorruptError{File: path, Offset: off + int64(k), Err: err}
			}
			r.Pos = Position{Segment: n, Offset: off + int64(k)}
			r.crc = binary.LittleEndian.Uint32(data[k+4:])
			if err := fn(&r); err != nil {
				return pos, err
			}
			k += m
			pos = Position{Segment: n, Offset: off + int64(k)}
		}
		if k == len(data) {
			pos = Position{Segment: n, Offset: off + int64(k)}
		}
	}
	return pos, nil
}

// readFrom reads a segment from offset off to its end.
func readFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // pruned since listing
		}
		return nil, fmt.Errorf("events: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if off > fi.Size() {
		return nil, fmt.Errorf("events: %s: offset %d past the end (%d bytes): the store was changed under the reader", path, off, fi.Size())
	}
	data := make([]byte, fi.Size()-off)
	n, err := f.ReadAt(data, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("events: %w", err)
	}
	return data[:n], nil
}

// Export writes every stored event once, as NDJSON with its original
// fields (the JSON object as received, on one line), in the order they
// were stored. A non-zero since keeps only events at or after it
// (by their timestamp; events rating cannot read have none and are left
// out then). It returns the number of events written.
func Export(ctx context.Context, dir string, w io.Writer, since time.Time) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var n int64
	cut := since.Unix()
	_, err := Scan(ctx, dir, Position{}, func(r *Record) error {
		if !since.IsZero() && (!r.Info.Valid || r.Info.Time < cut) {
			return nil
		}
		n++
		bw.Write(r.Raw)
		return bw.WriteByte('\n')
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// Stats summarises a store.
type Stats struct {
	Dir       string           `json:"dir"`
	Segments  int              `json:"segments"`
	Bytes     int64            `json:"bytes"`    // on disk, segment files
	Events    int64            `json:"events"`   // stored events (each sg_event_id once)
	Unrated   int64            `json:"unrated"`  // events rating cannot read (no email, timestamp or known event)
	Contacts  int              `json:"contacts"` // distinct emails
	ByEvent   map[string]int64 `json:"by_event"` // events by "event" type
	Oldest    time.Time        `json:"oldest"`   // earliest event timestamp
	Newest    time.Time        `json:"newest"`   // latest event timestamp
	FirstSegm uint32           `json:"first_segment"`
	LastSegm  uint32           `json:"last_segment"`
}

// ReadStats scans the store in dir and summarises it.
func ReadStats(ctx context.Context, dir string) (*Stats, error) {
	st := &Stats{Dir: dir, ByEvent: map[string]int64{}}
	nums, err := segments(dir)
	if err != nil {
		return nil, err
	}
	st.Segments = len(nums)
	if len(nums) > 0 {
		st.FirstSegm, st.LastSegm = nums[0], nums[len(nums)-1]
	}
	for _, n := range nums {
		if fi, err := os.Stat(segPath(dir, n)); err == nil {
			st.Bytes += fi.Size()
		}
	}
	contacts := map[string]struct{}{}
	var oldest, newest int64
	_, err = Scan(ctx, dir, Position{}, func(r *Record) error {
		st.Events++
		if !r.Info.Valid {
			st.Unrated++
			st.ByEvent["(unreadable)"]++
			return nil
		}
		st.ByEvent[r.Info.Kind.String()]++
		if _, ok := contacts[string(r.Info.Email)]; !ok {
			contacts[string(r.Info.Email)] = struct{}{}
		}
		if oldest == 0 || r.Info.Time < oldest {
			oldest = r.Info.Time
		}
		newest = max(newest, r.Info.Time)
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.Contacts = len(contacts)
	if oldest > 0 {
		st.Oldest, st.Newest = time.Unix(oldest, 0).UTC(), time.Unix(newest, 0).UTC()
	}
	return st, nil
}

// EventTypes returns the keys of ByEvent in order.
func (st *Stats) EventTypes() []string {
	return slices.Sorted(maps.Keys(st.ByEvent))
}
