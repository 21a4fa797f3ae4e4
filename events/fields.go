package events

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sgseq/sgseq/rating"
)

// infoFromObject reads from one event object (valid JSON, as splitBatch
// and splitStream check) what rating's scanner reads from it, by the same
// rules (rating/scan.go: the last of repeated keys wins; a string is its
// unescaped contents, a number or literal its text, null, an object or an
// array absent; email trimmed and lower-cased; timestamp in seconds or
// milliseconds; event, type, bounce_classification, sg_machine_open,
// sg_event_id, sg_message_id). It is rating.Decode without a second full
// parse and without allocating an Event; FuzzInfo checks that both agree.
// ok is false for an object nested deeper than rating reads, or with an
// escaped key (then the caller asks rating.Decode).
func infoFromObject(obj []byte) (Info, bool) {
	var rf rawFields
	if _, _, err := scanObject(obj, 0, &rf); err != nil {
		return Info{}, false
	}
	return infoFromRaw(obj, &rf)
}

// infoFromRaw is infoFromObject on the raw values scanObject found in obj.
func infoFromRaw(obj []byte, rf *rawFields) (in Info, ok bool) {
	if rf.escKey || bytes.Count(obj, []byte{'{'})+bytes.Count(obj, []byte{'['}) >= 200 {
		return Info{}, false
	}
	val := func(k int) ([]byte, bool) {
		if rf.v[k] == nil {
			return nil, false
		}
		return scalar(rf.v[k])
	}
	email, hasEmail := val(rfEmail)
	kind, hasKind := val(rfEvent)
	ts, hasTS := val(rfTimestamp)
	eventID, _ := val(rfEventID)
	messageID, _ := val(rfMessageID)
	btype, _ := val(rfType)
	class, _ := val(rfClass)
	machine, _ := val(rfMachine)
	// rating's check: email, a valid timestamp and a known event.
	if !hasEmail {
		return Info{}, true
	}
	email = bytes.ToLower(bytes.TrimSpace(email))
	if len(email) == 0 || !hasTS {
		return Info{}, true
	}
	sec, good := parseTimestamp(ts)
	if !good || !hasKind || len(kind) == 0 {
		return Info{}, true
	}
	k, known := rating.ParseKind(string(kind))
	if !known {
		return Info{}, true
	}
	in = Info{Valid: true, Kind: k, Time: sec, Email: email, Classification: rating.ParseClassification(string(class))}
	if k == rating.KindBounce {
		in.BounceType = bounceTypeOf(btype)
		if in.BounceType == rating.BounceNone {
			in.BounceType = rating.BounceHard
		}
	}
	if k == rating.KindOpen {
		switch string(machine) {
		case "true", "True", "TRUE", "1":
			in.MachineOpen = true
		}
	}
	if len(eventID) == 0 {
		in.MessageID = messageID
	}
	return in, true
}

// scalar is rating's reading of a value: a string's unescaped contents, a
// number's or literal's text; null, objects and arrays are absent.
func scalar(v []byte) ([]byte, bool) {
	switch v[0] {
	case '"':
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			s = unescape(s)
		}
		return s, true
	case 'n', '{', '[':
		return nil, false
	}
	return v, true
}

// bounceTypeOf is rating's reading of a bounce "type".
func bounceTypeOf(b []byte) rating.BounceType {
	switch string(b) {
	case "bounce", "Bounce", "BOUNCE", "hard":
		return rating.BounceHard
	case "blocked", "Blocked", "BLOCKED", "block", "soft":
		return rating.BounceBlocked
	}
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return bounceTypeOf([]byte(strings.ToLower(string(b))))
		}
	}
	return rating.BounceNone
}

// parseTimestamp is rating's: Unix seconds or milliseconds (1e11 or more),
// an integer, a fraction (dropped) or an exponent; zero, negative and
// values past 2106 are rejected.
func parseTimestamp(v []byte) (int64, bool) {
	var n int64
	j := 0
	for j < len(v) && v[j] >= '0' && v[j] <= '9' {
		if n > math.MaxInt64/10-10 {
			return 0, false
		}
		n = n*10 + int64(v[j]-'0')
		j++
	}
	if j == 0 {
		return 0, false
	}
	if j < len(v) {
		switch v[j] {
		case '.':
			k := j + 1
			for k < len(v) && v[k] >= '0' && v[k] <= '9' {
				k++
			}
			if k == j+1 {
				return 0, false
			}
			if k < len(v) {
				return parseFloatTimestamp(v)
			}
		case 'e', 'E':
			return parseFloatTimestamp(v)
		default:
			return 0, false
		}
	}
	return normTimestamp(n)
}

func parseFloatTimestamp(v []byte) (int64, bool) {
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil || x <= 0 || x > 1e18 {
		return 0, false
	}
	return normTimestamp(int64(x))
}

func normTimestamp(n int64) (int64, bool) {
	if n >= 1e11 {
		n /= 1000
	}
	if n <= 0 || n > math.MaxUint32 {
		return 0, false
	}
	return n, true
}

// unescape is rating's lenient unescaping of a string's contents.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := hexRune(b[i+1:])
			if n == 0 {
				out = append(out, '\\', 'u')
				continue
			}
			i += n
			if r >= 0xD800 && r < 0xDC00 && i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
				if r2, n2 := hexRune(b[i+3:]); n2 > 0 && r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					i += 2 + n2
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, '\\', b[i])
		}
	}
	return out
}

func hexRune(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}
