package rating

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Columns are the output columns (CSV header, JSON field names), in order.
var Columns = []string{"email", "score", "stars", "segment", "last_engaged", "sends", "human_opens",
	"machine_opens", "clicks", "bounces", "complaints", "unsubscribes", "sunset", "sender_blocks"}

// OutputFormat selects how [WriteRatings] writes.
type OutputFormat string

// Output formats.
const (
	OutputCSV    OutputFormat = "csv"    // header row, then one row per contact
	OutputJSON   OutputFormat = "json"   // one JSON array of objects
	OutputNDJSON OutputFormat = "ndjson" // one JSON object per line
)

// ParseOutputFormat checks an output format name.
func ParseOutputFormat(s string) (OutputFormat, error) {
	switch f := OutputFormat(s); f {
	case OutputCSV, OutputJSON, OutputNDJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q: want csv, json or ndjson", s)
}

// WriteRatings writes ratings in format f. last_engaged is RFC 3339 UTC,
// empty in CSV and null in JSON for contacts that never engaged.
func WriteRatings(w io.Writer, f OutputFormat, ratings []Rating) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	switch f {
	case OutputCSV:
		for i, c := range Columns {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, c...)
		}
		buf = append(buf, '\n')
		for i := range ratings {
			buf = AppendCSV(buf, &ratings[i])
			if len(buf) > 64<<10 {
				if _, err := bw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	case OutputJSON, OutputNDJSON:
		if f == OutputJSON {
			buf = append(buf, '[')
		}
		for i := range ratings {
			if f == OutputJSON {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '\n')
			}
			buf = AppendJSON(buf, &ratings[i])
			if f == OutputNDJSON {
				buf = append(buf, '\n')
			}
			if len(buf) > 64<<10 {
				if _, err := bw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		if f == OutputJSON {
			buf = append(buf, "\n]\n"...)
		}
	default:
		return fmt.Errorf("unknown output format %q: want csv, json or ndjson", f)
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// AppendCSV appends r as one CSV row (with newline) in [Columns] order.
func AppendCSV(buf []byte, r *Rating) []byte {
	buf = appendCSVField(buf, r.Email)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(r.Score), 10)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(r.Stars), 10)
	buf = append(buf, ',')
	buf = append(buf, r.Segment...)
	buf = append(buf, ',')
	if !r.LastEngaged.IsZero() {
		buf = r.LastEngaged.UTC().AppendFormat(buf, time.RFC3339)
	}
	for _, n := range []int{r.Sends, r.HumanOpens, r.MachineOpens, r.Clicks, r.Bounces, r.Complaints, r.Unsubscribes} {
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(n), 10)
	}
	buf = append(buf, ',')
	buf = append(buf, r.Sunset...)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(r.SenderBlocks), 10)
	return append(buf, '\n')
}

func appendCSVField(buf []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' || (i == 0 && c == ' ') {
			quote = true
			break
		}
	}
	if !quote {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			buf = append(buf, '"')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '"')
}

// AppendJSON appends r as one JSON object with the [Columns] field names.
func AppendJSON(buf []byte, r *Rating) []byte {
	buf = append(buf, `{"email":`...)
	buf = appendJSONString(buf, r.Email)
	buf = append(buf, `,"score":`...)
	buf = strconv.AppendInt(buf, int64(r.Score), 10)
	buf = append(buf, `,"stars":`...)
	buf = strconv.AppendInt(buf, int64(r.Stars), 10)
	buf = append(buf, `,"segment":"`...)
	buf = append(buf, r.Segment...)
	buf = append(buf, `","last_engaged":`...)
	if r.LastEngaged.IsZero() {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '"')
		buf = r.LastEngaged.UTC().AppendFormat(buf, time.RFC3339)
		buf = append(buf, '"')
	}
	names := []string{`,"sends":`, `,"human_opens":`, `,"machine_opens":`, `,"clicks":`, `,"bounces":`, `,"complaints":`, `,"unsubscribes":`}
	for i, n := range []int{r.Sends, r.HumanOpens, r.MachineOpens, r.Clicks, r.Bounces, r.Complaints, r.Unsubscribes} {
		buf = append(buf, names[i]...)
		buf = strconv.AppendInt(buf, int64(n), 10)
	}
	buf = append(buf, `,"sunset":"`...)
	buf = append(buf, r.Sunset...)
	buf = append(buf, `","sender_blocks":`...)
	buf = strconv.AppendInt(buf, int64(r.SenderBlocks), 10)
	return append(buf, '}')
}

const hexDigits = "0123456789abcdef"

func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				buf = append(buf, `\ufffd`...)
			} else {
				buf = append(buf, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			buf = append(buf, c)
		}
		i++
	}
	return append(buf, '"')
}

// MarshalJSON encodes r as [WriteRatings] does, with last_engaged.
func (r Rating) MarshalJSON() ([]byte, error) {
	return AppendJSON(nil, &r), nil
}
