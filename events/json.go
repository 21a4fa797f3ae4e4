package events

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Errors of a request body or an input that is not JSON event objects; test
// with errors.Is. They come wrapped in a [*SyntaxError] that gives the
// position.
var (
	// ErrNotArray: a webhook body must be one JSON array.
	ErrNotArray = errors.New("not a JSON array")
	// ErrNotObject: an element (or a top-level value of an input file) is
	// not a JSON object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrSyntax: the JSON is malformed.
	ErrSyntax = errors.New("invalid JSON")
	// ErrTrailing: bytes other than white space follow the array.
	ErrTrailing = errors.New("data after the JSON array")
)

// SyntaxError is a malformed body or input: Offset is the byte offset in
// the body (or Line the 1-based line of an input file) where it went wrong.
type SyntaxError struct {
	File   string // input name; "" for a request body
	Line   int    // 1-based line in File; 0 for a request body
	Offset int64  // byte offset in the body (or in the line's value)
	Err    error  // ErrNotArray, ErrNotObject, ErrSyntax or ErrTrailing
}

// Error returns "file:line: reason", or "offset N: reason" for a body.
func (e *SyntaxError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns the reason (ErrNotArray, ErrNotObject, ErrSyntax, ErrTrailing).
func (e *SyntaxError) Unwrap() error { return e.Err }

// maxDepth bounds the nesting of a value (encoding/json's limit), so a
// hostile body cannot recurse without end.
const maxDepth = 10000

// errMore is returned internally when a value runs past the end of the
// buffer (a stream that needs more input).
var errMore = errors.New("events: need more input")

// splitBatch checks that body is exactly one JSON array of objects (white
// space around it allowed, as SendGrid's trailing \r\n) and calls fn for
// every object with its bytes and the raw value of its top-level
// "sg_event_id" (nil when absent or null). It stops at the first error.
func splitBatch(body []byte, fn func(obj, id []byte, rf *rawFields)) error {
	var rf rawFields
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '[' {
		return &SyntaxError{Offset: int64(i), Err: ErrNotArray}
	}
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == ']' {
		i++
	} else {
		for {
			if i >= len(body) {
				return &SyntaxError{Offset: int64(i), Err: ErrSyntax}
			}
			if body[i] != '{' {
				if _, err := skipValue(body, i, 0); err != nil {
					return &SyntaxError{Offset: int64(i), Err: ErrSyntax}
				}
				return &SyntaxError{Offset: int64(i), Err: ErrNotObject}
			}
			rf = rawFields{}
			end, id, err := scanObject(body, i, &rf)
			if err != nil {
				return &SyntaxError{Offset: int64(end), Err: ErrSyntax}
			}
			fn(body[i:end], id, &rf)
			i = skipWS(body, end)
			if i >= len(body) {
				return &SyntaxError{Offset: int64(i), Err: ErrSyntax}
			}
			if body[i] == ']' {
				i++
				break
			}
			if body[i] != ',' {
				return &SyntaxError{Offset: int64(i), Err: ErrSyntax}
			}
			i = skipWS(body, i+1)
		}
	}
	if j := skipWS(body, i); j < len(body) {
		return &SyntaxError{Offset: int64(j), Err: ErrTrailing}
	}
	return nil
}

// rawFields are the raw values (as in the JSON) of the top-level keys
// rating reads, the last of repeated keys; escKey is set when a key has an
// escape (then infoFromObject reads the object again).
type rawFields struct {
	v      [numRawFields][]byte
	escKey bool
}

const (
	rfEmail = iota
	rfEvent
	rfTimestamp
	rfEventID
	rfMessageID
	rfType
	rfClass
	rfMachine
	numRawFields
)

// rawField maps a key (without quotes) to its rawFields index, or -1.
func rawField(key []byte) int {
	switch string(key) {
	case "email":
		return rfEmail
	case "event":
		return rfEvent
	case "timestamp":
		return rfTimestamp
	case "sg_event_id":
		return rfEventID
	case "sg_message_id":
		return rfMessageID
	case "type":
		return rfType
	case "bounce_classification":
		return rfClass
	case "sg_machine_open":
		return rfMachine
	}
	return -1
}

// scanObject validates the object starting at buf[i] ('{') and returns its
// end and the raw "sg_event_id" value of its top level; rf, if not nil,
// receives the raw values rating reads. On error, end is the offset of the
// problem (errMore when it runs off the buffer).
func scanObject(buf []byte, i int, rf *rawFields) (end int, id []byte, err error) {
	i = skipWS(buf, i+1)
	if i < len(buf) && buf[i] == '}' {
		return i + 1, nil, nil
	}
	for {
		if i >= len(buf) {
			return i, nil, errMore
		}
		if buf[i] != '"' {
			return i, nil, ErrSyntax
		}
		ks := i
		ke, err := skipString(buf, i)
		if err != nil {
			return ke, nil, err
		}
		field := rawField(buf[ks+1 : ke-1])
		if rf != nil && field < 0 && bytes.IndexByte(buf[ks+1:ke-1], '\\') >= 0 {
			rf.escKey = true
		}
		i = skipWS(buf, ke)
		if i >= len(buf) {
			return i, nil, errMore
		}
		if buf[i] != ':' {
			return i, nil, ErrSyntax
		}
		i = skipWS(buf, i+1)
		vs := i
		ve, err := skipValue(buf, i, 1)
		if err != nil {
			return ve, nil, err
		}
		if field == rfEventID {
			id = idValue(buf[vs:ve])
		}
		if rf != nil && field >= 0 {
			rf.v[field] = buf[vs:ve]
		}
		i = skipWS(buf, ve)
		if i >= len(buf) {
			return i, nil, errMore
		}
		switch buf[i] {
		case ',':
			i = skipWS(buf, i+1)
		case '}':
			return i + 1, id, nil
		default:
			return i, nil, ErrSyntax
		}
	}
}

// idValue turns the raw sg_event_id value into the identity bytes: a
// string's contents (unescaped if needed), a number's text; nil for null,
// objects and arrays.
func idValue(v []byte) []byte {
	switch {
	case len(v) == 0 || v[0] == 'n' || v[0] == '{' || v[0] == '[':
		return nil
	case v[0] == '"':
		s := v[1 : len(v)-1]
		for _, c := range s {
			if c == '\\' {
				var out string
				if json.Unmarshal(v, &out) == nil {
					return []byte(out)
				}
				return s
			}
		}
		return s
	}
	return v
}

func skipWS(buf []byte, i int) int {
	for i < len(buf) {
		switch buf[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString skips the string starting at buf[i] ('"') and returns the
// offset after its closing quote. Eight bytes at a time, it looks for a
// quote, a backslash or a control character (SWAR), and only then byte by
// byte.
func skipString(buf []byte, i int) (int, error) {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i++
	for {
		for i+8 <= len(buf) {
			x := binary.LittleEndian.Uint64(buf[i:])
			q := x ^ (ones * '"')
			b := x ^ (ones * '\\')
			special := ((q - ones) &^ q) | ((b - ones) &^ b) | ((x - ones*0x20) &^ x)
			if special&highs != 0 {
				break
			}
			i += 8
		}
		if i >= len(buf) {
			return i, errMore
		}
		c := buf[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(buf) {
				return i, errMore
			}
			switch buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(buf) {
					return i, errMore
				}
				for _, h := range buf[i+2 : i+6] {
					if !isHex(h) {
						return i, ErrSyntax
					}
				}
				i += 6
			default:
				return i, ErrSyntax
			}
		case c < 0x20:
			return i, ErrSyntax
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipSeparator reads what follows a member or an element at buf[i]
// (after white space): a comma, after which it returns the offset of the
// next one, or closing, after which it returns the offset after the object
// or array and end true.
func skipSeparator(buf []byte, i int, closing byte) (next int, end bool, err error) {
	i = skipWS(buf, i)
	if i >= len(buf) {
		return i, false, errMore
	}
	switch buf[i] {
	case ',':
		return skipWS(buf, i+1), false, nil
	case closing:
		return i + 1, true, nil
	}
	return i, false, ErrSyntax
}

// skipValue validates and skips the JSON value at buf[i] and returns the
// offset after it.
func skipValue(buf []byte, i, depth int) (int, error) {
	if i >= len(buf) {
		return i, errMore
	}
	switch c := buf[i]; c {
	case '"':
		return skipString(buf, i)
	case '{':
		if depth >= maxDepth {
			return i, ErrSyntax
		}
		i = skipWS(buf, i+1)
		if i < len(buf) && buf[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(buf) {
				return i, errMore
			}
			if buf[i] != '"' {
				return i, ErrSyntax
			}
			var err error
			if i, err = skipString(buf, i); err != nil {
				return i, err
			}
			i = skipWS(buf, i)
			if i >= len(buf) {
				return i, errMore
			}
			if buf[i] != ':' {
				return i, ErrSyntax
			}
			if i, err = skipValue(buf, skipWS(buf, i+1), depth+1); err != nil {
				return i, err
			}
			var end bool
			if i, end, err = skipSeparator(buf, i, '}'); err != nil || end {
				return i, err
			}
		}
	case '[':
		if depth >= maxDepth {
			return i, ErrSyntax
		}
		i = skipWS(buf, i+1)
		if i < len(buf) && buf[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValue(buf, i, depth+1); err != nil {
				return i, err
			}
			var end bool
			if i, end, err = skipSeparator(buf, i, ']'); err != nil || end {
				return i, err
			}
		}
	case 't':
		return skipLiteral(buf, i, "true")
	case 'f':
		return skipLiteral(buf, i, "false")
	case 'n':
		return skipLiteral(buf, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return skipNumber(buf, i)
		}
		return i, ErrSyntax
	}
}

func skipLiteral(buf []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(buf) {
			return i + k, errMore
		}
		if buf[i+k] != lit[k] {
			return i + k, ErrSyntax
		}
	}
	return i + len(lit), nil
}

// skipNumber skips a number of the strict JSON grammar. A number that
// reaches the end of the buffer is errMore: in a stream it may go on.
func skipNumber(buf []byte, i int) (int, error) {
	digits := func(j int) int {
		for j < len(buf) && buf[j] >= '0' && buf[j] <= '9' {
			j++
		}
		return j
	}
	if buf[i] == '-' {
		i++
	}
	switch {
	case i >= len(buf):
		return i, errMore
	case buf[i] == '0':
		i++
	case buf[i] >= '1' && buf[i] <= '9':
		i = digits(i)
	default:
		return i, ErrSyntax
	}
	if i < len(buf) && buf[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			if j >= len(buf) {
				return j, errMore
			}
			return j, ErrSyntax
		}
		i = j
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			if j >= len(buf) {
				return j, errMore
			}
			return j, ErrSyntax
		}
		i = j
	}
	if i >= len(buf) {
		return i, errMore
	}
	return i, nil
}
