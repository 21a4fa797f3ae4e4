package rating

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/sgseq/sgseq/internal/jsonval"
	"github.com/sgseq/sgseq/internal/readbuf"
)

// Format is the shape of an input.
type Format int

// Input formats. FormatAuto decides from the file name and the first bytes.
const (
	FormatAuto      Format = iota
	FormatJSONLines        // NDJSON or one webhook POST body (a JSON array) per line; parsed in parallel
	FormatJSON             // JSON that spans lines (a pretty-printed array); parsed sequentially
	FormatCSV              // CSV with a header row
)

// String returns "auto", "jsonl", "json" or "csv".
func (f Format) String() string {
	switch f {
	case FormatJSONLines:
		return "jsonl"
	case FormatJSON:
		return "json"
	case FormatCSV:
		return "csv"
	}
	return "auto"
}

const sniffSize = 64 << 10

// sniff decides the format of an input from its name and first bytes.
func sniff(name string, head []byte) Format {
	base := strings.TrimSuffix(strings.ToLower(name), ".gz")
	if strings.HasSuffix(base, ".csv") {
		return FormatCSV
	}
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) == 0 {
		return FormatJSONLines
	}
	if t[0] != '{' && t[0] != '[' {
		return FormatCSV
	}
	// Count lines that hold whole objects against fragments of objects that
	// span lines (a pretty-printed array).
	var sc scanner
	whole, frag := 0, 0
	for len(t) > 0 {
		nl := bytes.IndexByte(t, '\n')
		if nl < 0 {
			break // possibly cut short by the sniff size
		}
		line := bytes.TrimSpace(t[:nl])
		t = t[nl+1:]
		sc.reset(line, false)
		for {
			st, field, err := sc.next()
			if st == scanDone {
				break
			}
			if st == scanMore || (st == scanBad && field == "") && err != nil {
				frag++
				break
			}
			whole++
		}
	}
	if frag > whole {
		return FormatJSON
	}
	return FormatJSONLines
}

// openInput opens path for reading: "-" is stdin, a ".gz" name is
// decompressed. The returned closer closes both.
func openInput(path string, open func(string) (io.ReadCloser, error), stdin io.Reader) (io.Reader, func() error, error) {
	var rc io.ReadCloser
	if path == "-" {
		rc = io.NopCloser(stdin)
	} else {
		f, err := open(path)
		if err != nil {
			return nil, nil, err
		}
		rc = f
	}
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(rc)
		if err == io.EOF {
			// A zero-byte .gz file is an empty input, not a broken one.
			return strings.NewReader(""), rc.Close, nil
		}
		if err != nil {
			rc.Close()
			return nil, nil, fmt.Errorf("gzip %s: %w", path, err)
		}
		return zr, func() error { zr.Close(); return rc.Close() }, nil
	}
	return rc, rc.Close, nil
}

// sniffReader wraps r in a buffered reader past any UTF-8 byte order mark
// (not part of the first line) and detects the format from name and the
// first bytes.
func sniffReader(r io.Reader, name string) (*bufio.Reader, Format) {
	br := bufio.NewReaderSize(r, sniffSize)
	head, _ := br.Peek(sniffSize)
	if bytes.HasPrefix(head, []byte("\ufeff")) {
		_, _ = br.Discard(3)
		head = head[3:]
	}
	return br, sniff(name, head)
}

// Decode reads events from r, one at a time, in any supported format
// (detected from name and content; name is also the file in errors). A
// malformed line or event, or a record over DefaultMaxRecordSize, yields a
// *ParseError and decoding goes on; input that breaks off (a truncated or
// corrupt .gz) yields a *ParseError wrapping ErrInputBroken, last; an I/O
// error is yielded last. Decode is the simple, sequential path; [Engine]
// reads the same formats much faster.
func Decode(r io.Reader, name string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		br, format := sniffReader(r, name)
		emit := func(f *fields, line int, err error) bool {
			if err != nil {
				return yield(Event{}, err)
			}
			return yield(f.event(), nil)
		}
		var err error
		if format == FormatCSV {
			err = scanCSV(br, name, DefaultMaxRecordSize, emit)
		} else {
			err = scanStream(br, name, true, DefaultMaxRecordSize, emit)
		}
		if err != nil {
			yield(Event{}, err)
		}
	}
}

// event converts scanned fields to an Event, copying every byte slice.
func (f *fields) event() Event {
	ev := Event{
		Email:          string(f.email),
		Timestamp:      time.Unix(f.ts, 0).UTC(),
		Kind:           kindOf(f.kind),
		EventID:        string(f.eventID),
		MessageID:      string(f.messageID),
		BounceType:     f.btype,
		Classification: f.class,
		MachineOpen:    f.machine,
		ASMGroupID:     f.asm,
		URL:            string(f.url),
		UserAgent:      string(f.useragent),
		IP:             string(f.ip),
	}
	if ev.Kind == KindBounce && ev.BounceType == BounceNone {
		ev.BounceType = BounceHard
	}
	for _, c := range f.categories {
		ev.Categories = append(ev.Categories, string(c))
	}
	return ev
}

// scanStream scans JSON input of any shape sequentially, calling emit for
// every event or malformed event with its line. An object longer than
// maxRec is skipped as ErrRecordTooLarge; a data fault (see isDataFault)
// ends the input with an ErrInputBroken error. It stops early when emit
// returns false. The returned error is an I/O error.
func scanStream(r io.Reader, name string, full bool, maxRec int, emit func(f *fields, line int, err error) bool) error {
	sc := scanner{full: full}
	buf := make([]byte, 0, 1<<20)
	line := 1   // line number at buf[0]
	cursor := 0 // offset in buf up to which newlines are counted into cursorLine
	cursorLine := 1
	lineAt := func(pos int) int {
		if pos < cursor {
			cursor, cursorLine = 0, line
		}
		cursorLine += bytes.Count(buf[cursor:pos], nl)
		cursor = pos
		return cursorLine
	}
	eof := false
	var fault error
	var read int64
	for {
		// Fill the buffer.
		if !eof {
			var n int
			var err error
			buf, n, err = readbuf.More(r, buf)
			read += int64(n)
			if err == io.EOF {
				eof = true
			} else if err != nil {
				if !isDataFault(err) {
					return fmt.Errorf("read %s: %w", name, err)
				}
				eof, fault = true, faultError(err, read)
			}
			if !eof && len(buf) < cap(buf) {
				continue
			}
		}
		sc.reset(buf, eof)
		cursor, cursorLine = 0, line
		for {
			st, field, err := sc.next()
			if st == scanDone || st == scanMore {
				break
			}
			// An event, or an error in one of its fields, is on the line
			// where its object starts (not where the previous one ended).
			if st == scanEvent {
				if !emit(&sc.f, lineAt(sc.objStart), nil) {
					return nil
				}
				continue
			}
			pos := sc.objStart
			if field == "" {
				pos = sc.errPos
			}
			l := lineAt(min(pos, len(buf)))
			if !emit(nil, l, &ParseError{File: name, Line: l, Field: field, Err: err}) {
				return nil
			}
		}
		if eof {
			if fault != nil {
				l := lineAt(len(buf))
				emit(nil, l, &ParseError{File: name, Line: l, Err: fault})
			}
			return nil
		}
		// Keep the unfinished tail.
		rest := sc.pos
		line = lineAt(rest)
		n := copy(buf, buf[rest:])
		buf = buf[:n]
		if len(buf) > maxRec {
			// An object over the limit: skip it without keeping it.
			if !emit(nil, line, &ParseError{File: name, Line: line, Err: tooLarge(maxRec)}) {
				return nil
			}
			var sk valueSkipper
			for {
				end, lines := sk.feed(buf)
				line += lines
				if end >= 0 {
					n = copy(buf, buf[end:])
					buf = buf[:n]
					break
				}
				m, err := r.Read(buf[:cap(buf)])
				buf = buf[:m]
				read += int64(m)
				if err == io.EOF && m == 0 {
					return nil
				}
				if err != nil && err != io.EOF {
					if !isDataFault(err) {
						return fmt.Errorf("read %s: %w", name, err)
					}
					emit(nil, line, &ParseError{File: name, Line: line, Err: faultError(err, read)})
					return nil
				}
			}
			cursor, cursorLine = 0, line
		}
	}
}

var nl = []byte{'\n'}

// csvColumns are the CSV header names the decoder reads.
var csvColumns = []string{"email", "timestamp", "event", "sg_event_id", "sg_message_id", "type",
	"bounce_classification", "sg_machine_open", "category", "asm_group_id", "url", "useragent", "ip"}

// scanCSV reads CSV with a header row, calling emit per row. A header
// without email, timestamp and event columns is an error. A record longer
// than maxRec is skipped as ErrRecordTooLarge; a data fault ends the input
// with an ErrInputBroken error.
func scanCSV(r io.Reader, name string, maxRec int, emit func(f *fields, line int, err error) bool) error {
	lim := &csvLimiter{r: r, max: maxRec, line: 1}
	stopped := false
	lim.onSkip = func(line int) {
		if !stopped && !emit(nil, line, &ParseError{File: name, Line: line, Err: tooLarge(maxRec)}) {
			stopped = true
		}
	}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	// ended reports whether err ends the input: its end, or a fault of
	// the data (emitted).
	ended := func(err error) bool {
		if err == io.EOF {
			return true
		}
		if err != nil && isDataFault(err) {
			emit(nil, lim.line, &ParseError{File: name, Line: lim.line, Err: faultError(err, lim.n)})
			return true
		}
		return false
	}
	header, err := cr.Read()
	if ended(err) {
		return nil
	}
	if err != nil {
		return &ParseError{File: name, Line: 1, Err: fmt.Errorf("%w: %w", ErrCSVHeader, err)}
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	for _, need := range []string{"email", "timestamp", "event"} {
		if _, ok := col[need]; !ok {
			return &ParseError{File: name, Line: 1, Field: need, Err: fmt.Errorf("%w: no %q column", ErrCSVHeader, need)}
		}
	}
	idx := make([]int, len(csvColumns))
	for i, c := range csvColumns {
		idx[i] = -1
		if j, ok := col[c]; ok {
			idx[i] = j
		}
	}
	var sc scanner
	for {
		rec, err := cr.Read()
		if stopped || ended(err) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				reason := ErrCSV
				if errors.Is(err, csv.ErrFieldCount) {
					reason = ErrFieldCount
				}
				if !emit(nil, pe.StartLine, &ParseError{File: name, Line: pe.StartLine, Err: fmt.Errorf("%w: %w", reason, pe.Err)}) {
					return nil
				}
				continue
			}
			return fmt.Errorf("read %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		get := func(i int) []byte {
			if idx[i] < 0 || idx[i] >= len(rec) {
				return nil
			}
			return []byte(rec[idx[i]])
		}
		sc.arena = sc.arena[:0]
		f := &sc.f
		*f = fields{}
		f.email, f.hasEmail = get(0), idx[0] >= 0
		if ts := get(1); len(bytes.TrimSpace(ts)) > 0 {
			var ok bool
			f.hasTS = true
			f.ts, ok = jsonval.Timestamp(bytes.TrimSpace(ts))
			f.badTS = !ok
		}
		f.kind = bytes.TrimSpace(get(2))
		f.hasKind = len(f.kind) > 0
		f.eventID = get(3)
		f.messageID = get(4)
		f.btype = bounceTypeOf(bytes.TrimSpace(get(5)))
		f.class = classOf(get(6))
		switch strings.ToLower(strings.TrimSpace(string(get(7)))) {
		case "true", "1", "yes":
			f.machine = true
		}
		for _, c := range strings.Split(string(get(8)), ",") {
			// A CSV category cell may hold several, comma-separated or as a
			// JSON array.
			c = strings.Trim(strings.TrimSpace(c), `[]"`)
			if c != "" {
				f.categories = append(f.categories, []byte(c))
			}
		}
		if a := get(9); len(a) > 0 {
			f.asm = parseGroupID(bytes.TrimSpace(a))
		}
		f.url, f.useragent, f.ip = get(10), get(11), get(12)
		if _, field, err := sc.check(0); err != nil {
			if !emit(nil, line, &ParseError{File: name, Line: line, Field: field, Err: err}) {
				return nil
			}
			continue
		}
		if !emit(f, line, nil) {
			return nil
		}
	}
}
