package rating

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// FuzzParse feeds arbitrary bytes to every input path: the scanner must not
// panic or loop, every skipped event must carry a line inside the input, and
// the counts must add up.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@x.com","timestamp":1767000000,"event":"open","sg_machine_open":true,"sg_event_id":"x"}`,
		`[{"email":"a@x.com","timestamp":1767000000000,"event":"click","category":["a","b"],"url":"h\"t\\tp\u00e9"}]`,
		"[\n{\"email\":\"a@x.com\",\n\"timestamp\":\"1767000000\",\"event\":\"bounce\",\"type\":\"blocked\"}\n]",
		`{"email":"a@x.com","timestamp":1.767e9,"event":"delivered","custom":{"a":[1,2,{"b":null}],"c":false}}`,
		"email,timestamp,event\na@x.com,1767000000,open\n",
		`{"email":"\ud83d\ude00@x.com","timestamp":1,"event":"open"}`,
		`{"email":`, `{"a":[[[[`, `]]]`, `,,,{}`, "\x00\xff{", `{"email":"a","timestamp":-1e400,"event":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, name := range []string{"f.ndjson", "f.csv"} {
			for _, workers := range []int{1, 3} {
				e := New(Options{Workers: workers, BlockSize: 64})
				if err := e.Read(context.Background(), name, bytes.NewReader(data)); err != nil {
					var pe *ParseError
					if !errors.As(err, &pe) {
						t.Fatalf("%s: non-parse error %v", name, err)
					}
				}
				res, err := e.Rate(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				s := res.Summary
				if s.Used < 0 || s.Used+s.Skipped+s.Duplicates+s.AfterAsOf+s.Filtered != s.Read {
					t.Fatalf("%s: counts do not add up: %+v", name, s)
				}
				for _, pe := range s.Errors {
					if pe.Line < 1 || pe.Line > lines {
						t.Fatalf("%s: error line %d outside 1..%d: %v", name, pe.Line, lines, pe)
					}
					if pe.Err == nil || reasonOf(pe.Err) == "error" {
						t.Fatalf("%s: error without a reason: %v", name, pe)
					}
				}
			}
		}
		for _, err := range Decode(bytes.NewReader(data), "f.json") {
			_ = err
		}
	})
}

// FuzzCSV feeds CSV-shaped input (seeded with headers in other orders, quoted
// fields, embedded newlines, BOM and CRLF) to the CSV path: no panic, every
// skipped row has a reason and a line inside the input, the counts add up,
// and the simple decoder agrees with the engine on how many rows were good.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"email,timestamp,event\na@x.com,1767000000,open\n",
		"\ufeffEvent,Email,Timestamp,sg_event_id,sg_machine_open\r\nopen,A@X.com,1767000000000,e1,true\r\nclick,a@x.com,1767000001,e2,\r\n",
		"email,timestamp,event,category,bounce_classification,type\n\"a@x.com\",\"1767000000\",bounce,\"[\"\"a\"\",\"\"b\"\"]\",Technical Failure,blocked\n",
		"email,timestamp,event,url\na@x.com,1767000000,click,\"https://x.com/a,\nb\"\nb@x.com,1767000001,open,\n",
		"email,timestamp,event\na@x.com,1767000000\nb@x.com,x,open\nc@x.com,1767000000,teleport\n\"bad\"quote,1,open\n",
		"timestamp,event\n1767000000,open\n",
		"email,timestamp,event\n",
		"email,email,timestamp,event\n a@x.com ,b@x.com,1.767e9,OPEN",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + 1
		var good int64
		for _, err := range Decode(bytes.NewReader(data), "f.csv") {
			if err == nil {
				good++
				continue
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				return // an I/O error: none from a bytes.Reader, but not this test's concern
			}
			if pe.Line < 1 || pe.Line > lines || reasonOf(pe.Err) == "error" {
				t.Fatalf("decode error %v: line outside 1..%d or no reason", pe, lines)
			}
		}
		e := New(Options{Workers: 2})
		if err := e.Read(context.Background(), "f.csv", bytes.NewReader(data)); err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("non-parse error %v", err)
			}
		}
		res, err := e.Rate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s := res.Summary
		if s.Used < 0 || s.Used+s.Skipped+s.Duplicates+s.AfterAsOf+s.Filtered != s.Read {
			t.Fatalf("counts do not add up: %+v", s)
		}
		if s.Read-s.Skipped != good {
			t.Fatalf("engine kept %d rows, Decode %d", s.Read-s.Skipped, good)
		}
		for _, pe := range s.Errors {
			if pe.Line < 1 || pe.Line > lines || pe.Err == nil || reasonOf(pe.Err) == "error" {
				t.Fatalf("error %v: line outside 1..%d or no reason", pe, lines)
			}
		}
	})
}

// FuzzCSVLimiter: the CSV limiter passes any input under the limit through
// unchanged, and over it keeps every newline (so csv.Reader's line numbers
// stay right).
func FuzzCSVLimiter(f *testing.F) {
	for _, s := range []string{
		"email,timestamp,event\na@x.com,1767000000,open\n",
		"a,\"b\nc\",d\n\"\"\"\",x\ny,\"z",
		"a,b\"c,\"d\ne\n",
	} {
		f.Add([]byte(s), uint8(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		l := &csvLimiter{r: bytes.NewReader(data), max: 1 << 20, line: 1, onSkip: func(int) {}}
		out, err := io.ReadAll(l)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("under the limit: %v, output %q, want %q", err, out, data)
		}
		l = &csvLimiter{r: bytes.NewReader(data), max: 1 + int(limit), line: 1, onSkip: func(int) {}}
		out, _ = io.ReadAll(l)
		if got, want := bytes.Count(out, nl), bytes.Count(data, nl); got != want {
			t.Fatalf("limit %d: %d newlines, want %d: %q → %q", 1+int(limit), got, want, data, out)
		}
	})
}
