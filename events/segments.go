package events

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// storeID reads the store's random identity (DIR/ID), creating it if asked.
func storeID(dir string, create bool) (string, error) {
	path := filepath.Join(dir, "ID")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return "", fmt.Errorf("events: store id: %w", err)
	}
	var r [16]byte
	_, _ = rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	if err := writeFileSync(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("events: store id: %w", err)
	}
	return id, syncDir(dir)
}

// segments lists the segment numbers in dir, in order.
func segments(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(filepath.Join(dir, segDir))
	if err != nil {
		return nil, fmt.Errorf("events: list segments: %w", err)
	}
	var nums []uint32
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segExt)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil || n == 0 {
			continue
		}
		nums = append(nums, uint32(n))
	}
	slices.Sort(nums)
	return nums, nil
}

func segPath(dir string, n uint32) string {
	return filepath.Join(dir, segDir, fmt.Sprintf("%010d%s", n, segExt))
}

// recover rebuilds the index and opens the last segment for appending,
// truncating a torn tail.
func (s *Store) recover() error {
	nums, err := segments(s.dir)
	if err != nil {
		return err
	}
	for i, n := range nums {
		last := i == len(nums)-1
		path := segPath(s.dir, n)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("events: read segment: %w", err)
		}
		good, count, bad := s.indexSegment(data)
		if bad != nil {
			if !last {
				return &CorruptError{File: path, Offset: good, Err: bad}
			}
			s.log.Warn("events: dropping a torn tail (an unacknowledged write cut short)",
				"segment", path, "offset", good, "bytes", int64(len(data))-good)
			if err := os.Truncate(path, good); err != nil {
				return fmt.Errorf("events: truncate torn tail: %w", err)
			}
		}
		s.events.Add(int64(count))
		if last {
			s.segNum, s.segSize = n, good
		}
	}
	if len(nums) == 0 {
		s.segNum = 1
	}
	f, err := os.OpenFile(segPath(s.dir, s.segNum), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("events: open segment: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("events: sync segment: %w", err)
	}
	s.seg = f
	return syncDir(filepath.Join(s.dir, segDir))
}

// indexSegment adds the keys of data's records to the index. It returns
// the offset after the last good record, the records indexed and, if the
// data ends with a bad record, why.
func (s *Store) indexSegment(data []byte) (good int64, count int, bad error) {
	var r Record
	off := 0
	for off < len(data) {
		p, n, err := nextPayload(data[off:])
		if err == nil {
			err = decodePayload(p, &r)
		}
		if err != nil {
			return int64(off), count, err
		}
		s.index[s.keyOf(r.ID, r.Raw)] = struct{}{}
		count++
		off += n
	}
	return int64(off), count, nil
}

// nextPayload checks the record at the start of b and returns its payload
// and framed length.
func nextPayload(b []byte) (payload []byte, n int, err error) {
	if len(b) < headerSize {
		return nil, 0, fmt.Errorf("%w: header cut short", errCorrupt)
	}
	size := binary.LittleEndian.Uint32(b)
	if size > maxRecord || int(size) > len(b)-headerSize {
		return nil, 0, fmt.Errorf("%w: length %d past the end", errCorrupt, size)
	}
	p := b[headerSize : headerSize+int(size)]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return p, headerSize + int(size), nil
}

// Prune deletes whole segments from the oldest on, as long as every event
// in them is older than before (events rating cannot read count as old),
// and never the segment being written. It returns the events deleted.
// Their sg_event_ids are forgotten: a retry of a pruned event is stored
// again.
func (s *Store) Prune(ctx context.Context, before time.Time) (deleted int64, err error) {
	if derr := s.do(ctx, func() { deleted, err = s.prune(ctx, before) }); derr != nil {
		return 0, derr
	}
	return deleted, err
}

func (s *Store) prune(ctx context.Context, before time.Time) (int64, error) {
	nums, err := segments(s.dir)
	if err != nil {
		return 0, err
	}
	var deleted int64
	cut := before.Unix()
	for _, n := range nums {
		if n >= s.segNum || ctx.Err() != nil {
			break
		}
		path := segPath(s.dir, n)
		data, err := os.ReadFile(path)
		if err != nil {
			return deleted, fmt.Errorf("events: prune: %w", err)
		}
		var newest, count int64
		var r Record
		for off := 0; off < len(data); {
			p, m, err := nextPayload(data[off:])
			if err == nil {
				err = decodePayload(p, &r)
			}
			if err != nil {
				return deleted, &CorruptError{File: path, Offset: int64(off), Err: err}
			}
			newest = max(newest, r.Info.Time)
			count++
			off += m
		}
		if newest >= cut {
			break
		}
		if err := os.Remove(path); err != nil {
			return deleted, fmt.Errorf("events: prune: %w", err)
		}
		deleted += count
	}
	if deleted == 0 {
		return 0, nil
	}
	if err := syncDir(filepath.Join(s.dir, segDir)); err != nil {
		return deleted, fmt.Errorf("events: prune: %w", err)
	}
	// Rebuild the index from what is left.
	s.index = map[key]struct{}{}
	s.events.Store(0)
	if nums, err = segments(s.dir); err != nil {
		return deleted, err
	}
	for _, n := range nums {
		data, err := os.ReadFile(segPath(s.dir, n))
		if err != nil {
			return deleted, fmt.Errorf("events: prune: %w", err)
		}
		_, count, _ := s.indexSegment(data)
		s.events.Add(int64(count))
	}
	return deleted, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
