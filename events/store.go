package events

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the [Store]; test with errors.Is.
var (
	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("events: store closed")
	// ErrLocked is returned by Open when another process has the store
	// open for writing (a running "sgseq events serve", for example).
	ErrLocked = errors.New("events: store is open for writing by another process")
	// ErrFailed wraps the error (an fsync failure) after which the store
	// takes nothing more until it is reopened: after a failed fsync the
	// kernel may have dropped the written pages, so nothing written since
	// the last good sync can be trusted to be there.
	ErrFailed = errors.New("events: store failed")
)

// CorruptError is a record that cannot be read in the middle of the store
// (not a torn tail, which Open drops): the store is not opened.
type CorruptError struct {
	File   string // segment file
	Offset int64  // offset of the bad record
	Err    error
}

// Error names the segment file and offset.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("events: %s: offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns what is wrong with the record.
func (e *CorruptError) Unwrap() error { return e.Err }

// Position is a place in the store: a segment number and a byte offset in
// it. Records are appended in Position order.
type Position struct {
	Segment uint32
	Offset  int64
}

// Options configure a [Store]. The zero value is usable.
type Options struct {
	// SegmentSize is the size at which the store starts a new segment
	// file; 0 means 64 MiB.
	SegmentSize int64
	// Logger receives the recovery and failure logs; nil discards them.
	Logger *slog.Logger
	// OnCommit, if set, is called after each group commit that wrote
	// something, before its batches are answered, with the number of
	// events written and how long the write and fsync took.
	OnCommit func(events int, took time.Duration)
}

// Result is what one Append did.
type Result struct {
	Events     int // events in the batch
	Stored     int // new events now durable
	Duplicates int // events whose sg_event_id was already stored (or repeated in the batch)
}

// Store is an append-only, deduplicated, durable event store in a
// directory: segment files of length- and CRC-framed records. One process
// opens it for writing (Open takes a lock); any number may read it at the
// same time with [Scan]. See the package doc for the layout.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// Owned by the writer goroutine after Open.
	seg     *os.File
	segNum  uint32
	segSize int64
	index   map[key]struct{}
	pending map[key]struct{}
	wbuf    []byte

	reqs     chan *request
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
	closeErr error
	failed   atomic.Pointer[error]
	events   atomic.Int64 // stored events

	seeds [2]maphash.Seed
}

type request struct {
	op    func() // run on the writer goroutine instead of a commit
	b     *Batch
	res   Result
	err   error
	reply chan struct{}
}

// key identifies an event for deduplication: 128 bits of hash of its
// sg_event_id, or of its JSON when it has none. The seeds are per process;
// the index is rebuilt from the records on Open.
type key [2]uint64

const (
	segDir     = "segments"
	segExt     = ".seg"
	maxGroup   = 256
	queueDepth = 1024
)

// DefaultDir returns the default store directory:
// $XDG_STATE_HOME/sgseq/events, or ~/.local/state/sgseq/events.
func DefaultDir() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "sgseq", "events"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("events: no store directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "sgseq", "events"), nil
}

// Open opens (creating if needed) the store in dir for writing. It
// rebuilds the sg_event_id index from the segments and drops a torn tail
// (a record cut short or failing its checksum at the end of the last
// segment: a write that was never acknowledged). A bad record anywhere
// else is a [*CorruptError]. Open fails with [ErrLocked] while another
// process has the store open.
func Open(dir string, opts Options) (*Store, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = 64 << 20
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, index: map[key]struct{}{}, pending: map[key]struct{}{},
		reqs: make(chan *request, queueDepth), quit: make(chan struct{}), done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	if err := os.MkdirAll(filepath.Join(dir, segDir), 0o700); err != nil {
		return nil, fmt.Errorf("events: create store: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if _, err := storeID(dir, true); err != nil {
		lock.Close()
		return nil, err
	}
	if err := s.recover(); err != nil {
		lock.Close()
		return nil, err
	}
	go s.loop()
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Len returns the number of events stored.
func (s *Store) Len() int64 { return s.events.Load() }

// Err returns nil while the store takes writes, else why not
// ([ErrClosed], or [ErrFailed] with the cause).
func (s *Store) Err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	return nil
}

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

func (s *Store) keyOf(id, raw []byte) key {
	var h [2]maphash.Hash
	for i := range h {
		h[i].SetSeed(s.seeds[i])
		if len(id) > 0 {
			h[i].WriteByte('i')
			h[i].Write(id)
		} else {
			h[i].WriteByte('r')
			h[i].Write(raw)
		}
	}
	return key{h[0].Sum64(), h[1].Sum64()}
}

// Batch is a set of events encoded for [Store.Append]. Building it (the
// CPU work of a request) happens in the caller's goroutine, so concurrent
// requests encode in parallel and the writer only copies and syncs.
type Batch struct {
	buf  []byte
	offs []int // record i is buf[offs[i]:offs[i+1]]
	ids  [][]byte
	raws [][]byte
	keys []key
}

// Len returns the number of events in b.
func (b *Batch) Len() int { return len(b.ids) }

// NewBatch encodes JSON event objects for s. ids[i] is the sg_event_id of
// objs[i] (nil when it has none).
func (s *Store) NewBatch(objs, ids [][]byte) *Batch {
	return s.newBatch(objs, ids, nil)
}

// newBatch is NewBatch with the raw fields splitBatch found (nil: read the
// objects again).
func (s *Store) newBatch(objs, ids [][]byte, raws []rawFields) *Batch {
	b := &Batch{offs: make([]int, 0, len(objs)+1), ids: ids, keys: make([]key, len(objs))}
	infos := make([]Info, len(objs))
	for i, o := range objs {
		var ok bool
		if raws != nil {
			infos[i], ok = infoFromRaw(o, &raws[i])
		} else {
			infos[i], ok = infoFromObject(o)
		}
		if !ok {
			infos[i] = infoOf(objs[i : i+1])[0]
		}
		objs[i] = oneLine(o)
	}
	size := 0
	for _, o := range objs {
		size += len(o) + 96
	}
	b.buf = make([]byte, 0, size)
	for i, o := range objs {
		b.offs = append(b.offs, len(b.buf))
		b.buf = appendRecord(b.buf, ids[i], &infos[i], o)
		b.keys[i] = s.keyOf(ids[i], o)
	}
	b.offs = append(b.offs, len(b.buf))
	b.raws = objs
	return b
}

// Append stores the new events of b (those whose sg_event_id, or JSON
// when they have none, is not stored yet) and returns once they are on
// disk (written and fsynced). Concurrent Appends share one fsync (group
// commit). An error means the batch may or may not be stored: the caller
// should answer so that the sender retries; duplicates are dropped then.
func (s *Store) Append(ctx context.Context, b *Batch) (Result, error) {
	if err := s.Err(); err != nil {
		return Result{}, err
	}
	r := &request{b: b, reply: make(chan struct{}, 1)}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return Result{}, ErrClosed
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case <-r.reply:
		return r.res, r.err
	case <-s.done:
		select {
		case <-r.reply:
			return r.res, r.err
		default:
			return Result{}, ErrClosed
		}
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Close stops taking writes, waits for the commits in progress and closes
// the files.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		s.closeErr = s.seg.Close()
		if err := s.lock.Close(); s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}

func (s *Store) loop() {
	defer close(s.done)
	group := make([]*request, 0, maxGroup)
	for {
		group = group[:0]
		var op *request
		select {
		case r := <-s.reqs:
			if r.op != nil {
				op = r
			} else {
				group = append(group, r)
			}
		case <-s.quit:
			s.drain()
			return
		}
	more:
		for op == nil && len(group) < maxGroup {
			select {
			case r := <-s.reqs:
				if r.op != nil {
					op = r
					break more
				}
				group = append(group, r)
			default:
				break more
			}
		}
		if len(group) > 0 {
			s.commit(group)
		}
		if op != nil {
			op.op()
			op.reply <- struct{}{}
		}
	}
}

// do runs fn on the writer goroutine, between commits.
func (s *Store) do(ctx context.Context, fn func()) error {
	r := &request{op: fn, reply: make(chan struct{}, 1)}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.reply:
		return nil
	case <-s.done:
		select {
		case <-r.reply:
			return nil
		default:
			return ErrClosed
		}
	}
}

// drain answers the requests still queued at Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			r.err = ErrClosed
			r.reply <- struct{}{}
		default:
			return
		}
	}
}

// commit writes the new events of a group of requests with one write and
// one fsync, then answers them.
func (s *Store) commit(group []*request) {
	start := time.Now()
	s.wbuf = s.wbuf[:0]
	clear(s.pending)
	for _, r := range group {
		b := r.b
		r.res = Result{Events: b.Len()}
		for i, k := range b.keys {
			if _, dup := s.index[k]; dup {
				r.res.Duplicates++
				continue
			}
			if _, dup := s.pending[k]; dup {
				r.res.Duplicates++
				continue
			}
			s.pending[k] = struct{}{}
			s.wbuf = append(s.wbuf, b.buf[b.offs[i]:b.offs[i+1]]...)
			r.res.Stored++
		}
	}
	var err error
	if len(s.wbuf) > 0 {
		err = s.write(s.wbuf)
	}
	if err == nil {
		for k := range s.pending {
			s.index[k] = struct{}{}
		}
		s.events.Add(int64(len(s.pending)))
	}
	if err == nil && len(s.wbuf) > 0 && s.opts.OnCommit != nil {
		s.opts.OnCommit(len(s.pending), time.Since(start))
	}
	for _, r := range group {
		if err != nil {
			r.res = Result{}
			r.err = err
		}
		r.reply <- struct{}{}
	}
}

// write appends buf to the current segment (starting a new one first when
// it is full) and fsyncs it.
func (s *Store) write(buf []byte) error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	if s.segSize >= s.opts.SegmentSize {
		if err := s.roll(); err != nil {
			return s.fail(err)
		}
	}
	n, err := s.seg.Write(buf)
	if err != nil {
		// Nothing of a failed write is acknowledged: cut it off so the next
		// records follow the last good one (for ENOSPC, say, the store
		// goes on once there is room).
		s.log.Error("events: write failed", "segment", s.seg.Name(), "err", err)
		if terr := s.seg.Truncate(s.segSize); terr != nil {
			return s.fail(fmt.Errorf("write: %w; truncate: %w", err, terr))
		}
		return fmt.Errorf("events: write: %w", err)
	}
	if err := s.seg.Sync(); err != nil {
		return s.fail(fmt.Errorf("fsync: %w", err))
	}
	s.segSize += int64(n)
	return nil
}

// roll syncs and closes the current segment and starts the next one.
func (s *Store) roll() error {
	next := s.segNum + 1
	f, err := os.OpenFile(segPath(s.dir, next), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("new segment: %w", err)
	}
	if err := syncDir(filepath.Join(s.dir, segDir)); err != nil {
		f.Close()
		return fmt.Errorf("new segment: %w", err)
	}
	if err := s.seg.Close(); err != nil {
		s.log.Warn("events: close segment", "err", err)
	}
	s.seg, s.segNum, s.segSize = f, next, 0
	return nil
}

func (s *Store) fail(err error) error {
	err = fmt.Errorf("%w: %w", ErrFailed, err)
	s.failed.CompareAndSwap(nil, &err)
	s.log.Error("events: store failed; it takes no more events until restarted", "err", err)
	return err
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
