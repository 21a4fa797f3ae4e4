package rating

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repeatReader yields n copies of b, lazily.
type repeatReader struct {
	b   byte
	n   int64
	off int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), r.n-r.off))
	for i := range p[:k] {
		p[i] = r.b
	}
	r.off += int64(k)
	return k, nil
}

func evLine(email string, ts int64, kind, id string) string {
	return fmt.Sprintf(`{"email":%q,"timestamp":%d,"event":%q,"sg_event_id":%q}`, email, ts, kind, id)
}

// TestRecordSizeCap: a record over Options.MaxRecordSize is skipped with
// its line and reason, in every input shape, without being held in memory:
// a 128 MiB record allocates far less than its size. The events around it
// are kept.
func TestRecordSizeCap(t *testing.T) {
	// Not parallel: it measures the bytes allocated.
	const huge = 128 << 20
	const limit = 1 << 20
	good := evLine("a@x.com", 1767000000, "delivered", "d1") + "\n" + evLine("a@x.com", 1767000100, "open", "o1") + "\n"
	after := evLine("b@x.com", 1767000200, "delivered", "d2") + "\n"
	for _, tc := range []struct {
		name     string
		input    func() io.Reader
		line     int
		ratings  int
		skipped  int64
		wantRead int64
	}{
		{"zeros (sniffed as CSV)", func() io.Reader { return &repeatReader{b: 0, n: huge} }, 1, 0, 1, 1},
		{"one huge NDJSON line between events", func() io.Reader {
			return io.MultiReader(strings.NewReader(good+`{"email":"c@x.com","pad":"`), &repeatReader{b: 'x', n: huge},
				strings.NewReader(`"}`+"\n"+after))
		}, 3, 2, 1, 4},
		{"a huge NDJSON line at the end, no newline", func() io.Reader {
			return io.MultiReader(strings.NewReader(good+`{"pad":"`), &repeatReader{b: 'x', n: huge})
		}, 3, 1, 1, 3},
		{"a huge object in a pretty-printed array", func() io.Reader {
			return io.MultiReader(strings.NewReader("[\n  {\n    \"email\": \"a@x.com\",\n    \"timestamp\": 1767000000,\n    \"event\": \"delivered\"\n  },\n  {\n    \"pad\": \""),
				&repeatReader{b: 'x', n: huge}, strings.NewReader("\",\n    \"nested\": {\"a\": [1, \"}\"]}\n  },\n  {\n    \"email\": \"b@x.com\",\n    \"timestamp\": 1767000100,\n    \"event\": \"delivered\"\n  }\n]\n"))
		}, 7, 2, 1, 3},
		{"a huge CSV record with a quoted newline", func() io.Reader {
			return io.MultiReader(strings.NewReader("email,timestamp,event\na@x.com,1767000000,delivered\nc@x.com,1767000000,\"x\n"),
				&repeatReader{b: 'y', n: huge}, strings.NewReader("\"\nb@x.com,1767000100,delivered\n"))
		}, 3, 2, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			e := New(Options{MaxRecordSize: limit, Workers: 2})
			if err := e.Read(context.Background(), "in", tc.input()); err != nil {
				t.Fatal(err)
			}
			res, err := e.Rate(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			s := res.Summary
			if s.SkippedBy[ErrRecordTooLarge.Error()] != tc.skipped || s.Read != tc.wantRead || len(res.Ratings) != tc.ratings {
				t.Errorf("read %d, skipped %v, %d ratings; want read %d, %d too large, %d ratings", s.Read, s.SkippedBy, len(res.Ratings), tc.wantRead, tc.skipped, tc.ratings)
			}
			if len(s.Errors) == 0 || !errors.Is(s.Errors[0], ErrRecordTooLarge) || s.Errors[0].Line != tc.line || s.Errors[0].File != "in" {
				t.Errorf("errors %v, want in:%d: record too large", s.Errors, tc.line)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > huge/2 {
				t.Errorf("allocated %d MiB for a %d MiB record", alloc>>20, huge>>20)
			}
		})
	}
}

// TestRecordSizeCapStrict: under Strict the first record over the limit
// stops the run.
func TestRecordSizeCapStrict(t *testing.T) {
	t.Parallel()
	in := evLine("a@x.com", 1767000000, "delivered", "d1") + "\n" + `{"pad":"` + strings.Repeat("x", 5000) + `"}` + "\n"
	e := New(Options{MaxRecordSize: 1000, Strict: true})
	err := e.Read(context.Background(), "in.ndjson", strings.NewReader(in))
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrRecordTooLarge) || pe.Line != 2 {
		t.Fatalf("err %v, want in.ndjson:2: record too large", err)
	}
}

// TestBrokenGzip: a truncated or corrupt .gz keeps the events before the
// fault and says where reading stopped; under Strict it is an error.
func TestBrokenGzip(t *testing.T) {
	t.Parallel()
	var plain bytes.Buffer
	const n = 20000
	for i := range n {
		fmt.Fprintln(&plain, evLine(fmt.Sprintf("c%d@x.com", i%500), 1767000000+int64(i), "delivered", fmt.Sprint("d", i)))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	whole := gz.Bytes()
	corrupt := bytes.Clone(whole)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x5a
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated", whole[:len(whole)*2/3]},
		{"cut in the trailer", whole[:len(whole)-4]},
		{"corrupt", corrupt},
		{"trailing garbage", append(bytes.Clone(whole), "garbage"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".ndjson.gz")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 3} {
				e := New(Options{Workers: workers, BlockSize: 64 << 10, MaxErrors: n})
				if err := e.ReadFile(context.Background(), path); err != nil {
					t.Fatalf("ReadFile: %v", err)
				}
				res, err := e.Rate(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				s := res.Summary
				var broken *ParseError
				for _, pe := range s.Errors {
					if errors.Is(pe, ErrInputBroken) {
						broken = pe
					}
				}
				if broken == nil || s.SkippedBy[ErrInputBroken.Error()] != 1 {
					t.Fatalf("no %q error: %v %v", ErrInputBroken, s.SkippedBy, s.Errors)
				}
				// Every whole line before the fault was used; the fault is
				// on the line after them.
				// (Corrupt data inflates to garbage lines before the checksum
				// fails: those are skipped as bad lines.)
				if s.Used == 0 || broken.Line < int(s.Used) || (tc.name != "corrupt" && broken.Line > int(s.Used)+2) || s.Read != s.Used+s.Skipped {
					t.Errorf("used %d, read %d, skipped %v, broken at line %d", s.Used, s.Read, s.SkippedBy, broken.Line)
				}
				if tc.name != "corrupt" && tc.name != "truncated" && s.Used != n {
					t.Errorf("used %d of %d events", s.Used, n)
				}
			}
			e := New(Options{Strict: true})
			err := e.ReadFile(context.Background(), path)
			var pe *ParseError
			switch {
			case tc.name == "corrupt" && !errors.As(err, &pe):
				t.Errorf("strict: %v, want a *ParseError (garbage lines, or the break)", err)
			case tc.name != "corrupt" && !errors.Is(err, ErrInputBroken):
				t.Errorf("strict: %v, want ErrInputBroken", err)
			}
		})
	}
}

// TestBrokenInputDecode: Decode and the CSV and spanning-JSON readers end
// a broken input with an ErrInputBroken error after the events before it.
func TestBrokenInputDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
	}{
		{"events.csv", "email,timestamp,event\na@x.com,1767000000,delivered\nb@x.com,1767000001,delivered\nc@x.com,17670"},
		{"events.json", "[\n {\n  \"email\": \"a@x.com\",\n  \"timestamp\": 1767000000,\n  \"event\": \"delivered\"\n },\n {\n  \"email\": \"b@x.com\",\n  \"timestamp\": 1767000001,\n  \"event\": \"delivered\"\n },\n {\n  \"email\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write([]byte(tc.text))
			zw.Close()
			cut := gz.Bytes()[:gz.Len()-8] // no trailer: unexpected EOF at the end
			zr, err := gzip.NewReader(bytes.NewReader(cut))
			if err != nil {
				t.Fatal(err)
			}
			var events int
			var last error
			for _, err := range Decode(zr, tc.name) {
				if err == nil {
					events++
				} else {
					last = err
				}
			}
			if events != 2 || !errors.Is(last, ErrInputBroken) {
				t.Errorf("%d events, last error %v; want 2 and %q", events, last, ErrInputBroken)
			}
		})
	}
}

// TestCSVLimiterPassesRecords: under the limit the limiter passes CSV
// through unchanged whatever its quoting, read in any chunk size; over it a
// record becomes as many newlines as it spans.
func TestCSVLimiterPassesRecords(t *testing.T) {
	t.Parallel()
	in := "email,timestamp,event,category\n" +
		"a@x.com,1,open,\"a, \"\"quoted\"\" and\nmulti-line\"\n" +
		"b@x.com,2,open,\"\"\"\"\n" +
		"c@x.com,3,open,bare\"quote\n" +
		"d@x.com,4,open,\"\"\r\n" +
		"e@x.com,5,open,last"
	for _, chunk := range []int{1, 2, 7, 1 << 20} {
		var skipped []int
		l := &csvLimiter{r: &chunkReader{s: in, n: chunk}, max: 1 << 20, line: 1, onSkip: func(line int) { skipped = append(skipped, line) }}
		out, err := io.ReadAll(l)
		if err != nil || string(out) != in || len(skipped) != 0 {
			t.Errorf("chunk %d: %v, skipped %v, output\n%q\nwant\n%q", chunk, err, skipped, out, in)
		}
		var lines []int
		l = &csvLimiter{r: &chunkReader{s: in, n: chunk}, max: 32, line: 1, onSkip: func(line int) { lines = append(lines, line) }}
		out, _ = io.ReadAll(l)
		if want := "email,timestamp,event,category\n\n\nb@x.com,2,open,\"\"\"\"\nc@x.com,3,open,bare\"quote\nd@x.com,4,open,\"\"\r\ne@x.com,5,open,last"; string(out) != want || fmt.Sprint(lines) != "[2]" {
			t.Errorf("chunk %d, limit 32: skipped %v, output\n%q\nwant\n%q", chunk, lines, out, want)
		}
	}
}

// chunkReader reads s n bytes at a time.
type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}

// TestBrokenInsideLongLine: an input that breaks off inside a line over
// the limit reports both, and keeps the events before.
func TestBrokenInsideLongLine(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(evLine("a@x.com", 1767000000, "delivered", "d1") + "\n" + `{"pad":"` + strings.Repeat("x", 3<<20) + `"}` + "\n"))
	zw.Close()
	zr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()[:gz.Len()-20]))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{MaxRecordSize: 1 << 20, BlockSize: 64 << 10})
	if err := e.Read(context.Background(), "cut.gz", zr); err != nil {
		t.Fatal(err)
	}
	res, err := e.Rate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Used != 1 || s.SkippedBy[ErrRecordTooLarge.Error()] != 1 || s.SkippedBy[ErrInputBroken.Error()] != 1 {
		t.Errorf("used %d, skipped %v; want 1 used, one too large, one broken", s.Used, s.SkippedBy)
	}
	if len(s.Errors) != 2 || s.Errors[0].Line != 2 || s.Errors[1].Line != 2 {
		t.Errorf("errors %v, want cut.gz:2 twice", s.Errors)
	}
}

// TestEndsRecord: whether a CSV line leaves a quoted field open, as
// encoding/csv reads quotes.
func TestEndsRecord(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]bool{
		`a,b,c`:              true,
		`a,"b,c",d`:          true,
		`a,"b`:               false,
		`"a""b",c`:           true,
		`"a""`:               false,
		`"a"""`:              true,
		`a,b"c,d`:            true, // a bare quote opens nothing
		`a,b"c,"d`:           false,
		`"",""`:              true,
		`x,"multi`:           false,
		`"a",b,"c""d""e",""`: true,
	} {
		if got := endsRecord([]byte(line)); got != want {
			t.Errorf("endsRecord(%s) = %v, want %v", line, got, want)
		}
	}
}
