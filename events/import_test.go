package events

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/rating"
)

func TestImportShapes(t *testing.T) {
	t.Parallel()
	a := `{"email":"a@x.com","event":"open","timestamp":1700000000,"sg_event_id":"1"}`
	b := `{"email":"b@x.com","event":"click","timestamp":1700000001,"sg_event_id":"2","url":"https://x/"}`
	tests := []struct {
		name, file, input string
		want              int64
		wantLine          int // of the error; 0: no error
	}{
		{"ndjson", "e.ndjson", a + "\n" + b + "\n", 2, 0},
		{"ndjson without final newline", "e.ndjson", a + "\n" + b, 2, 0},
		{"webhook bodies per line", "e.json", "[" + a + "," + b + "]\r\n[" + a + "]\r\n", 3, 0},
		{"pretty array spanning lines", "e.json", "[\n  " + strings.ReplaceAll(a, ",", ",\n    ") + ",\n  " + b + "\n]\n", 2, 0},
		{"objects back to back", "e.json", a + b + a, 3, 0},
		{"byte order mark", "e.json", "\ufeff" + a + "\n", 1, 0},
		{"empty", "e.json", "", 0, 0},
		{"csv", "e.csv", "email,timestamp,event,sg_event_id\na@x.com,1700000000,open,1\nb@x.com,1700000001,click,2\n", 2, 0},
		{"bad line", "e.ndjson", a + "\n" + b + "\n{\"email\": x}\n", 0, 3},
		{"unclosed array", "e.json", "\n[" + a + ",\n" + b + "\n", 0, 2},
		{"a number", "e.json", a + "\n42\n", 0, 2},
		{"trailing comma", "e.json", "[" + a + ",]\n", 0, 1},
		{"bad csv row", "e.csv", "email,timestamp,event\na@x.com,notatime,open\n", 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(tc.input)), nil }
			res, err := Import(context.Background(), s, tc.file, open)
			if tc.wantLine != 0 {
				var se *SyntaxError
				var pe *rating.ParseError
				switch {
				case errors.As(err, &se):
					if se.Line != tc.wantLine || se.File != tc.file {
						t.Errorf("error at %s:%d, want %s:%d (%v)", se.File, se.Line, tc.file, tc.wantLine, err)
					}
				case errors.As(err, &pe):
					if pe.Line != tc.wantLine || pe.File != tc.file {
						t.Errorf("error at %s:%d, want line %d", pe.File, pe.Line, tc.wantLine)
					}
				default:
					t.Fatalf("err = %v, want one at line %d", err, tc.wantLine)
				}
				if s.Len() != 0 {
					t.Errorf("a bad input stored %d events", s.Len())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != tc.want || s.Len() != min(tc.want, 2) {
				t.Errorf("%+v, store %d; want %d events", res, s.Len(), tc.want)
			}
		})
	}
}

func TestGunzip(t *testing.T) {
	t.Parallel()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	io.WriteString(zw, "hello")
	zw.Close()
	for _, tc := range []struct {
		name, in, want string
		err            bool
	}{{"gzip", z.String(), "hello", false}, {"zero bytes", "", "", false}, {"not gzip", "plain", "", true}} {
		rc, err := Gunzip(io.NopCloser(strings.NewReader(tc.in)))
		if (err != nil) != tc.err {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != tc.want {
				t.Errorf("%s: %q", tc.name, b)
			}
		}
	}
}
