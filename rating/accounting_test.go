package rating

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/rating/gen"
)

// TestMessyInputAccounting: one input with every awkward shape at once (a
// byte order mark, CRLF line ends, a webhook batch per line, a JSON escape
// in an email, a blank line, a line far longer than the read block, thirty
// retries of one event out of order, an event after --as-of, bad lines in
// and between batches, no final newline). Every event is accounted for:
// read = used + duplicates + after as-of + skipped (+ filtered for explain),
// with each count checked against the input, at any block size and worker
// count.
func TestMessyInputAccounting(t *testing.T) {
	t.Parallel()
	t0 := int64(1767000000)
	ev := func(email string, ts int64, kind, id, extra string) string {
		return fmt.Sprintf(`{"email":"%s","timestamp":%d,"event":"%s","sg_event_id":"%s"%s}`, email, ts, kind, id, extra)
	}
	var lines []string
	lines = append(lines,
		"\ufeff["+ev("a@x.com", t0, "delivered", "d1", "")+","+ev("a@x.com", t0+60, "open", "o1", "")+"]", // 1
		ev(`A\u0040X.com`, t0+120, "click", "c1", `,"url":"https://x.com/"`),                              // 2
		"",                                     // 3
		`{"email":"a@x.com","timestamp":17670`, // 4: truncated
		ev(" B@x.com", t0, "delivered", "d2", `,"pad":"`+strings.Repeat("x", 10_000)+`"`), // 5: longer than a block
	)
	for i := range 30 { // 6..35: webhook retries of o1, out of order
		lines = append(lines, ev("a@x.com", t0+60, "open", "o1", fmt.Sprintf(`,"retry":%d`, 30-i)))
	}
	lines = append(lines,
		ev("b@x.com", t0+10*86400, "open", "late", ""),                                     // 36: after --as-of
		"["+ev("b@x.com", t0+100, "open", "o2", "")+`,{"email":"b@x.com","event":"open"}]`, // 37: one good, one without timestamp
		`hello`, // 38
		ev("c@x.com", t0+200, "open", "m1", `,"sg_machine_open":true`), // 39, no final newline
	)
	in := []byte(strings.Join(lines, "\r\n"))
	asOf := time.Unix(t0+86400, 0)

	for _, tc := range []struct {
		workers, block int
	}{{1, 0}, {2, 256}, {3, 1024}, {2, 64 << 10}} {
		t.Run(fmt.Sprintf("workers %d block %d", tc.workers, tc.block), func(t *testing.T) {
			res := mustRate(t, "messy.json", in, Options{AsOf: asOf, Workers: tc.workers, BlockSize: tc.block})
			s := res.Summary
			if s.Read != 40 || s.Used != 6 || s.Duplicates != 30 || s.AfterAsOf != 1 || s.Skipped != 3 || s.Filtered != 0 {
				t.Errorf("read %d used %d duplicates %d after %d skipped %d filtered %d; want 40 6 30 1 3 0",
					s.Read, s.Used, s.Duplicates, s.AfterAsOf, s.Skipped, s.Filtered)
			}
			var where []string
			for _, pe := range s.Errors {
				where = append(where, fmt.Sprintf("%d:%s", pe.Line, reasonOf(pe.Err)))
			}
			if got := strings.Join(where, " "); got != "4:truncated 37:missing timestamp 38:bad json" {
				t.Errorf("errors at %s", got)
			}
			if len(res.Ratings) != 3 {
				t.Fatalf("ratings %+v", res.Ratings)
			}
			a, b, c := res.Ratings[0], res.Ratings[1], res.Ratings[2]
			if a.Email != "a@x.com" || a.Score != 1 || a.Sends != 1 || a.HumanOpens != 1 || a.Clicks != 1 {
				t.Errorf("a: %+v", a)
			}
			if b.Email != "b@x.com" || b.Score != 1 || b.Sends != 1 || b.HumanOpens != 1 {
				t.Errorf("b: %+v", b)
			}
			if c.Email != "c@x.com" || c.Score != 0 || c.MachineOpens != 1 || c.HumanOpens != 0 || !c.LastEngaged.IsZero() {
				t.Errorf("c: %+v", c)
			}
		})
	}

	t.Run("one contact (explain)", func(t *testing.T) {
		e := New(Options{AsOf: asOf, Contact: " B@X.com", BlockSize: 512})
		if err := e.Read(context.Background(), "messy.json", bytes.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		r, steps, err := e.Explain("b@x.com")
		if err != nil || r.Score != 1 || len(steps) != 3 || !steps[2].Ignored {
			t.Errorf("explain: %v rating %+v steps %+v", err, r, steps)
		}
		res, err := e.Rate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		// a's 3 events and 30 retries, c's machine open: read but not this contact's.
		if s.Read != 40 || s.Used != 2 || s.Duplicates != 0 || s.AfterAsOf != 1 || s.Skipped != 3 || s.Filtered != 34 {
			t.Errorf("read %d used %d duplicates %d after %d skipped %d filtered %d; want 40 2 0 1 3 34",
				s.Read, s.Used, s.Duplicates, s.AfterAsOf, s.Skipped, s.Filtered)
		}
	})

	t.Run("strict", func(t *testing.T) {
		_, err := rateBytes(t, "messy.json", in, Options{Strict: true, BlockSize: 256, Workers: 2})
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 4 || pe.File != "messy.json" || !errors.Is(err, ErrTruncated) {
			t.Errorf("strict: %v", err)
		}
	})
}

// TestErrorLines: an event with a bad field is reported on the line where
// its object starts, by Decode, by the parallel line reader and by the
// sequential reader of JSON that spans lines (Decode used to name the
// line before: the end of the previous object).
func TestErrorLines(t *testing.T) {
	t.Parallel()
	good := `{"email":"a@x.com","timestamp":1767000000,"event":"open"}`
	bad := `{"email":"b@x.com","event":"open"}`
	for _, tc := range []struct {
		name string
		in   string
		line int
	}{
		{"ndjson", good + "\n" + good + "\n" + bad + "\n", 3},
		{"batch per line", "[" + good + "]\n[" + good + "," + good + "]\n[" + bad + "]\n", 3},
		{"bad first in its batch", "[" + good + "]\n[" + bad + "," + good + "]\n", 2},
		{"array spanning lines", "[\n" + good + ",\n" + good + ",\n\n" + bad + "\n]\n", 5},
		{"pretty object", "[\n" + good + ",\n{\n  \"email\": \"b@x.com\",\n  \"event\": \"open\"\n}\n]", 3},
		{"crlf", good + "\r\n" + bad + "\r\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []int
			for _, err := range Decode(strings.NewReader(tc.in), "f.json") {
				var pe *ParseError
				if errors.As(err, &pe) {
					lines = append(lines, pe.Line)
				}
			}
			res := mustRate(t, "f.json", []byte(tc.in), Options{Workers: 2})
			for _, pe := range res.Summary.Errors {
				lines = append(lines, pe.Line)
			}
			if len(lines) != 2 || lines[0] != tc.line || lines[1] != tc.line {
				t.Errorf("error lines (Decode, Engine) %v, want %d", lines, tc.line)
			}
		})
	}
}

// TestAsOfReplay: rating with --as-of T gives exactly what rating only the
// events up to T gives, so history can be replayed: the same contacts
// (one whose every event is after T did not exist yet and is not listed)
// and the same ratings.
func TestAsOfReplay(t *testing.T) {
	t.Parallel()
	nd := genData(t, 300, gen.NDJSON)
	newest := mustRate(t, "all", nd, Options{}).Summary.AsOf
	lines := bytes.SplitAfter(nd, []byte("\n"))
	var times []time.Time
	for ev, err := range Decode(bytes.NewReader(nd), "all") {
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, ev.Timestamp)
	}
	if len(times) != len(lines)-1 { // the last split is empty
		t.Fatalf("%d events, %d lines", len(times), len(lines))
	}
	for _, back := range []time.Duration{0, 30 * day, 120 * day} {
		asOf := newest.Add(-back)
		t.Run(fmt.Sprint("newest - ", back), func(t *testing.T) {
			var cut []byte
			later := 0
			for i, ts := range times {
				if ts.After(asOf) {
					later++
					continue
				}
				cut = append(cut, lines[i]...)
			}
			got := mustRate(t, "all", nd, Options{AsOf: asOf, Workers: 2})
			want := mustRate(t, "cut", cut, Options{AsOf: asOf, Workers: 2})
			sameRatings(t, "as-of", got.Ratings, want.Ratings)
			// Copies of a later event count as duplicates, the first as after as-of.
			gs, ws := got.Summary, want.Summary
			if gs.Read != ws.Read+int64(later) || gs.AfterAsOf+gs.Duplicates != int64(later)+ws.Duplicates ||
				got.Summary.Contacts != want.Summary.Contacts ||
				got.Summary.Used != want.Summary.Used || got.Summary.Stars != want.Summary.Stars {
				t.Errorf("summary %+v\nwant %+v (after as-of %d)", got.Summary, want.Summary, later)
			}
			if back > 0 && (later == 0 || len(got.Ratings) == 0) {
				t.Errorf("test data: %d events after as-of, %d contacts", later, len(got.Ratings))
			}
		})
	}
}
