package events

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
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
