package rating

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"

	"github.com/sgseq/sgseq/internal/jsonval"
)

// maxDepth bounds the nesting of values inside an event object; deeper
// input is reported as ErrSyntax instead of recursing further.
const maxDepth = 256

// MillisFrom is the smallest timestamp taken as Unix milliseconds rather
// than seconds: 10¹¹ seconds is the year 5138, 10¹¹ milliseconds March
// 1973, so no real event time is ambiguous.
const MillisFrom = jsonval.MillisFrom

// UnixSeconds applies the rule sgseq uses for every Unix timestamp it reads
// (event timestamps, --as-of): a value of [MillisFrom] or more is in
// milliseconds and is returned in seconds (truncated); a smaller value is
// already in seconds and is returned as is.
func UnixSeconds(n int64) int64 {
	return jsonval.UnixSeconds(n)
}

// maxUnixSeconds is the largest timestamp the compact event record holds
// (the year 2106).
const maxUnixSeconds = jsonval.MaxUnixSeconds

// fields are the values the scanner extracts from one event object. Byte
// slices point into the input buffer or into the scanner's arena and are
// valid until the next call of next.
type fields struct {
	email, kind, eventID, messageID []byte
	hasEmail, hasKind, hasTS        bool
	ts                              int64 // Unix seconds; valid if hasTS && !badTS
	badTS                           bool
	btype                           BounceType
	class                           Classification
	machine                         bool

	asm int64 // asm_group_id; 0 when absent or not an integer

	// Only filled in full mode (decoders, explain).
	url, useragent, ip []byte
	categories         [][]byte
}

// scanner is a hand-written, allocation-free JSON scanner for Event Webhook
// input. It walks a buffer of top-level values: event objects, optionally
// inside arrays (one POST body per line, or one large array), separated by
// whitespace, commas and brackets. From each object it extracts only the
// keys in fields and skips every other value (custom arguments, nested
// objects and arrays) after checking its syntax.
type scanner struct {
	buf   []byte
	pos   int
	final bool // buf ends the input: an unfinished object is truncated
	full  bool // extract the full-mode fields too
	arena []byte
	f     fields

	errPos   int // offset of the last syntax error
	objStart int // offset of the '{' of the last object scanned

	lineMode bool // buf is one line: resynchronise inside it after an error
	arrays   int  // open top-level arrays
}

// errEOF is internal: the buffer ended inside a value.
type scanStatus uint8

const (
	scanEvent scanStatus = iota // s.f holds an event object
	scanBad                     // a malformed object; err says why
	scanDone                    // no more values in buf
	scanMore                    // buf ends inside an object and !final; resume at s.pos with more data
)

func (s *scanner) reset(buf []byte, final bool) {
	s.buf = buf
	s.pos = 0
	s.final = final
	s.arrays = 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// next scans the next event object. On scanBad the object is skipped (a
// syntax error skips to the end of the line; a semantic one only the
// object), err is the reason and field the culprit key, if any.
func (s *scanner) next() (st scanStatus, field string, err error) {
	buf := s.buf
	i := s.pos
	for i < len(buf) {
		c := buf[i]
		if isSpace(c) || c == ',' {
			i++
			continue
		}
		if c == '[' {
			s.arrays++
			i++
			continue
		}
		if c == ']' {
			s.arrays = max(0, s.arrays-1)
			i++
			continue
		}
		break
	}
	if i >= len(buf) {
		s.pos = i
		return scanDone, "", nil
	}
	if buf[i] != '{' {
		s.errPos = i
		s.pos = s.skipLine(i)
		if buf[i] == '"' || buf[i] == '-' || (buf[i] >= '0' && buf[i] <= '9') || buf[i] == 't' || buf[i] == 'f' || buf[i] == 'n' {
			return scanBad, "", ErrNotObject
		}
		return scanBad, "", ErrSyntax
	}
	start := i
	s.objStart = start
	end, field, err := s.object(i)
	if err != nil {
		if err == ErrTruncated && !s.final {
			s.pos = start
			return scanMore, "", nil
		}
		if err == ErrTruncated {
			s.errPos = len(buf)
			s.pos = len(buf)
			return scanBad, "", ErrTruncated
		}
		if field == "" {
			// A syntax error. Inside an array on one line (a webhook
			// POST body) go on at the next element, so one bad event
			// does not hide the rest of the batch; else at the next line.
			if s.lineMode && s.arrays > 0 {
				if j := s.nextElement(max(s.errPos, start+1)); j >= 0 {
					s.pos = j
					return scanBad, "", err
				}
			}
			s.pos = s.skipLine(s.errPos)
			return scanBad, "", err
		}
		s.pos = end
		return scanBad, field, err
	}
	s.pos = end
	return scanEvent, "", nil
}

// nextElement returns the offset of the next "{" that follows a "}" and a
// comma (the boundary between two objects of an array) at or after from,
// or -1.
func (s *scanner) nextElement(from int) int {
	buf := s.buf
	for from < len(buf) {
		k := bytes.IndexByte(buf[from:], '}')
		if k < 0 {
			return -1
		}
		p := s.ws(from + k + 1)
		if p < len(buf) && buf[p] == ',' {
			if p = s.ws(p + 1); p < len(buf) && buf[p] == '{' {
				return p
			}
		}
		from += k + 1
	}
	return -1
}

// skipLine returns the offset after the newline that ends the line holding
// offset i, or len(buf).
func (s *scanner) skipLine(i int) int {
	if i >= len(s.buf) {
		return len(s.buf)
	}
	j := bytes.IndexByte(s.buf[i:], '\n')
	if j < 0 {
		return len(s.buf)
	}
	return i + j + 1
}

func (s *scanner) ws(i int) int {
	for i < len(s.buf) && isSpace(s.buf[i]) {
		i++
	}
	return i
}

func (s *scanner) syntax(i int) error {
	s.errPos = i
	if i >= len(s.buf) {
		return ErrTruncated
	}
	return ErrSyntax
}

// object parses the event object at buf[i] == '{' into s.f and returns the
// offset after it. A semantic problem (missing or bad field) returns the
// end offset, the field name and the reason; a syntax error returns field
// "" and ErrSyntax or ErrTruncated with s.errPos set.
func (s *scanner) object(i int) (int, string, error) {
	buf := s.buf
	s.f = fields{}
	s.arena = s.arena[:0]
	f := &s.f
	i = s.ws(i + 1)
	if i < len(buf) && buf[i] == '}' {
		return s.check(i + 1)
	}
	for {
		if i >= len(buf) {
			return 0, "", s.syntax(i)
		}
		if buf[i] != '"' {
			return 0, "", s.syntax(i)
		}
		ks := i + 1
		ke, esc, err := s.strEsc(i)
		if err != nil {
			return 0, "", err
		}
		key := buf[ks : ke-1]
		if esc == escYes || (esc == escMaybe && hasEscape(key)) {
			key = s.unescape(key)
		}
		i = s.ws(ke)
		if i >= len(buf) || buf[i] != ':' {
			return 0, "", s.syntax(i)
		}
		i = s.ws(i + 1)
		if i >= len(buf) {
			return 0, "", s.syntax(i)
		}
		switch string(key) {
		case "email":
			var v []byte
			var ok bool
			v, ok, i, err = s.scalar(i)
			if err != nil {
				return 0, "", err
			}
			f.email, f.hasEmail = v, ok
		case "event":
			var v []byte
			var ok bool
			v, ok, i, err = s.scalar(i)
			if err != nil {
				return 0, "", err
			}
			f.kind, f.hasKind = v, ok
		case "timestamp":
			i, err = s.timestamp(i)
			if err != nil {
				return 0, "", err
			}
		case "sg_event_id":
			i, err = s.scalarInto(i, &f.eventID)
		case "sg_message_id":
			i, err = s.scalarInto(i, &f.messageID)
		case "type":
			var v []byte
			i, err = s.scalarInto(i, &v)
			f.btype = bounceTypeOf(v)
		case "bounce_classification":
			var v []byte
			i, err = s.scalarInto(i, &v)
			f.class = classOf(v)
		case "asm_group_id":
			var v []byte
			i, err = s.scalarInto(i, &v)
			f.asm = parseGroupID(v)
		case "sg_machine_open":
			var v []byte
			i, err = s.scalarInto(i, &v)
			switch string(v) {
			case "true", "True", "TRUE", "1":
				f.machine = true
			default:
				f.machine = false
			}
		default:
			if s.full {
				i, err = s.fullField(key, i)
			} else {
				i, err = s.skip(i, 0)
			}
		}
		if err != nil {
			return 0, "", err
		}
		i = s.ws(i)
		if i >= len(buf) {
			return 0, "", s.syntax(i)
		}
		switch buf[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return s.check(i + 1)
		default:
			return 0, "", s.syntax(i)
		}
	}
}

// check validates the fields of a complete object ending at end.
func (s *scanner) check(end int) (int, string, error) {
	f := &s.f
	if !f.hasEmail {
		return end, "email", ErrMissingEmail
	}
	f.email = s.normEmail(f.email)
	if len(f.email) == 0 {
		return end, "email", ErrMissingEmail
	}
	if !f.hasTS {
		return end, "timestamp", ErrMissingTimestamp
	}
	if f.badTS {
		return end, "timestamp", ErrBadTimestamp
	}
	if !f.hasKind || len(f.kind) == 0 {
		return end, "event", ErrMissingEvent
	}
	if kindOf(f.kind) == KindUnknown {
		return end, "event", ErrUnknownEvent
	}
	return end, "", nil
}

func (s *scanner) fullField(key []byte, i int) (int, error) {
	f := &s.f
	var err error
	switch string(key) {
	case "url":
		i, err = s.scalarInto(i, &f.url)
	case "useragent":
		i, err = s.scalarInto(i, &f.useragent)
	case "ip":
		i, err = s.scalarInto(i, &f.ip)
	case "category":
		if s.buf[i] == '[' {
			return s.categories(i)
		}
		var v []byte
		i, err = s.scalarInto(i, &v)
		if len(v) > 0 {
			f.categories = append(f.categories, v)
		}
	default:
		i, err = s.skip(i, 0)
	}
	return i, err
}

func (s *scanner) categories(i int) (int, error) {
	buf := s.buf
	i = s.ws(i + 1)
	if i < len(buf) && buf[i] == ']' {
		return i + 1, nil
	}
	for {
		var v []byte
		var ok bool
		var err error
		v, ok, i, err = s.scalar(i)
		if err != nil {
			return 0, err
		}
		if ok {
			s.f.categories = append(s.f.categories, v)
		}
		i = s.ws(i)
		if i >= len(buf) {
			return 0, s.syntax(i)
		}
		switch buf[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			return i + 1, nil
		default:
			return 0, s.syntax(i)
		}
	}
}

func (s *scanner) scalarInto(i int, dst *[]byte) (int, error) {
	v, _, end, err := s.scalar(i)
	*dst = v
	return end, err
}

// scalar reads the value at i. A string yields its unescaped contents, a
// number or literal its text; null yields ok=false; an object or array is
// skipped and yields ok=false too.
func (s *scanner) scalar(i int) (v []byte, ok bool, end int, err error) {
	buf := s.buf
	if i >= len(buf) {
		return nil, false, 0, s.syntax(i)
	}
	switch c := buf[i]; {
	case c == '"':
		end, esc, err := s.strEsc(i)
		if err != nil {
			return nil, false, 0, err
		}
		v = buf[i+1 : end-1]
		if esc == escYes || (esc == escMaybe && hasEscape(v)) {
			v = s.unescape(v)
		}
		return v, true, end, nil
	case c == 'n':
		end, err = s.literal(i, "null")
		return nil, false, end, err
	case c == '{' || c == '[':
		end, err = s.skip(i, 0)
		return nil, false, end, err
	default:
		end, err = s.skip(i, 0)
		if err != nil {
			return nil, false, 0, err
		}
		return buf[i:end], true, end, nil
	}
}

// timestamp reads a Unix timestamp in seconds or milliseconds, as a number
// (integer or fraction, the fraction is dropped) or a string of digits.
func (s *scanner) timestamp(i int) (int, error) {
	f := &s.f
	v, ok, end, err := s.scalar(i)
	if err != nil {
		return 0, err
	}
	f.hasTS = ok
	f.badTS = false
	if !ok {
		return end, nil
	}
	ts, good := jsonval.Timestamp(v)
	f.ts, f.badTS = ts, !good
	return end, nil
}

// parseGroupID parses an asm_group_id: a non-negative integer (as a number
// or a string of digits); anything else gives 0, "no group".
func parseGroupID(v []byte) int64 {
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > math.MaxInt64/10-10 {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// str returns the offset after the string starting at buf[i] == '"'.
// Short strings are scanned byte by byte, long ones with IndexByte.
func (s *scanner) str(i int) (int, error) {
	end, _, err := s.strEsc(i)
	return end, err
}

// Escape knowledge returned by strEsc.
const (
	escNo    = 0 // no backslash in the string
	escYes   = 1 // a backslash somewhere
	escMaybe = 2 // a long string: not checked (see hasEscape)
)

func (s *scanner) strEsc(i int) (int, int, error) {
	buf := s.buf
	j := i + 1
	esc := escNo
	// Short strings: eight bytes at a time (SWAR), which beats the call
	// overhead of IndexByte for the keys and values of an event.
	for n := 0; n < 6 && j+8 <= len(buf); n++ {
		x := binary.LittleEndian.Uint64(buf[j:])
		q := x ^ (lsb * '"')
		b := x ^ (lsb * '\\')
		m := ((q - lsb) &^ q) | ((b - lsb) &^ b)
		m &= msb
		if m == 0 {
			j += 8
			continue
		}
		k := j + bits.TrailingZeros64(m)/8
		if buf[k] == '"' {
			return k + 1, escNo, nil
		}
		esc = escYes
		j = k
		break
	}
	if esc == escNo {
		esc = escMaybe
	}
	for {
		k := bytes.IndexByte(buf[j:], '"')
		if k < 0 {
			return 0, 0, s.syntax(len(buf))
		}
		q := j + k
		// Count the backslashes right before the quote.
		b := q - 1
		for b > i && buf[b] == '\\' {
			b--
		}
		if (q-1-b)%2 == 0 {
			return q + 1, esc, nil
		}
		esc = escYes
		j = q + 1
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasEscape reports whether a string body holds a backslash.
func hasEscape(b []byte) bool {
	if len(b) > 32 {
		return bytes.IndexByte(b, '\\') >= 0
	}
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

func (s *scanner) literal(i int, lit string) (int, error) {
	if len(s.buf)-i < len(lit) {
		if string(s.buf[i:]) == lit[:len(s.buf)-i] {
			return 0, s.syntax(len(s.buf))
		}
		return 0, s.syntax(i)
	}
	if string(s.buf[i:i+len(lit)]) != lit {
		return 0, s.syntax(i)
	}
	return i + len(lit), nil
}

// skip checks and skips the value at buf[i].
func (s *scanner) skip(i, depth int) (int, error) {
	buf := s.buf
	if i >= len(buf) {
		return 0, s.syntax(i)
	}
	switch c := buf[i]; c {
	case '"':
		return s.str(i)
	case '{':
		if depth >= maxDepth {
			return 0, s.syntax(i)
		}
		i = s.ws(i + 1)
		if i < len(buf) && buf[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(buf) || buf[i] != '"' {
				return 0, s.syntax(i)
			}
			end, err := s.str(i)
			if err != nil {
				return 0, err
			}
			i = s.ws(end)
			if i >= len(buf) || buf[i] != ':' {
				return 0, s.syntax(i)
			}
			i, err = s.skip(s.ws(i+1), depth+1)
			if err != nil {
				return 0, err
			}
			i = s.ws(i)
			if i >= len(buf) {
				return 0, s.syntax(i)
			}
			if buf[i] == '}' {
				return i + 1, nil
			}
			if buf[i] != ',' {
				return 0, s.syntax(i)
			}
			i = s.ws(i + 1)
		}
	case '[':
		if depth >= maxDepth {
			return 0, s.syntax(i)
		}
		i = s.ws(i + 1)
		if i < len(buf) && buf[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			i, err = s.skip(i, depth+1)
			if err != nil {
				return 0, err
			}
			i = s.ws(i)
			if i >= len(buf) {
				return 0, s.syntax(i)
			}
			if buf[i] == ']' {
				return i + 1, nil
			}
			if buf[i] != ',' {
				return 0, s.syntax(i)
			}
			i = s.ws(i + 1)
		}
	case 't':
		return s.literal(i, "true")
	case 'f':
		return s.literal(i, "false")
	case 'n':
		return s.literal(i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number(i)
		}
		return 0, s.syntax(i)
	}
}

// number skips a JSON number (leniently: any run of number characters that
// starts with a digit or '-').
func (s *scanner) number(i int) (int, error) {
	buf := s.buf
	j := i
	if buf[j] == '-' {
		j++
	}
	d := j
	for j < len(buf) {
		c := buf[j]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			j++
			continue
		}
		break
	}
	if j == d {
		return 0, s.syntax(j)
	}
	if j >= len(buf) {
		// A number may continue in the next block.
		return 0, s.syntax(j)
	}
	return j, nil
}

// normEmail trims surrounding white space and lower-cases e, copying into
// the arena only when it has to change.
func (s *scanner) normEmail(e []byte) []byte {
	clean := true
	for _, c := range e {
		if (c >= 'A' && c <= 'Z') || c >= utf8.RuneSelf || c <= ' ' {
			clean = false
			break
		}
	}
	if clean {
		return e
	}
	start := len(s.arena)
	s.arena = append(s.arena, bytes.ToLower(bytes.TrimSpace(e))...)
	return s.arena[start:len(s.arena):len(s.arena)]
}

// unescape decodes the JSON escapes of a string body into the arena. An
// invalid escape is kept literally (the decoders are lenient about string
// contents, strict about structure).
func (s *scanner) unescape(b []byte) []byte {
	start := len(s.arena)
	s.arena = jsonval.AppendUnescaped(s.arena, b)
	return s.arena[start:len(s.arena):len(s.arena)]
}
