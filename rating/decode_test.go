package rating

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/rating/gen"
)

func genData(t testing.TB, contacts int, f gen.Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), &buf, gen.Config{Seed: 42, Contacts: contacts, Format: f}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rateBytes rates one input and returns the result.
func rateBytes(t testing.TB, name string, data []byte, opts Options) (*Result, error) {
	t.Helper()
	e := New(opts)
	if err := e.Read(context.Background(), name, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return e.Rate(context.Background())
}

func mustRate(t testing.TB, name string, data []byte, opts Options) *Result {
	t.Helper()
	res, err := rateBytes(t, name, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func sameRatings(t *testing.T, what string, got, want []Rating) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d ratings, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: rating %d\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

// toArray rewrites NDJSON as one JSON array, one event per line.
func toArray(ndjson []byte, pretty bool) []byte {
	var out bytes.Buffer
	out.WriteString("[\n")
	lines := bytes.Split(bytes.TrimSpace(ndjson), []byte("\n"))
	for i, l := range lines {
		if pretty {
			l = bytes.ReplaceAll(l, []byte(`,"`), []byte(",\n    \""))
			l = bytes.Replace(l, []byte(`{`), []byte("{\n    "), 1)
		}
		out.Write(l)
		if i < len(lines)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("]\n")
	return out.Bytes()
}

func TestInputShapes(t *testing.T) {
	t.Parallel()
	nd := genData(t, 150, gen.NDJSON)
	want := mustRate(t, "events.ndjson", nd, Options{}).Ratings
	if len(want) < 100 {
		t.Fatalf("only %d contacts", len(want))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(nd)
	zw.Close()
	dir := t.TempDir()
	gzPath := filepath.Join(dir, "events.ndjson.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "events.csv")
	if err := os.WriteFile(csvPath, genData(t, 150, gen.CSV), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func() (*Result, error)
	}{
		{"webhook array per line", func() (*Result, error) {
			return rateBytes(t, "events.json", genData(t, 150, gen.Webhook), Options{})
		}},
		{"one big array, one event per line", func() (*Result, error) {
			return rateBytes(t, "events.json", toArray(nd, false), Options{})
		}},
		{"pretty-printed array", func() (*Result, error) {
			return rateBytes(t, "events.json", toArray(nd, true), Options{})
		}},
		{"csv", func() (*Result, error) {
			e := New(Options{})
			if err := e.ReadFile(context.Background(), csvPath); err != nil {
				return nil, err
			}
			return e.Rate(context.Background())
		}},
		{"gzip", func() (*Result, error) {
			e := New(Options{})
			if err := e.ReadFile(context.Background(), gzPath); err != nil {
				return nil, err
			}
			return e.Rate(context.Background())
		}},
		{"stdin", func() (*Result, error) {
			e := New(Options{})
			e.stdin = bytes.NewReader(nd)
			if err := e.ReadFile(context.Background(), "-"); err != nil {
				return nil, err
			}
			return e.Rate(context.Background())
		}},
		{"several files", func() (*Result, error) {
			half := bytes.LastIndexByte(nd[:len(nd)/2], '\n') + 1
			e := New(Options{})
			for i, part := range [][]byte{nd[:half], nd[half:]} {
				if err := e.Read(context.Background(), []string{"a", "b"}[i], bytes.NewReader(part)); err != nil {
					return nil, err
				}
			}
			return e.Rate(context.Background())
		}},
		{"byte order mark", func() (*Result, error) {
			return rateBytes(t, "x", append([]byte("\ufeff"), nd...), Options{})
		}},
		{"crlf line ends", func() (*Result, error) {
			return rateBytes(t, "x", bytes.ReplaceAll(nd, []byte("\n"), []byte("\r\n")), Options{})
		}},
		{"tiny blocks, one worker", func() (*Result, error) {
			return rateBytes(t, "x", nd, Options{BlockSize: 1000, Workers: 1})
		}},
		{"tiny blocks, many workers", func() (*Result, error) {
			return rateBytes(t, "x", nd, Options{BlockSize: 4096, Workers: 5})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := tc.run()
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Skipped != 0 {
				t.Errorf("skipped %d: %v", res.Summary.Skipped, res.Summary.Errors)
			}
			sameRatings(t, tc.name, res.Ratings, want)
		})
	}
}

// TestOrderIndependence: shuffled input gives the same ratings.
func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	nd := genData(t, 200, gen.NDJSON)
	want := mustRate(t, "x", nd, Options{})
	lines := bytes.SplitAfter(nd, []byte("\n"))
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 9))
		r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
		got := mustRate(t, "x", bytes.Join(lines, nil), Options{Workers: 1 + int(seed)})
		sameRatings(t, "shuffled", got.Ratings, want.Ratings)
		if got.Summary.Duplicates != want.Summary.Duplicates || got.Summary.Used != want.Summary.Used {
			t.Errorf("summary %+v, want %+v", got.Summary, want.Summary)
		}
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
	in := strings.Join([]string{
		`{"email":"  Bob@Example.COM ","timestamp":` + itoa(ts) + `,"event":"delivered","sg_event_id":"e1"}`,
		`{"email":"bob@example.com","timestamp":` + itoa(ts*1000+3600_000) + `,"event":"OPEN","sg_machine_open":false,"sg_event_id":"e2","category":["a","b"]}`,
		`{"email":"bob@example.com","timestamp":"` + itoa(ts+7200) + `","event":"click","sg_event_id":"e3","category":"x","url":"https://e.x/?a=\"b\""}`,
		`{"email":"bob@example.com","timestamp":` + itoa(ts+7300) + `.25,"event":"bounce","type":"BLOCKED","bounce_classification":"  reputation ","sg_event_id":"e4"}`,
		`{"email":"b\u006fb@example.com","timestamp":` + itoa(ts+7400) + `,"event":"open","sg_machine_open":true,"sg_event_id":"e5","custom":{"nested":[1,{"email":"x"}],"event":"no"}}`,
	}, "\n")
	res := mustRate(t, "fields.ndjson", []byte(in), Options{})
	if len(res.Ratings) != 1 || res.Summary.Skipped != 0 {
		t.Fatalf("ratings %+v summary %+v", res.Ratings, res.Summary)
	}
	r := res.Ratings[0]
	if r.Email != "bob@example.com" || r.Sends != 1 || r.HumanOpens != 1 || r.MachineOpens != 1 || r.Clicks != 1 || r.Bounces != 0 || r.SenderBlocks != 1 {
		t.Errorf("rating %+v", r)
	}
	if r.Score != 1 {
		t.Errorf("score %d, want 1 (a first engaged mail; a sender-side block costs nothing)", r.Score)
	}
	if !r.LastEngaged.Equal(time.Unix(ts+7200, 0)) {
		t.Errorf("last engaged %v", r.LastEngaged)
	}
	// Decode yields the full fields.
	var got []Event
	for ev, err := range Decode(strings.NewReader(in), "fields.ndjson") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 5 {
		t.Fatalf("decoded %d events", len(got))
	}
	if !slices.Equal(got[1].Categories, []string{"a", "b"}) || !got[1].Timestamp.Equal(time.Unix(ts+3600, 0)) || got[1].Kind != KindOpen {
		t.Errorf("event 1: %+v", got[1])
	}
	if got[2].URL != `https://e.x/?a="b"` || !slices.Equal(got[2].Categories, []string{"x"}) {
		t.Errorf("event 2: %+v", got[2])
	}
	if got[3].BounceType != BounceBlocked || got[3].Classification != ClassReputation {
		t.Errorf("event 3: %+v", got[3])
	}
	if got[4].Email != "bob@example.com" || !got[4].MachineOpen {
		t.Errorf("event 4: %+v", got[4])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMalformed(t *testing.T) {
	t.Parallel()
	good := `{"email":"a@x.com","timestamp":1767000000,"event":"delivered","sg_event_id":"g%d"}`
	for _, tc := range []struct {
		name, line string
		reason     error
		field      string
	}{
		{"bad json", `{"email":"a@x.com","timestamp":1767000000,"event" "open"}`, ErrSyntax, ""},
		{"garbage", `hello world`, ErrSyntax, ""},
		{"not an object", `"just a string"`, ErrNotObject, ""},
		{"missing email", `{"timestamp":1767000000,"event":"open"}`, ErrMissingEmail, "email"},
		{"empty email", `{"email":"  ","timestamp":1767000000,"event":"open"}`, ErrMissingEmail, "email"},
		{"missing timestamp", `{"email":"a@x.com","event":"open"}`, ErrMissingTimestamp, "timestamp"},
		{"bad timestamp", `{"email":"a@x.com","timestamp":"yesterday","event":"open"}`, ErrBadTimestamp, "timestamp"},
		{"negative timestamp", `{"email":"a@x.com","timestamp":-5,"event":"open"}`, ErrBadTimestamp, "timestamp"},
		{"missing event", `{"email":"a@x.com","timestamp":1767000000}`, ErrMissingEvent, "event"},
		{"unknown event type", `{"email":"a@x.com","timestamp":1767000000,"event":"teleported"}`, ErrUnknownEvent, "event"},
		{"truncated line", `{"email":"a@x.com","timestamp":1767000000,"event":"op`, ErrTruncated, ""},
		{"truncated after value", `{"email":"a@x.com","timestamp":1767000000,`, ErrTruncated, ""},
		{"deep nesting", `{"email":"a@x.com","x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, ErrSyntax, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := strings.Join([]string{sprintf(good, 1), tc.line, sprintf(good, 2)}, "\n") + "\n"
			res := mustRate(t, "bad.ndjson", []byte(in), Options{})
			s := res.Summary
			if s.Read != 3 || s.Skipped != 1 || s.Used != 2 || s.SkippedBy[tc.reason.Error()] != 1 {
				t.Errorf("summary read %d used %d skipped %d %v", s.Read, s.Used, s.Skipped, s.SkippedBy)
			}
			if len(s.Errors) != 1 {
				t.Fatalf("errors %v", s.Errors)
			}
			pe := s.Errors[0]
			if pe.File != "bad.ndjson" || pe.Line != 2 || pe.Field != tc.field || !errors.Is(pe, tc.reason) {
				t.Errorf("error %q (file %s line %d field %q), want line 2 field %q reason %v", pe, pe.File, pe.Line, pe.Field, tc.field, tc.reason)
			}
			// Strict mode stops with that error.
			_, err := rateBytes(t, "bad.ndjson", []byte(in), Options{Strict: true})
			var spe *ParseError
			if !errors.As(err, &spe) || spe.Line != 2 || !errors.Is(err, tc.reason) {
				t.Errorf("strict: %v", err)
			}
		})
	}
}

func sprintf(format string, n int) string {
	return strings.Replace(format, "%d", strconv.Itoa(n), 1)
}

// TestMalformedInBatch: one bad event in a webhook POST body (an array on
// one line) does not hide the others.
func TestMalformedInBatch(t *testing.T) {
	t.Parallel()
	ev := func(id string) string {
		return `{"email":"a@x.com","timestamp":1767000000,"event":"open","sg_event_id":"` + id + `","meta":{"x":[{"y":1},{"z":2}]}}`
	}
	for _, tc := range []struct {
		name, line string
		read, used int64
	}{
		{"bad middle", "[" + ev("1") + `,{"email":"a@x.com" "oops"},` + ev("2") + "," + ev("3") + "]", 4, 3},
		{"bad middle, spaces", "[ " + ev("1") + ` , {"email":"a@x.com","timestamp":1767000000,"event":"open","x":tru} , ` + ev("2") + " ]", 3, 2},
		{"bad last", "[" + ev("1") + "," + ev("2") + `,{"email":` + "]", 3, 2},
		{"truncated batch", "[" + ev("1") + "," + ev("2") + `,{"email":"a@x.com","time`, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := mustRate(t, "batch.json", []byte(tc.line+"\n"+ev("9")+"\n"), Options{})
			s := res.Summary
			if s.Read != tc.read+1 || s.Used != tc.used+1 || s.Skipped != 1 {
				t.Errorf("read %d used %d skipped %d %v, want read %d used %d skipped 1", s.Read, s.Used, s.Skipped, s.SkippedBy, tc.read+1, tc.used+1)
			}
			if len(s.Errors) != 1 || s.Errors[0].Line != 1 {
				t.Errorf("errors %v", s.Errors)
			}
		})
	}
}

func TestMalformedCSV(t *testing.T) {
	t.Parallel()
	in := "email,timestamp,event,sg_event_id\n" +
		"a@x.com,1767000000,delivered,e1\n" +
		"a@x.com,1767000100,open\n" + // wrong column count
		"a@x.com,1767000200,open,e3,extra\n" + // wrong column count
		"a@x.com,soon,open,e4\n" +
		"a@x.com,1767000300,\"cl\"ick,e5\n" + // bad quote
		",1767000400,open,e6\n" +
		"a@x.com,1767000500,click,e7\n"
	res := mustRate(t, "in.csv", []byte(in), Options{})
	s := res.Summary
	if s.Read != 7 || s.Used != 2 || s.Skipped != 5 {
		t.Errorf("summary read %d used %d skipped %d %v", s.Read, s.Used, s.Skipped, s.SkippedBy)
	}
	if s.SkippedBy[ErrFieldCount.Error()] != 2 || s.SkippedBy[ErrBadTimestamp.Error()] != 1 || s.SkippedBy[ErrMissingEmail.Error()] != 1 || s.SkippedBy[ErrCSV.Error()] != 1 {
		t.Errorf("skipped by %v", s.SkippedBy)
	}
	var lines []int
	for _, e := range s.Errors {
		lines = append(lines, e.Line)
	}
	if !slices.Equal(lines, []int{3, 4, 5, 6, 7}) {
		t.Errorf("error lines %v, want 3..7", lines)
	}
	if len(res.Ratings) != 1 || res.Ratings[0].Clicks != 1 {
		t.Errorf("ratings %+v", res.Ratings)
	}
	// A header without the needed columns is an error of the input.
	_, err := rateBytes(t, "h.csv", []byte("mail,time\nx,1\n"), Options{Strict: true})
	if !errors.Is(err, ErrCSVHeader) {
		t.Errorf("bad header: %v", err)
	}
	res = mustRate(t, "h.csv", []byte("mail,time\nx,1\n"), Options{})
	if res.Summary.SkippedBy[ErrCSVHeader.Error()] != 1 {
		t.Errorf("bad header summary %+v", res.Summary)
	}
}

func TestMalformedLineNumbersAcrossBlocks(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 1; i <= 3000; i++ {
		if i%700 == 0 {
			b.WriteString("{broken\n")
			continue
		}
		b.WriteString(sprintf(`{"email":"a@x.com","timestamp":1767000000,"event":"open","sg_event_id":"%d"}`, i) + "\n")
	}
	res := mustRate(t, "x", []byte(b.String()), Options{BlockSize: 5000, Workers: 3})
	var lines []int
	for _, e := range res.Summary.Errors {
		lines = append(lines, e.Line)
	}
	if !slices.Equal(lines, []int{700, 1400, 2100, 2800}) {
		t.Errorf("error lines %v", lines)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	nd := genData(t, 50, gen.NDJSON)
	for _, opts := range []Options{{}, {BlockSize: 4096, Workers: 3}} {
		e := New(opts)
		err := e.Read(context.Background(), "x", &failingReader{data: nd, err: boom})
		if !errors.Is(err, boom) {
			t.Errorf("error %v, want %v", err, boom)
		}
	}
	// A cancelled context stops reading.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := New(Options{})
	if err := e.Read(ctx, "x", bytes.NewReader(nd)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestEmptyInputs checks that empty files, including a zero-byte .gz, are
// empty inputs (no contacts, no error), while a corrupt .gz is an error
// naming the file.
func TestEmptyInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string][]byte{
		"empty.ndjson":  nil,
		"empty.json.gz": nil,
		"bad.ndjson.gz": []byte("not gzip at all"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		wantErr bool
	}{
		{"empty.ndjson", false},
		{"empty.json.gz", false},
		{"bad.ndjson.gz", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := New(Options{})
			err := e.ReadFile(context.Background(), filepath.Join(dir, tc.name))
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.name) {
					t.Fatalf("ReadFile error = %v, want one naming %s", err, tc.name)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			res, err := e.Rate(context.Background())
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if len(res.Ratings) != 0 || res.Summary.Read != 0 {
				t.Errorf("got %d ratings, %d events read; want none", len(res.Ratings), res.Summary.Read)
			}
		})
	}
}
