package rating

import (
	"bytes"
	"context"
	"errors"
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
