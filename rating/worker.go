package rating

import (
	"bytes"
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
		if len(ln) > w.e.opts.MaxRecordSize {
			if !w.badLine(name, block{seq: b.seq, err: tooLarge(w.e.opts.MaxRecordSize)}, line) {
				w.flush()
				return line, false
			}
			line++
			continue
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

// badLine records line (relative to block b) as skipped for b.err; it
// returns false in strict mode.
func (w *worker) badLine(name string, b block, line int) bool {
	w.read++
	pe := &ParseError{File: name, Line: line, Err: b.err}
	kept := len(w.errs)
	ok := w.bad(pe)
	if len(w.errs) > kept || w.strict == pe {
		w.pending = append(w.pending, pendingLine{pe, b.seq})
	}
	return ok
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
	key := fingerprintOf(f.eventID, k, f.ts, f.messageID, f.asm)<<fpShift | packInfo(k, f.machine && k == KindOpen, bt, f.class)
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
	f.asm = ev.ASMGroupID
	if _, field, err := sc.check(0); err != nil {
		w.bad(&ParseError{File: "(added)", Line: int(w.read), Field: field, Err: err})
		return
	}
	w.add(f)
}
