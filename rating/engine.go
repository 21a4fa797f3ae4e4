package rating

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure an [Engine]. The zero value is usable.
type Options struct {
	// AsOf is the time ratings are computed at: later events are ignored
	// and contacts with no event at or before it are not rated. Zero means
	// the newest event read.
	AsOf time.Time
	// Strict makes the first malformed line an error instead of a skip.
	Strict bool
	// Workers is the number of parsing goroutines; 0 means GOMAXPROCS.
	Workers int
	// MaxErrors is how many *ParseError values Summary.Errors keeps
	// (every one is counted); 0 means 100.
	MaxErrors int
	// Contact, if set, keeps only the events of this email address (used
	// by explain); it is trimmed and lower-cased.
	Contact string
	// BlockSize is the read size for line input; 0 means 4 MiB.
	BlockSize int
	// Progress, if set, is called after each block with the bytes of the
	// current input consumed so far (compressed bytes for .gz).
	Progress func(name string, done int64)
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Summary counts what an [Engine] read and rated.
type Summary struct {
	Inputs     int              `json:"inputs"`      // inputs read
	Bytes      int64            `json:"bytes"`       // input bytes read (decompressed)
	Read       int64            `json:"read"`        // event objects / CSV rows seen
	Used       int64            `json:"used"`        // events the model applied
	Duplicates int64            `json:"duplicates"`  // repeated sg_event_id (or fingerprint), ignored
	AfterAsOf  int64            `json:"after_as_of"` // events after the as-of time, ignored
	Filtered   int64            `json:"filtered"`    // events of other contacts when Options.Contact is set
	Skipped    int64            `json:"skipped"`     // malformed, not used
	SkippedBy  map[string]int64 `json:"skipped_by"`  // reason → count
	Contacts   int              `json:"contacts"`    // contacts rated
	Stars      [6]int           `json:"stars"`       // index 1..5
	Segments   map[Segment]int  `json:"segments"`    // contacts by segment
	Sunsets    map[Sunset]int   `json:"sunsets"`     // contacts by sunset recommendation
	AsOf       time.Time        `json:"as_of"`       // the time the ratings are as of
	Errors     []*ParseError    `json:"-"`           // the first MaxErrors, in file and line order
}

// Result is the output of [Engine.Rate]: one Rating per contact, sorted by
// email, and the summary.
type Result struct {
	Ratings []Rating // one per contact, sorted by email
	Summary Summary  // counts of events and contacts
}

// Engine reads Event Webhook data and rates contacts. Feed it with
// [Engine.ReadFile], [Engine.Read] or [Engine.Add], then call
// [Engine.Rate] once. An Engine is not safe for concurrent use; it uses
// Options.Workers goroutines internally.
type Engine struct {
	opts    Options
	log     *slog.Logger
	only    string
	workers []*worker
	inputs  int
	bytes   int64
	rated   bool
	stdin   io.Reader
	open    func(string) (io.ReadCloser, error)
}

// Errors of [Engine] methods; test with errors.Is.
var (
	// ErrRated is returned by [Engine.Read], [Engine.ReadFile],
	// [Engine.Rate] and [Engine.Explain] after Rate, which consumes the
	// stored events.
	ErrRated = errors.New("rating: engine already rated (Rate consumes the events; read and explain before it)")
	// ErrUnknownContact is returned by [Engine.Explain] when no event of
	// the contact was read.
	ErrUnknownContact = errors.New("rating: no events for this contact")
	// ErrNoEventsAsOf is returned by [Engine.Explain] when every event of
	// the contact is after the as-of time, so it has no rating.
	ErrNoEventsAsOf = errors.New("rating: no events of this contact at or before the as-of time")
)

// numParts is the number of contact partitions (see partOf). Records are
// stored per partition so Rate can process one partition at a time with
// little extra memory, and emit ratings in email order without a global
// sort.
const (
	numParts  = 54
	chunkRecs = 8192
)

type part struct {
	keys   []contactKey
	emails []string
	chunks [][]record
	cur    []record
}

func (p *part) len() int {
	n := len(p.cur)
	for _, c := range p.chunks {
		n += len(c)
	}
	return n
}

type worker struct {
	e       *Engine
	parts   [numParts]part
	tab     internTable
	sc      scanner
	read    int64
	other   int64 // events dropped by Options.Contact
	skipped map[string]int64
	errs    []*ParseError
	nerrs   int
	maxTS   uint32
	strict  *ParseError // first error in strict mode
	pending []pendingLine

	batch      []pending
	emailArena []byte
	arena      *recordArena
	sink       uint64
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = 4 << 20
	}
	e := &Engine{opts: opts, log: opts.Logger, stdin: os.Stdin,
		open: func(p string) (io.ReadCloser, error) { return os.Open(p) }}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if opts.Contact != "" {
		e.only = strings.ToLower(strings.TrimSpace(opts.Contact))
	}
	arenas := make([]*recordArena, opts.Workers)
	for i := range opts.Workers {
		arenas[i] = new(recordArena)
		e.workers = append(e.workers, &worker{e: e, skipped: map[string]int64{}, arena: arenas[i]})
	}
	// Record memory lives outside the Go heap: give it back when Rate is
	// never called.
	runtime.AddCleanup(e, func(as []*recordArena) {
		for _, a := range as {
			a.release()
		}
	}, arenas)
	return e
}

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
			err = scanCSV(br, name, emit)
		} else {
			err = scanStream(&ctxReader{ctx: ctx, r: br}, name, false, emit)
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
	seq  int // block number; lines are counted by the workers
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
		for len(buf) < cap(buf) {
			n, rerr := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if rerr == io.EOF {
				eof = true
				break
			}
			if rerr != nil {
				err = fmt.Errorf("read %s: %w", name, rerr)
				break
			}
		}
		if err != nil {
			break
		}
		cut := len(buf)
		if !eof {
			i := bytes.LastIndexByte(buf, '\n')
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

// lines parses a block of whole lines and returns how many lines it held.
// It returns false to stop (strict mode error). Errors carry line numbers
// relative to the block until readLines fixes them.
func (w *worker) lines(name string, b block) (int, bool) {
	buf := b.data
	line := 1
	sc := &w.sc
	sc.lineMode = true
	for len(buf) > 0 {
		var ln []byte
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			ln, buf = buf[:i], buf[i+1:]
		} else {
			ln, buf = buf, nil
		}
		sc.reset(ln, true)
		for {
			st, field, err := sc.next()
			if st == scanDone {
				break
			}
			w.read++
			if st == scanEvent {
				w.queue(&sc.f)
				continue
			}
			pe := &ParseError{File: name, Line: line, Field: field, Err: err}
			kept := len(w.errs)
			ok := w.bad(pe)
			if len(w.errs) > kept || w.strict == pe {
				w.pending = append(w.pending, pendingLine{pe, b.seq})
			}
			if !ok {
				w.flush()
				return line, false
			}
		}
		line++
	}
	w.flush()
	return line - 1, true
}

type pendingLine struct {
	pe  *ParseError
	seq int
}

// bad records a malformed event; it returns false in strict mode.
func (w *worker) bad(pe *ParseError) bool {
	w.skipped[reasonOf(pe.Err)]++
	w.nerrs++
	if len(w.errs) < w.e.opts.MaxErrors {
		w.errs = append(w.errs, pe)
	}
	if w.e.opts.Strict {
		if w.strict == nil {
			w.strict = pe
		}
		return false
	}
	return true
}

// add stores a valid event.
func (w *worker) add(f *fields) {
	w.queue(f)
	w.flush()
}

// pending is a parsed event waiting in a batch for its contact id.
type pending struct {
	key   contactKey
	rec   record
	email []byte // in w.emailArena
}

const batchSize = 32

// queue puts a valid event into the batch; flush assigns contact ids. The
// batch lets the lookups of many events overlap their cache misses.
func (w *worker) queue(f *fields) {
	email := f.email
	if w.e.only != "" && string(email) != w.e.only {
		w.other++
		return
	}
	k := kindOf(f.kind)
	ts := uint32(f.ts)
	if ts > w.maxTS {
		w.maxTS = ts
	}
	bt := f.btype
	if k == KindBounce && bt == BounceNone {
		bt = BounceHard
	}
	if k != KindBounce {
		bt = BounceNone
	}
	key := fingerprintOf(f.eventID, k, f.ts, f.messageID)<<fpShift | packInfo(k, f.machine && k == KindOpen, bt, f.class)
	start := len(w.emailArena)
	w.emailArena = append(w.emailArena, email...)
	w.batch = append(w.batch, pending{rec: record{ts: ts, key: key}, email: w.emailArena[start:len(w.emailArena):len(w.emailArena)]})
	if len(w.batch) == batchSize {
		w.flush()
	}
}

// flush interns the batch's emails and stores its records.
func (w *worker) flush() {
	b := w.batch
	if len(b) == 0 {
		return
	}
	for i := range b {
		b[i].key = keyOf(b[i].email)
	}
	for w.tab.full(len(b)) {
		w.tab.grow()
	}
	// Touch every slot first: the loads are independent, so their cache
	// misses overlap instead of stalling one event at a time.
	slots := w.tab.slots
	mask := uint64(len(slots) - 1)
	var sink uint64
	for i := range b {
		sink += slots[b[i].key.h2&mask].h1
	}
	w.sink = sink
	for i := range b {
		pe := &b[i]
		p := &w.parts[partOf(pe.email)]
		slot := w.tab.lookup(pe.key)
		if slot.h1 == 0 {
			slot.h1, slot.h2 = pe.key.h1, uint32(pe.key.h2)
			slot.id = uint32(len(p.emails))
			w.tab.n++
			p.emails = append(p.emails, string(pe.email))
			p.keys = append(p.keys, pe.key)
		}
		if len(p.cur) == cap(p.cur) {
			if p.cur != nil {
				p.chunks = append(p.chunks, p.cur)
			}
			p.cur = w.arena.alloc(min(chunkRecs, max(256, 2*cap(p.cur))))
		}
		r := pe.rec
		r.cid = slot.id
		p.cur = append(p.cur, r)
	}
	w.batch = b[:0]
	w.emailArena = w.emailArena[:0]
}

// Add adds one decoded event, as if read from input. An event without
// email, timestamp or a known kind is counted as skipped. After
// [Engine.Rate] it does nothing.
func (e *Engine) Add(ev Event) {
	if e.rated {
		return
	}
	w := e.workers[0]
	w.read++
	var sc scanner
	f := &sc.f
	f.email, f.hasEmail = []byte(ev.Email), true
	f.ts, f.hasTS = ev.Timestamp.Unix(), !ev.Timestamp.IsZero()
	f.badTS = f.hasTS && (f.ts <= 0 || f.ts > maxUnixSeconds)
	f.kind, f.hasKind = []byte(ev.Kind.String()), ev.Kind != KindUnknown
	f.eventID, f.messageID = []byte(ev.EventID), []byte(ev.MessageID)
	f.btype, f.class, f.machine = ev.BounceType, ev.Classification, ev.MachineOpen
	if _, field, err := sc.check(0); err != nil {
		w.bad(&ParseError{File: "(added)", Line: int(w.read), Field: field, Err: err})
		return
	}
	w.add(f)
}

// Rate merges what was read, rates every contact and returns the ratings
// sorted by email with the summary. It consumes the stored events: call it
// once.
func (e *Engine) Rate(ctx context.Context) (*Result, error) {
	if e.rated {
		return nil, ErrRated
	}
	e.rated = true
	sum := e.baseSummary()
	asOf := e.asOf()
	sum.AsOf = time.Unix(int64(asOf), 0).UTC()

	// The workers' contact tables are not needed any more. With a large
	// data set, collect them (and the reading garbage) now, before the
	// ratings are allocated, to keep the peak down.
	records := 0
	for _, w := range e.workers {
		w.tab = internTable{}
		for p := range w.parts {
			records += w.parts[p].len()
		}
	}
	if records > 1<<22 {
		runtime.GC()
	}
	// Phase 1: merge each partition's contacts across workers.
	merged := make([]mergedPart, numParts)
	e.parallel(ctx, func(p int, _ *[]record) { merged[p] = e.merge(p, true) })
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Phase 2: rate each partition into its place in one slice and sort it
	// by email. Partitions are in email order, so the whole slice is.
	offsets := make([]int, numParts+1)
	for p, m := range merged {
		offsets[p+1] = offsets[p] + len(m.emails)
	}
	all := make([]Rating, offsets[numParts])
	dups := make([]int64, numParts)
	after := make([]int64, numParts)
	used := make([]int64, numParts)
	kept := make([]int, numParts)
	e.parallel(ctx, func(p int, buf *[]record) {
		kept[p], dups[p], after[p], used[p] = e.ratePart(p, &merged[p], all[offsets[p]:offsets[p+1]], asOf, buf)
		merged[p] = mergedPart{}
	})
	for _, w := range e.workers {
		for p := range w.parts {
			w.parts[p] = part{}
		}
		w.arena.release()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for p := range numParts {
		sum.Duplicates += dups[p]
		sum.AfterAsOf += after[p]
		sum.Used += used[p]
	}
	// Used is counted from the records the model replayed, not derived
	// from the other counts, so Read = Used + Duplicates + AfterAsOf +
	// Skipped + Filtered checks that no event was lost on the way.
	if lost := sum.Read - sum.Used - sum.Duplicates - sum.AfterAsOf - sum.Skipped - sum.Filtered; lost != 0 {
		e.log.Error("rating: event counts do not add up", "read", sum.Read, "used", sum.Used, "lost", lost)
	}
	// Drop the gaps left by contacts with no event at or before the as-of
	// time (they did not exist yet).
	n := 0
	for p := range numParts {
		n += copy(all[n:], all[offsets[p]:offsets[p]+kept[p]])
	}
	clear(all[n:])
	all = all[:n:n]
	sum.Contacts = len(all)
	for i := range all {
		r := &all[i]
		sum.Stars[r.Stars]++
		sum.Segments[r.Segment]++
		sum.Sunsets[r.Sunset]++
	}
	return &Result{Ratings: all, Summary: sum}, nil
}

// parallel runs fn for every partition on Options.Workers goroutines; each
// goroutine has its own reusable record buffer.
func (e *Engine) parallel(ctx context.Context, fn func(p int, buf *[]record)) {
	var next atomic.Int32
	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []record
			for {
				p := int(next.Add(1) - 1)
				if p >= numParts || ctx.Err() != nil {
					return
				}
				fn(p, &buf)
			}
		}()
	}
	wg.Wait()
}

func (e *Engine) baseSummary() Summary {
	sum := Summary{Inputs: e.inputs, Bytes: e.bytes, SkippedBy: map[string]int64{},
		Segments: map[Segment]int{}, Sunsets: map[Sunset]int{}}
	for _, w := range e.workers {
		sum.Read += w.read
		sum.Filtered += w.other
		for k, v := range w.skipped {
			sum.SkippedBy[k] += v
			sum.Skipped += v
		}
		sum.Errors = append(sum.Errors, w.errs...)
	}
	slices.SortStableFunc(sum.Errors, func(a, b *ParseError) int {
		if c := cmp.Compare(a.File, b.File); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	if len(sum.Errors) > e.opts.MaxErrors {
		sum.Errors = sum.Errors[:e.opts.MaxErrors]
	}
	return sum
}

func (e *Engine) asOf() uint32 {
	if !e.opts.AsOf.IsZero() {
		u := e.opts.AsOf.Unix()
		return uint32(max(0, min(u, maxUnixSeconds)))
	}
	var m uint32
	for _, w := range e.workers {
		m = max(m, w.maxTS)
	}
	return m
}

// mergedPart is partition p's contacts merged across workers: emails and
// keys by merged index, and per worker the map from its local index.
type mergedPart struct {
	emails []string
	keys   []contactKey
	remap  [][]uint32
}

// merge merges partition p's contacts of all workers. Without consume it
// copies instead of taking over the first worker's slices.
func (e *Engine) merge(p int, consume bool) mergedPart {
	var m mergedPart
	var ids map[contactKey]uint32
	m.remap = make([][]uint32, len(e.workers))
	for wi, w := range e.workers {
		pt := &w.parts[p]
		if len(pt.emails) == 0 {
			continue
		}
		if m.emails == nil {
			m.emails, m.keys = pt.emails, pt.keys
			if !consume {
				m.emails, m.keys = slices.Clone(pt.emails), slices.Clone(pt.keys)
			}
			rm := make([]uint32, len(pt.emails))
			for i := range rm {
				rm[i] = uint32(i)
			}
			m.remap[wi] = rm
			continue
		}
		if ids == nil {
			ids = make(map[contactKey]uint32, len(m.emails))
			for i, k := range m.keys {
				ids[k] = uint32(i)
			}
		}
		rm := make([]uint32, len(pt.emails))
		for i, k := range pt.keys {
			id, ok := ids[k]
			if !ok {
				id = uint32(len(m.emails))
				ids[k] = id
				m.emails = append(m.emails, pt.emails[i])
				m.keys = append(m.keys, k)
			}
			rm[i] = id
		}
		m.remap[wi] = rm
		if consume {
			pt.emails, pt.keys = nil, nil
		}
	}
	return m
}

// scatter groups partition p's records by merged contact: the records of
// contact c are recs[offsets[c]:offsets[c+1]]. buf is reused when large
// enough. With consume the workers' chunks are dropped as they are copied.
func (e *Engine) scatter(p int, m *mergedPart, consume bool, buf []record) (recs []record, offsets []int) {
	total := 0
	for _, w := range e.workers {
		total += w.parts[p].len()
	}
	offsets = make([]int, len(m.emails)+1)
	for wi, w := range e.workers {
		pt := &w.parts[p]
		rm := m.remap[wi]
		for _, c := range pt.chunks {
			for _, r := range c {
				offsets[rm[r.cid]+1]++
			}
		}
		for _, r := range pt.cur {
			offsets[rm[r.cid]+1]++
		}
	}
	for i := 1; i < len(offsets); i++ {
		offsets[i] += offsets[i-1]
	}
	if cap(buf) >= total {
		recs = buf[:total]
	} else {
		recs = make([]record, total, total+total/4)
	}
	pos := slices.Clone(offsets[:len(m.emails)])
	for wi, w := range e.workers {
		pt := &w.parts[p]
		rm := m.remap[wi]
		put := func(c []record) {
			for _, r := range c {
				id := rm[r.cid]
				r.cid = id
				recs[pos[id]] = r
				pos[id]++
			}
		}
		for i, c := range pt.chunks {
			put(c)
			if consume {
				pt.chunks[i] = nil
			}
		}
		put(pt.cur)
		if consume {
			pt.chunks, pt.cur = nil, nil
		}
	}
	return recs, offsets
}

// ratePart rates partition p into out (len(m.emails) long) and sorts out by
// email. A contact whose every event is after asOf did not exist then: it
// gets no rating. ratePart returns how many ratings it put at the start of
// out, and how many records were duplicates, after asOf and used.
func (e *Engine) ratePart(p int, m *mergedPart, out []Rating, asOf uint32, buf *[]record) (kept int, dups, after, used int64) {
	recs, offsets := e.scatter(p, m, true, *buf)
	*buf = recs
	var set []uint64
	for c, email := range m.emails {
		own := recs[offsets[c]:offsets[c+1]]
		r, d, a := rateContactBuf(email, own, asOf, nil, &set)
		dups += int64(d)
		after += int64(a)
		if u := len(own) - d - a; u > 0 {
			used += int64(u)
			out[kept] = r
			kept++
		}
	}
	out = out[:kept]
	slices.SortFunc(out, func(a, b Rating) int { return strings.Compare(a.Email, b.Email) })
	return kept, dups, after, used
}

// Explain rates one contact and returns every event of it in time order
// with how it moved the score (duplicates and events after the as-of time
// are listed as ignored), exactly as [Engine.Rate] would rate it. It does
// not consume the engine and may be called any number of times, but only
// before Rate: Rate consumes the stored events, so Explain after Rate
// returns [ErrRated].
//
// Explain returns [ErrUnknownContact] if no event of email was read, and
// [ErrNoEventsAsOf] if every event of it is after the as-of time (Rate
// gives such a contact no rating); steps then still lists those events,
// all ignored. r is the zero Rating whenever err is not nil.
func (e *Engine) Explain(email string) (r Rating, steps []Step, err error) {
	if e.rated {
		return Rating{}, nil, ErrRated
	}
	email = strings.ToLower(strings.TrimSpace(email))
	k := keyOf([]byte(email))
	p := partOf([]byte(email))
	m := e.merge(p, false)
	c := slices.Index(m.keys, k)
	if c < 0 {
		return Rating{}, nil, ErrUnknownContact
	}
	recs, offsets := e.scatter(p, &m, false, nil)
	own := recs[offsets[c]:offsets[c+1]]
	r, dups, after := rateContact(email, own, e.asOf(), func(s Step) { steps = append(steps, s) })
	if len(own)-dups-after <= 0 {
		return Rating{}, steps, ErrNoEventsAsOf
	}
	return r, steps, nil
}
