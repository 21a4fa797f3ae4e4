package store

// One writer per store: the write lease.
//
// Two processes sweeping one store notify every alert twice (each reads the
// same alert state, each sends, each records). A writer (sgseq check,
// backfill, monitor) therefore takes the store's write lease before it
// opens the store, and holds it for the whole run. Readers (status,
// history, the status page, pools plan) never take it.
//
// Today the lease is an advisory lock (flock(2), LockFileEx on Windows) on
// a file beside the database, "<db>.lock", holding the holder's identity as
// JSON. The kernel drops the lock when the holder exits, however it exits
// (SIGKILL included), so a stale lock file never blocks anyone: the next
// writer takes the lock and rewrites the identity.
//
// The API is shaped for a lease row on a shared database, so that several
// replicas can later elect one active writer with the same calls: a
// [Lease] has a [Holder] (who, where, since when), a Lost channel (closed
// when the lease ends without Release: a row lease whose renewal failed or
// expired), and Release. A row-based Acquire would insert or take over a
// row (store, holder, expires_at) when expires_at has passed, renew it
// every TTL/3, and close Lost when a renewal fails; a replica that does not
// get the lease waits (LockOptions.Wait) or stands by and retries. The
// flock lease never expires while its process lives, so its Lost channel
// closes only on Release.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrLocked is matched (errors.Is) by the [*LockedError] that [Acquire]
// returns when another process holds the store's write lease.
var ErrLocked = errors.New("store is in use by another writer")

// Holder identifies the process holding a store's write lease.
type Holder struct {
	// PID is the holder's process ID.
	PID int `json:"pid"`
	// Host is the holder's host name (a pod name under Kubernetes).
	Host string `json:"host"`
	// Since is when the holder took the lease (UTC).
	Since time.Time `json:"since"`
}

// String formats h as "pid N on HOST since T".
func (h Holder) String() string {
	if h.PID == 0 {
		return "an unknown process"
	}
	return fmt.Sprintf("pid %d on %s since %s", h.PID, h.Host, h.Since.UTC().Format(time.RFC3339))
}

// LockedError is the error of [Acquire] when another process holds the
// lease and the wait (if any) ran out.
type LockedError struct {
	// Path is the database file.
	Path string
	// Holder is the process holding the lease; zero when its identity
	// could not be read (it was being written).
	Holder Holder
}

// Error formats the problem as "store PATH is in use by pid N on HOST since T".
func (e *LockedError) Error() string {
	return fmt.Sprintf("store %s is in use by %s", e.Path, e.Holder)
}

// Is reports whether target is [ErrLocked].
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// LockOptions tunes [Acquire].
type LockOptions struct {
	// Wait is how long Acquire waits for the holder to release the lease
	// before it gives up with a [*LockedError]; 0 gives up at once.
	Wait time.Duration
	// Poll is the interval between two tries while waiting. Default 200ms.
	Poll time.Duration
	// OnWait, when not nil, is called once, when Acquire starts waiting,
	// with the current holder.
	OnWait func(Holder)
	// Now is the clock recorded as Holder.Since (default time.Now).
	Now func() time.Time
}

// Lease is the exclusive right to write one store, held from [Acquire]
// until Release.
type Lease interface {
	// Holder returns the identity recorded for this lease.
	Holder() Holder
	// Lost is closed when the lease ends: on Release, or (for a lease that
	// can expire) when it could not be renewed. A writer stops writing
	// when it is closed.
	Lost() <-chan struct{}
	// Release gives the lease up. It is safe to call more than once.
	Release() error
}

// LockPath returns the lock file of the database at dbPath: "<db>.lock".
func LockPath(dbPath string) string { return dbPath + ".lock" }

// Acquire takes the write lease of the store at dbPath (the database file;
// the lock file is [LockPath] beside it, created with mode 0600 in a
// directory created with mode 0700). When another process holds it,
// Acquire waits up to opts.Wait, trying again every opts.Poll, then returns
// a [*LockedError] naming the holder (errors.Is(err, [ErrLocked])); it
// returns ctx's error when ctx ends first.
func Acquire(ctx context.Context, dbPath string, opts LockOptions) (Lease, error) {
	if dbPath == "" {
		return nil, fmt.Errorf("store: lock: empty path: %w", ErrInvalid)
	}
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", dbPath, err)
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", abs, err)
	}
	lp := LockPath(abs)
	// No O_TRUNC: the file holds the current holder's identity.
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", lp, err)
	}
	deadline := time.Now().Add(opts.Wait)
	waiting := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", lp, err)
		}
		if ok {
			break
		}
		left := time.Until(deadline)
		if left <= 0 {
			f.Close()
			return nil, &LockedError{Path: abs, Holder: readHolder(lp)}
		}
		if !waiting && opts.OnWait != nil {
			opts.OnWait(readHolder(lp))
		}
		waiting = true
		t := time.NewTimer(min(left, opts.Poll))
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", lp, ctx.Err())
		case <-t.C:
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	l := &fileLease{f: f, path: lp, lost: make(chan struct{}),
		holder: Holder{PID: os.Getpid(), Host: host, Since: opts.Now().UTC().Truncate(time.Second)}}
	if err := l.writeHolder(); err != nil {
		l.Release()
		return nil, fmt.Errorf("store: lock %s: %w", lp, err)
	}
	return l, nil
}

// fileLease is the [Lease] held as an advisory lock on the lock file.
type fileLease struct {
	f      *os.File
	path   string
	holder Holder
	lost   chan struct{}
	once   sync.Once
	err    error
}

func (l *fileLease) Holder() Holder        { return l.holder }
func (l *fileLease) Lost() <-chan struct{} { return l.lost }

// writeHolder records the holder's identity in the lock file.
func (l *fileLease) writeHolder() error {
	b, err := json.Marshal(l.holder)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err = l.f.WriteAt(append(b, '\n'), 0)
	return err
}

// Release unlocks and closes the lock file. The file itself stays: removing
// it would let a waiter that opened the old file and a newcomer that
// creates a new one both hold "the" lock.
func (l *fileLease) Release() error {
	l.once.Do(func() {
		uerr := unlock(l.f)
		cerr := l.f.Close()
		if err := errors.Join(uerr, cerr); err != nil {
			l.err = fmt.Errorf("store: unlock %s: %w", l.path, err)
		}
		close(l.lost)
	})
	return l.err
}

// readHolder reads the identity in lock file path. The holder writes it
// just after it takes the lock, so an empty or partial file is read again
// a few times before giving up with a zero Holder.
func readHolder(path string) Holder {
	for range 5 {
		b, err := os.ReadFile(path)
		if err != nil {
			return Holder{}
		}
		var h Holder
		if len(b) > 0 && len(b) < 4096 && json.Unmarshal(b, &h) == nil && h.PID > 0 {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
	return Holder{}
}
