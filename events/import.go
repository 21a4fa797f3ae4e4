package events

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sgseq/sgseq/internal/readbuf"
	"github.com/sgseq/sgseq/rating"
)

// ImportResult counts what [Import] did.
type ImportResult struct {
	Events     int64 `json:"events"`     // event objects read
	Stored     int64 `json:"stored"`     // new events stored
	Duplicates int64 `json:"duplicates"` // already stored (or repeated in the input)
}

// importBatch is how many events Import stores per commit.
const importBatch = 8192

// Import loads one input into s: any input "sgseq rate" reads (JSON
// objects one per line, webhook bodies one per line, one JSON array that
// spans lines, or CSV with a header row; open decompresses .gz). open is
// called twice: the whole input is checked first, so a malformed one
// stores nothing and the error gives the name and line. JSON events keep
// their original fields; CSV rows become JSON objects of the columns rating
// reads. Events are deduplicated by sg_event_id as the receiver does.
func Import(ctx context.Context, s *Store, name string, open func() (io.ReadCloser, error)) (ImportResult, error) {
	var res ImportResult
	each := func(fn func(obj, id []byte, line int) error) error {
		rc, err := open()
		if err != nil {
			return err
		}
		defer rc.Close()
		br := bufio.NewReaderSize(rc, 64<<10)
		head, _ := br.Peek(64 << 10)
		if bytes.HasPrefix(head, []byte("\ufeff")) {
			_, _ = br.Discard(3)
			head = head[3:]
		}
		if isCSV(name, head) {
			return splitCSV(br, name, fn)
		}
		return splitStream(ctx, br, name, fn)
	}
	// Pass 1: check.
	if err := each(func(obj, id []byte, line int) error { return ctx.Err() }); err != nil {
		return res, err
	}
	// Pass 2: store.
	var objs, ids [][]byte
	flush := func() error {
		if len(objs) == 0 {
			return nil
		}
		r, err := s.Append(ctx, s.NewBatch(objs, ids))
		if err != nil {
			return err
		}
		res.Events += int64(r.Events)
		res.Stored += int64(r.Stored)
		res.Duplicates += int64(r.Duplicates)
		objs, ids = objs[:0], ids[:0]
		return nil
	}
	err := each(func(obj, id []byte, line int) error {
		objs = append(objs, bytes.Clone(obj))
		ids = append(ids, bytes.Clone(id))
		if len(objs) == importBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return res, err
}

func isCSV(name string, head []byte) bool {
	base := strings.TrimSuffix(strings.ToLower(name), ".gz")
	if strings.HasSuffix(base, ".csv") {
		return true
	}
	t := bytes.TrimLeft(head, " \t\r\n")
	return len(t) > 0 && t[0] != '{' && t[0] != '['
}

// splitStream reads JSON values from r: objects, and arrays of objects
// (each element is an event), in any layout, calling fn per object with
// its line.
func splitStream(ctx context.Context, r io.Reader, name string, fn func(obj, id []byte, line int) error) error {
	const (
		top = iota
		arrStart
		arrElem
		arrAfter
	)
	state := top
	arrLine := 0
	buf := make([]byte, 0, 1<<20)
	pos, line := 0, 1
	eof := false
	fail := func(l int, err error) error { return &SyntaxError{File: name, Line: l, Err: err} }
	refill := func() error {
		if pos > 0 {
			n := copy(buf, buf[pos:])
			buf = buf[:n]
			pos = 0
		}
		var err error
		buf, _, err = readbuf.More(r, buf)
		if errors.Is(err, io.EOF) {
			eof = true
		} else if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		return ctx.Err()
	}
	for {
		for pos < len(buf) {
			c := buf[pos]
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				break
			}
			if c == '\n' {
				line++
			}
			pos++
		}
		if pos >= len(buf) {
			if eof {
				if state != top {
					return fail(arrLine, fmt.Errorf("%w: array not closed", ErrSyntax))
				}
				return nil
			}
			if err := refill(); err != nil {
				return err
			}
			continue
		}
		c := buf[pos]
		switch {
		case state == top && c == '[':
			state, arrLine = arrStart, line
			pos++
			continue
		case state == arrStart && c == ']', state == arrAfter && c == ']':
			state = top
			pos++
			continue
		case state == arrAfter && c == ',':
			state = arrElem
			pos++
			continue
		case state == arrAfter:
			return fail(line, ErrSyntax)
		case c != '{':
			if _, err := skipValue(buf, pos, 0); err == errMore && !eof {
				if err := refill(); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return fail(line, ErrSyntax)
			}
			return fail(line, ErrNotObject)
		}
		end, id, err := scanObject(buf, pos, nil)
		if err == errMore && !eof {
			if err := refill(); err != nil {
				return err
			}
			continue
		}
		if err == errMore {
			return fail(line, fmt.Errorf("%w: object cut short", ErrSyntax))
		}
		if err != nil {
			return fail(line+bytes.Count(buf[pos:min(end, len(buf))], []byte{'\n'}), ErrSyntax)
		}
		if err := fn(buf[pos:end], id, line); err != nil {
			return err
		}
		line += bytes.Count(buf[pos:end], []byte{'\n'})
		pos = end
		if state != top {
			state = arrAfter
		}
	}
}

// csvEvent is the JSON form of a CSV row: the columns rating reads.
type csvEvent struct {
	Email          string   `json:"email"`
	Timestamp      int64    `json:"timestamp"`
	Event          string   `json:"event"`
	EventID        string   `json:"sg_event_id,omitempty"`
	MessageID      string   `json:"sg_message_id,omitempty"`
	Type           string   `json:"type,omitempty"`
	Classification string   `json:"bounce_classification,omitempty"`
	MachineOpen    bool     `json:"sg_machine_open,omitempty"`
	Category       []string `json:"category,omitempty"`
	ASMGroupID     int64    `json:"asm_group_id,omitempty"`
	URL            string   `json:"url,omitempty"`
	UserAgent      string   `json:"useragent,omitempty"`
	IP             string   `json:"ip,omitempty"`
}

// splitCSV reads CSV with rating's decoder; a malformed row is an error.
func splitCSV(r io.Reader, name string, fn func(obj, id []byte, line int) error) error {
	n := 1
	for ev, err := range rating.Decode(r, name+".csv") {
		n++
		if err != nil {
			var pe *rating.ParseError
			if errors.As(err, &pe) {
				pe.File = name
				return pe
			}
			return err
		}
		ce := csvEvent{Email: ev.Email, Timestamp: ev.Timestamp.Unix(), Event: ev.Kind.String(), EventID: ev.EventID,
			MessageID: ev.MessageID, Classification: ev.Classification.String(), Category: ev.Categories,
			ASMGroupID: ev.ASMGroupID, URL: ev.URL, UserAgent: ev.UserAgent, IP: ev.IP}
		if ev.Kind == rating.KindBounce {
			ce.Type = ev.BounceType.String()
		}
		if ev.Kind == rating.KindOpen {
			ce.MachineOpen = ev.MachineOpen
		}
		obj, _ := json.Marshal(ce)
		var id []byte
		if ev.EventID != "" {
			id = []byte(ev.EventID)
		}
		if err := fn(obj, id, n); err != nil {
			return err
		}
	}
	return nil
}

// Gunzip returns a reader of the decompressed f that closes f. A
// zero-byte file is an empty input, as rating reads it.
func Gunzip(f io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReader(f)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return f, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return &gzipCloser{Reader: zr, f: f}, nil
}

type gzipCloser struct {
	*gzip.Reader
	f io.Closer
}

func (g *gzipCloser) Close() error {
	g.Reader.Close()
	return g.f.Close()
}
