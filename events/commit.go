package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

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
