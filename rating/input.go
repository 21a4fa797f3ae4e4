package rating

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ReadFile reads one input: a path, "-" for standard input; a name ending
// in ".gz" is gunzipped. See [Engine.Read].
func (e *Engine) ReadFile(ctx context.Context, path string) error {
	r, closeFn, err := openInput(path, e.open, e.stdin)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer closeFn()
	return e.Read(ctx, path, r)
}

// Read reads events from r; name labels errors and decides CSV by a
// ".csv" suffix. The format is detected from the first bytes: JSON
// objects one per line or JSON arrays (one webhook POST body per line, or
// one large array) are parsed in parallel when each line holds whole
// objects, sequentially when objects span lines; anything else is CSV
// with a header row.
//
// Malformed lines are counted and skipped; with Options.Strict the first
// one is returned as a *ParseError. Other errors are I/O errors or the
// context's.
func (e *Engine) Read(ctx context.Context, name string, r io.Reader) error {
	if e.rated {
		return ErrRated
	}
	e.inputs++
	cr := &countReader{r: r}
	br, format := sniffReader(cr, name)
	e.log.Debug("rating: read input", "name", name, "format", format.String())
	var err error
	switch format {
	case FormatJSONLines:
		err = e.readLines(ctx, name, br, cr)
	default:
		w := e.workers[0]
		emit := func(f *fields, line int, perr error) bool {
			w.read++
			if perr != nil {
				return w.bad(perr.(*ParseError))
			}
			w.add(f)
			return true
		}
		if format == FormatCSV {
			err = scanCSV(br, name, e.opts.MaxRecordSize, emit)
		} else {
			err = scanStream(&ctxReader{ctx: ctx, r: br}, name, false, e.opts.MaxRecordSize, emit)
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				// A bad CSV header: nothing of this input is usable.
				w.read++
				w.bad(pe)
				if !e.opts.Strict {
					err = nil
				}
			}
		}
		if err == nil && w.strict != nil {
			err = w.strict
		}
	}
	e.bytes += cr.n
	if e.opts.Progress != nil {
		e.opts.Progress(name, cr.n)
	}
	return err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// blockPool keeps read buffers between inputs and Engines: a fresh 4 MiB
// buffer costs its zeroing, which dominates small inputs.
var blockPool sync.Pool

type block struct {
	data []byte
	seq  int   // block number; lines are counted by the workers
	err  error // instead of data: one line that could not be read (too large, or cut by a fault)
	// prev: err is about the line of the block before (a fault inside a
	// line skipped as too large); the block holds no line of its own.
	prev bool
}

// readLines splits r into blocks of whole lines and parses them on all
// workers.
func (e *Engine) readLines(ctx context.Context, name string, r io.Reader, cr *countReader) error {
	nw := len(e.workers)
	work := make(chan block, nw)
	free := make(chan []byte, nw+2)
	for range nw + 2 {
		free <- nil
	}
	var lineMu sync.Mutex
	var blockLines []int // lines per block, filled by the workers
	setLines := func(seq, n int) {
		lineMu.Lock()
		for len(blockLines) <= seq {
			blockLines = append(blockLines, 0)
		}
		blockLines[seq] = n
		lineMu.Unlock()
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, w := range e.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				if b.err != nil {
					// One line, skipped for b.err.
					line, lines := 1, 1
					if b.prev {
						line, lines = 0, 0
					}
					if !stop.Load() && !w.badLine(name, b, line) {
						stop.Store(true)
					}
					setLines(b.seq, lines)
					continue
				}
				if !stop.Load() {
					n, ok := w.lines(name, b)
					setLines(b.seq, n)
					if !ok {
						stop.Store(true)
					}
				}
				free <- b.data[:0]
			}
		}()
	}
	var err error
	var carry []byte
	seq := 0
	for _, w := range e.workers {
		w.pending = w.pending[:0]
	}
	for !stop.Load() {
		if err = ctx.Err(); err != nil {
			break
		}
		buf := <-free
		if want := e.opts.BlockSize + 2*len(carry); cap(buf) < want || (len(carry) == 0 && cap(buf) > 4*e.opts.BlockSize) {
			// Room for the carried partial line plus a block; a buffer
			// grown for one long line is dropped afterwards.
			buf = nil
			if p, ok := blockPool.Get().(*[]byte); ok && cap(*p) >= want && cap(*p) <= 4*e.opts.BlockSize {
				buf = (*p)[:0]
			}
			if buf == nil {
				buf = make([]byte, 0, want+64<<10)
			}
		}
		buf = append(buf[:0], carry...)
		eof := false
		var fault error // the input broke off: keep what came before
		for len(buf) < cap(buf) {
			n, rerr := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if rerr == io.EOF {
				eof = true
				break
			}
			if rerr != nil {
				if !isDataFault(rerr) {
					err = fmt.Errorf("read %s: %w", name, rerr)
					break
				}
				fault, eof = faultError(rerr, cr.n), true
				break
			}
		}
		if err != nil {
			break
		}
		cut := len(buf)
		if fault != nil {
			// The line the input broke off in is lost: the fault is
			// reported on it.
			cut = bytes.LastIndexByte(buf, '\n') + 1
		}
		if !eof {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 && len(buf) > e.opts.MaxRecordSize {
				// A line over the limit: skip to its end without keeping it.
				rest, serr := skipLine(r, buf[:cap(buf)])
				carry = append(carry[:0], rest...)
				free <- buf[:0]
				work <- block{seq: seq, err: tooLarge(e.opts.MaxRecordSize)}
				seq++
				if serr == io.EOF {
					break
				}
				if serr != nil {
					if !isDataFault(serr) {
						err = fmt.Errorf("read %s: %w", name, serr)
						break
					}
					work <- block{seq: seq, err: faultError(serr, cr.n), prev: true}
					break
				}
				continue
			}
			if i < 0 {
				// One line longer than the block: read on with a bigger buffer.
				carry = append(carry[:0], buf...)
				free <- buf[:0:0]
				continue
			}
			cut = i + 1
		}
		carry = append(carry[:0], buf[cut:]...)
		work <- block{data: buf[:cut], seq: seq}
		seq++
		if fault != nil {
			carry = carry[:0]
			// Say where the input broke off, on the line it broke.
			work <- block{seq: seq, err: fault}
			seq++
		}
		if e.opts.Progress != nil {
			e.opts.Progress(name, cr.n)
		}
		if eof {
			break
		}
	}
	close(work)
	wg.Wait()
	// Keep the block buffers for the next input or Engine.
	for drained := false; !drained; {
		select {
		case b := <-free:
			if cap(b) > 0 {
				blockPool.Put(&b)
			}
		default:
			drained = true
		}
	}
	// Turn block-relative line numbers into file line numbers.
	start := make([]int, len(blockLines)+1)
	start[0] = 1
	for i, n := range blockLines {
		start[i+1] = start[i] + n
	}
	for _, w := range e.workers {
		for _, p := range w.pending {
			p.pe.Line += start[p.seq] - 1
		}
		w.pending = w.pending[:0]
	}
	if err != nil {
		return err
	}
	if e.opts.Strict {
		var first *ParseError
		for _, w := range e.workers {
			if w.strict != nil && (first == nil || w.strict.Line < first.Line) {
				first = w.strict
			}
		}
		if first != nil {
			return first
		}
	}
	return nil
}
