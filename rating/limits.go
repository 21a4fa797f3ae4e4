package rating

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// Bounds on what one record may cost, and inputs that break off.

// skipLine reads r up to the end of the current line, using scratch as the
// read buffer, and returns what it read after the newline (which aliases
// scratch). err is io.EOF at the end of the input, or a read error.
func skipLine(r io.Reader, scratch []byte) (rest []byte, err error) {
	for {
		n, rerr := r.Read(scratch)
		if i := bytes.IndexByte(scratch[:n], '\n'); i >= 0 {
			if rerr == io.EOF && i+1 < n {
				rerr = nil // the rest is read on the next call, which sees EOF again
			}
			return scratch[i+1 : n], rerr
		}
		if rerr != nil {
			return nil, rerr
		}
	}
}

// tooLarge is the error of a record over the size limit.
func tooLarge(limit int) error {
	return fmt.Errorf("%w: longer than %d bytes (--max-record-size), skipped", ErrRecordTooLarge, limit)
}

// isDataFault reports whether err means the input's data broke off or is
// corrupt (a truncated or damaged .gz), rather than that reading failed:
// the events read before it are kept.
func isDataFault(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt)
}

// faultError describes a data fault after n bytes of (decompressed) input.
func faultError(err error, n int64) error {
	return fmt.Errorf("%w: %v after %d bytes; reading stopped here", ErrInputBroken, err, n)
}

// valueSkipper follows one JSON value (an object, from its '{') across
// buffers without keeping it: only its nesting depth and whether it is
// inside a string.
type valueSkipper struct {
	depth          int
	inStr, escaped bool
}

// feed consumes b; it returns the offset just after the value's end in b,
// or -1 if the value goes on, and the newlines consumed.
func (s *valueSkipper) feed(b []byte) (end, lines int) {
	for i := 0; i < len(b); {
		if s.escaped {
			s.escaped = false
			i++
			continue
		}
		// Jump to the next byte that matters.
		special := "\"{}[]\n"
		if s.inStr {
			special = "\"\\\n"
		}
		k := bytes.IndexAny(b[i:], special)
		if k < 0 {
			return -1, lines
		}
		i += k
		c := b[i]
		i++
		switch {
		case c == '\n':
			lines++
		case s.inStr && c == '\\':
			s.escaped = true
		case c == '"':
			s.inStr = !s.inStr
		case c == '{' || c == '[':
			s.depth++
		default: // '}' or ']'
			s.depth--
			if s.depth <= 0 {
				return i, lines
			}
		}
	}
	return -1, lines
}

// csvLimiter passes CSV through record by record, holding at most max
// bytes of one: a longer record (found by following RFC 4180 quotes, as
// encoding/csv does) is replaced by as many newlines as it spans, so that
// the csv.Reader behind it keeps its line numbers and skips it as blank
// lines, and onSkip is called with its first line. A data fault of the
// input is returned after the records before it; a record it cut short is
// dropped.
type csvLimiter struct {
	r      io.Reader
	max    int
	onSkip func(line int)
	line   int   // line of the next byte read
	n      int64 // bytes read

	out      []byte // ready for Read from opos on
	opos     int
	rec      []byte // the record being read
	recLine  int
	skipping bool
	skipped  int // newlines of the record being skipped

	inQuote, fieldStart, afterQuote bool
	started                         bool
	in                              []byte
	err                             error
}

func (l *csvLimiter) Read(p []byte) (int, error) {
	for l.opos == len(l.out) {
		if l.err != nil {
			if l.err == io.EOF && len(l.rec) > 0 && !l.skipping {
				l.out, l.rec = append(l.out, l.rec...), l.rec[:0] // the last record, without a newline
				continue
			}
			return 0, l.err
		}
		if l.in == nil {
			l.in = make([]byte, 64<<10)
		}
		n, err := l.r.Read(l.in)
		l.n += int64(n)
		l.feed(l.in[:n])
		if err != nil {
			l.err = err
			if l.skipping {
				l.endRecord() // the input ends inside the record over the limit
			}
		}
	}
	n := copy(p, l.out[l.opos:])
	l.opos += n
	if l.opos == len(l.out) {
		l.out, l.opos = l.out[:0], 0 // drained: reuse the buffer
	}
	return n, nil
}

// feed splits b into records.
func (l *csvLimiter) feed(b []byte) {
	for len(b) > 0 {
		// The common case: a whole record on one line without quotes,
		// under the limit, passes as it is.
		if !l.started {
			if i := bytes.IndexByte(b, '\n'); i >= 0 && i < l.max && endsRecord(b[:i]) {
				l.out = append(l.out, b[:i+1]...)
				l.line++
				b = b[i+1:]
				continue
			}
		}
		// Runs that cannot end a field or a record are passed in bulk: the
		// inside of a quoted field up to its next quote, the rest of an
		// unquoted field up to the next comma or newline (a quote there is
		// a bare quote, which encoding/csv reports).
		if l.started && !l.afterQuote && (l.inQuote || !l.fieldStart) {
			var i int
			if l.inQuote {
				i = bytes.IndexByte(b, '"')
			} else {
				i = bytes.IndexAny(b, ",\n")
			}
			if i < 0 {
				i = len(b)
			}
			if i > 0 {
				l.addRun(b[:i])
				b = b[i:]
				continue
			}
		}
		c := b[0]
		b = b[1:]
		if !l.started {
			l.started, l.fieldStart, l.recLine = true, true, l.line
		}
		if l.afterQuote {
			l.afterQuote = false
			if c == '"' {
				l.inQuote = true // "" inside a quoted field
				l.add(c)
				continue
			}
		}
		end := false
		switch {
		case c == '"' && l.inQuote:
			l.inQuote, l.afterQuote = false, true
		case c == '"' && l.fieldStart:
			l.inQuote = true
		case l.inQuote:
		case c == ',':
			l.fieldStart = true
			l.add(c)
			continue
		case c == '\n':
			end = true
		}
		l.fieldStart = false
		l.add(c)
		if end {
			l.endRecord()
		}
	}
}

// endsRecord reports whether a record that starts with line ends at the
// newline after it: whether line leaves no quoted field open (RFC 4180
// quotes, as encoding/csv reads them: a quote opens a field only at its
// start, "" inside one is a quote).
func endsRecord(line []byte) bool {
	for i := 0; ; {
		k := bytes.IndexByte(line[i:], '"')
		if k < 0 {
			return true
		}
		i += k
		if i > 0 && line[i-1] != ',' {
			i++ // a bare quote: it opens nothing
			continue
		}
		// A quoted field: find its closing quote ("" is a quote).
		for {
			k := bytes.IndexByte(line[i+1:], '"')
			if k < 0 {
				return false // still open at the end of the line
			}
			i += 1 + k
			if i+1 < len(line) && line[i+1] == '"' {
				i++
				continue
			}
			break
		}
		i++
	}
}

// addRun adds bytes that neither end a field nor start or end a quote.
func (l *csvLimiter) addRun(run []byte) {
	n := bytes.Count(run, nl)
	l.line += n
	if l.skipping {
		l.skipped += n
		return
	}
	l.rec = append(l.rec, run...)
	if len(l.rec) > l.max {
		l.skipping = true
		l.skipped = bytes.Count(l.rec, nl)
		l.rec = l.rec[:0]
	}
}

func (l *csvLimiter) add(c byte) {
	if c == '\n' {
		l.line++
	}
	if l.skipping {
		if c == '\n' {
			l.skipped++
		}
		return
	}
	l.rec = append(l.rec, c)
	if len(l.rec) > l.max {
		l.skipping = true
		l.skipped = bytes.Count(l.rec, nl)
		l.rec = l.rec[:0]
	}
}

func (l *csvLimiter) endRecord() {
	if l.skipping {
		l.out = append(l.out, bytes.Repeat(nl, l.skipped)...)
		l.onSkip(l.recLine)
		l.skipping, l.skipped = false, 0
	} else {
		l.out = append(l.out, l.rec...)
		l.rec = l.rec[:0]
	}
	l.started = false
}
