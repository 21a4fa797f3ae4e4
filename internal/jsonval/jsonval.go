// Package jsonval reads event field values the way sgseq's event readers
// do: rating's scanner (rating/scan.go) and the events receiver's field
// reader (events/fields.go) share it so that both read a timestamp or a
// string's escapes identically. Its functions do not allocate (except
// [Timestamp] on an exponent or a fraction followed by more text, which
// goes through strconv).
package jsonval

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// MillisFrom is the smallest timestamp taken as Unix milliseconds rather
// than seconds (rating.MillisFrom).
const MillisFrom = 1e11

// MaxUnixSeconds is the largest timestamp the compact event record holds
// (the year 2106).
const MaxUnixSeconds = math.MaxUint32

// UnixSeconds returns n in seconds: n divided by 1000 (truncated) when it
// is [MillisFrom] or more, n as is otherwise (rating.UnixSeconds).
func UnixSeconds(n int64) int64 {
	if n >= MillisFrom {
		return n / 1000
	}
	return n
}

// Timestamp parses Unix seconds or milliseconds: an integer, a fraction
// (dropped) or an exponent. It rejects zero, negative, fractional garbage
// and values past [MaxUnixSeconds].
func Timestamp(v []byte) (int64, bool) {
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
				return floatTimestamp(v)
			}
		case 'e', 'E':
			return floatTimestamp(v)
		default:
			return 0, false
		}
	}
	return normTimestamp(n)
}

func floatTimestamp(v []byte) (int64, bool) {
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil || x <= 0 || x > 1e18 {
		return 0, false
	}
	return normTimestamp(int64(x))
}

func normTimestamp(n int64) (int64, bool) {
	n = UnixSeconds(n)
	if n <= 0 || n > MaxUnixSeconds {
		return 0, false
	}
	return n, true
}

// AppendUnescaped appends to dst the JSON string body b with its escapes
// decoded and returns the extended slice. An invalid escape is kept
// literally (the readers are lenient about string contents, strict about
// structure); a lone surrogate is written as U+FFFD.
func AppendUnescaped(dst, b []byte) []byte {
	out := dst
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
