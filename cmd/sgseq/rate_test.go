package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/rating"
	"github.com/sgseq/sgseq/rating/gen"
)

func rateRun(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = execute(context.Background(), append([]string{"rate"}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

func rateGenFile(t *testing.T, contacts int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), f, gen.Config{Seed: 2, Contacts: contacts}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// rateLibrary rates path with the rating package directly, to compare the
// command's output with.
func rateLibrary(t *testing.T, path string) *rating.Result {
	t.Helper()
	e := rating.New(rating.Options{})
	if err := e.ReadFile(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	res, err := e.Rate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRateCommand(t *testing.T) {
	t.Parallel()
	path := rateGenFile(t, 400)
	// What the library says, for the summary counts.
	res := rateLibrary(t, path)
	s := res.Summary
	if s.Duplicates == 0 || s.Read == 0 {
		t.Fatalf("generated data without duplicates: %+v", s)
	}

	stdout, stderr, err := rateRun(t, path)
	if err != nil {
		t.Fatalf("rate: %v\n%s", err, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "email,score,stars,segment,last_engaged,sends,human_opens,machine_opens,clicks,bounces,complaints,unsubscribes,sunset,sender_blocks"
	if got := strings.Join(rows[0], ","); got != wantHeader {
		t.Errorf("header %s\nwant   %s", got, wantHeader)
	}
	if len(rows)-1 != s.Contacts {
		t.Errorf("%d rows, want %d contacts", len(rows)-1, s.Contacts)
	}
	for _, want := range []string{
		fmt.Sprintf("events: read %d, used %d, duplicates %d, after as-of 0, skipped 0", s.Read, s.Used, s.Duplicates),
		fmt.Sprintf("rated %d contacts", s.Contacts),
		"stars:", "segments:", "sunset:", "champions", "dormant", "reengage",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	for st := 1; st <= 5; st++ {
		found := false
		for _, line := range strings.Split(stderr, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == rateStars(st) {
				found = f[len(f)-2] == fmt.Sprint(s.Stars[st])
			}
		}
		if !found {
			t.Errorf("summary lacks %d stars: %d", st, s.Stars[st])
		}
	}
	if strings.Contains(stdout, "rated ") {
		t.Error("summary on stdout")
	}

	// JSON and NDJSON carry the same fields.
	out := filepath.Join(t.TempDir(), "r.json")
	if _, stderr, err := rateRun(t, "-q", "-o", "json", "--out", out, path); err != nil || stderr != "" {
		t.Fatalf("json: %v %q", err, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(data, &objs); err != nil {
		t.Fatal(err)
	}
	if len(objs) != s.Contacts {
		t.Errorf("%d json objects", len(objs))
	}
	for _, k := range rating.Columns {
		if _, ok := objs[0][k]; !ok {
			t.Errorf("json lacks %q: %v", k, objs[0])
		}
	}
	nd, _, err := rateRun(t, "-q", "-o", "ndjson", path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(nd), "\n")
	if len(lines) != s.Contacts {
		t.Errorf("%d ndjson lines", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["email"] != objs[0]["email"] {
		t.Errorf("ndjson line %q: %v", lines[0], err)
	}

	// explain prints the contact's steps.
	email := rows[1][0]
	ex, _, err := rateRun(t, "explain", email, path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ex, email+": score "+rows[1][1]+" (") || !strings.Contains(ex, "delivered") {
		t.Errorf("explain output:\n%s", ex)
	}
	if _, _, err := rateRun(t, "explain", "nobody@nowhere.example", path); err == nil {
		t.Error("explain of an unknown contact succeeded")
	}
}

// TestRateExplainAsOf: a contact whose every event is after --as-of has no
// rating in `sgseq rate`, so explain says so and exits 1 as for an unknown
// contact, listing the later events as ignored.
func TestRateExplainAsOf(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	events := `{"email":"early@x.com","timestamp":1767000000,"event":"delivered","sg_event_id":"e1"}
{"email":"late@x.com","timestamp":1767200000,"event":"delivered","sg_event_id":"l1"}
{"email":"late@x.com","timestamp":1767203600,"event":"open","sg_event_id":"l2"}
`
	if err := os.WriteFile(path, []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	const asOf = "1767100000"
	rated, _, err := rateRun(t, "--as-of", asOf, "-q", path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rated, "late@x.com") || !strings.Contains(rated, "early@x.com") {
		t.Fatalf("rate output:\n%s", rated)
	}
	for _, tc := range []struct {
		name, email string
		want        []string // in stdout
	}{
		{"only later events", "Late@X.com", []string{
			"late@x.com: no rating: no events at or before 2025-12-30T13:06:40Z; 2 later events, all ignored:",
			"delivered", "open"}},
		{"unknown", "nobody@x.com", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := rateRun(t, "explain", "--as-of", asOf, tc.email, path)
			if err == nil || exitCodeOf(err) != exitFailed {
				t.Fatalf("err %v, want exit status %d", err, exitFailed)
			}
			if strings.Contains(out, "score") {
				t.Errorf("output shows a score:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.want != nil && strings.Count(out, "ignored") < 3 {
				t.Errorf("later events not marked ignored:\n%s", out)
			}
		})
	}
	// A contact with events up to --as-of is explained as usual.
	out, _, err := rateRun(t, "explain", "--as-of", asOf, "early@x.com", path)
	if err != nil || !strings.HasPrefix(out, "early@x.com: score 0 (") {
		t.Errorf("early contact: %v\n%s", err, out)
	}
}

func TestRateCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	content := `{"email":"a@x.com","timestamp":1767000000,"event":"delivered"}` + "\n" +
		`{"email":"a@x.com","timestamp":1767000000,"event":` + "\n" +
		`{"email":"a@x.com","timestamp":1767000100,"event":"open"}` + "\n"
	if err := os.WriteFile(bad, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := rateRun(t, bad)
	if err != nil {
		t.Fatalf("lenient: %v", err)
	}
	if !strings.Contains(stderr, "skipped "+bad+":2: truncated") || !strings.Contains(stderr, "skipped 1 (truncated 1)") {
		t.Errorf("summary:\n%s", stderr)
	}
	if !strings.Contains(stdout, "a@x.com,1,3,low,") {
		t.Errorf("output:\n%s", stdout)
	}
	_, _, err = rateRun(t, "--strict", bad)
	if err == nil || exitCodeOf(err) != exitFailed || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("strict: %v", err)
	}
	if _, _, err := rateRun(t, "-o", "xml", bad); err == nil {
		t.Error("-o xml accepted")
	}
	if _, _, err := rateRun(t, "--as-of", "soon", bad); err == nil {
		t.Error("--as-of soon accepted")
	}
	if _, _, err := rateRun(t, filepath.Join(dir, "missing.ndjson")); err == nil {
		t.Error("missing file accepted")
	}
	// --as-of before the open: the contact has not engaged yet.
	out, _, err := rateRun(t, "-q", "--as-of", "1767000050", bad)
	if err != nil || !strings.Contains(out, "a@x.com,0,2,new,") {
		t.Errorf("as-of: %v\n%s", err, out)
	}
}

func TestRateParseTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"2026-10-01T12:00:00Z", "2026-10-01T12:00:00Z"},
		{"2026-10-01", "2026-10-01T23:59:59Z"},
		{"1767000000", "2025-12-29T09:20:00Z"},
		{"1767000000000", "2025-12-29T09:20:00Z"}, // milliseconds, as in the webhook data
		{"2026-10-01T12:00:00+02:00", "2026-10-01T10:00:00Z"},
	} {
		got, err := rateParseTime(tc.in)
		if err != nil || got.Format("2006-01-02T15:04:05Z07:00") != tc.want {
			t.Errorf("%s: %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestRateDemo(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	env := &demoEnv{Dir: t.TempDir(), Out: &b, Now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	if err := demoRating(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"$ sgseq rate events.ndjson", "events: read ", "stars:", "segments:", "sunset:",
		"as of 2026-11-2", strings.Join(rating.Columns, ","), "$ sgseq rate explain ", "hard bounce: -5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestRateWriteFile: --out replaces the file only after a complete write;
// a failed write leaves the previous file and no temporary file behind.
func TestRateWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ratings.csv")
	if err := os.WriteFile(path, []byte("old complete output\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := rateWriteFile(path, func(w io.Writer) error {
		fmt.Fprintln(w, "email,score")
		fmt.Fprintln(w, "half a row,")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want %v", err, boom)
	}
	if got, _ := os.ReadFile(path); string(got) != "old complete output\n" {
		t.Errorf("after a failed write the file holds %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want 1 (no temporary file)", len(ents))
	}
	if err := rateWriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err }); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(got) != "new\n" || fi.Mode().Perm() != 0o644 {
		t.Errorf("after a good write: %q mode %v", got, fi.Mode())
	}
	if err := rateWriteFile(filepath.Join(dir, "no", "such", "dir.csv"), func(io.Writer) error { return nil }); err == nil {
		t.Error("write into a missing directory succeeded")
	}

	// A symbolic link stays a link; its target gets the new content and
	// keeps its permissions.
	target := filepath.Join(dir, "target.csv")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := rateWriteFile(link, func(w io.Writer) error { _, err := io.WriteString(w, "via link\n"); return err }); err != nil {
		t.Fatal(err)
	}
	li, _ := os.Lstat(link)
	ti, _ := os.Stat(target)
	got, _ = os.ReadFile(target)
	if li.Mode()&os.ModeSymlink == 0 || string(got) != "via link\n" || ti.Mode().Perm() != 0o600 {
		t.Errorf("link mode %v, target %q mode %v", li.Mode(), got, ti.Mode())
	}

}

// TestRateOutFlag: --out writes every format completely and -o rejects an
// unknown format with a message naming the choices.
func TestRateOutFlag(t *testing.T) {
	t.Parallel()
	in := rateGenFile(t, 50)
	res := rateLibrary(t, in)
	if len(res.Ratings) == 0 {
		t.Fatal("library: no ratings")
	}
	dir := t.TempDir()
	for _, f := range []string{"csv", "json", "ndjson"} {
		t.Run(f, func(t *testing.T) {
			out := filepath.Join(dir, "r."+f)
			stdout, _, err := rateRun(t, "-q", "-o", f, "--out", out, in)
			if err != nil || stdout != "" {
				t.Fatalf("err %v, stdout %q", err, stdout)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			switch f {
			case "csv":
				recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				if err != nil || strings.Join(recs[0], ",") != strings.Join(rating.Columns, ",") {
					t.Fatalf("csv: %v header %v", err, recs[0])
				}
				n = len(recs) - 1
			case "json":
				var rs []map[string]any
				if err := json.Unmarshal(data, &rs); err != nil {
					t.Fatal(err)
				}
				n = len(rs)
			case "ndjson":
				for l := range strings.Lines(string(data)) {
					var m map[string]any
					if err := json.Unmarshal([]byte(l), &m); err != nil || len(m) != len(rating.Columns) {
						t.Fatalf("line %q: %v (%d fields)", l, err, len(m))
					}
					n++
				}
			}
			if n != len(res.Ratings) {
				t.Errorf("%d contacts written, want %d", n, len(res.Ratings))
			}
		})
	}
	_, _, err := rateRun(t, "-o", "xml", in)
	if err == nil || !strings.Contains(err.Error(), `"xml"`) || !strings.Contains(err.Error(), "csv, json or ndjson") {
		t.Errorf("-o xml: %v", err)
	}
}

// TestRateEmptyInput checks that an empty input is an error (exit 2) that
// writes no ratings, and that the summary does not claim a 1970 as-of
// time.
func TestRateEmptyInput(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty.ndjson.gz")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := rateRun(t, empty)
	if err == nil || exitCodeOf(err) != exitFailed || err.Error() != "rate: no contacts rated: the input holds no events" {
		t.Fatalf("rate: %v, want exit %d\n%s", err, exitFailed, stderr)
	}
	if strings.Contains(stderr, "1970") || !strings.Contains(stderr, "rated 0 contacts as of (no events)") {
		t.Errorf("summary:\n%s", stderr)
	}
	if stdout != "" {
		t.Errorf("output:\n%s", stdout)
	}
}

// TestRateRecordLimits: --max-record-size skips a longer line with its
// file:line and reason; a truncated .gz keeps the events before the break
// and says where it stopped; --strict makes either exit 1.
func TestRateRecordLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := func(email, kind, id string) string {
		return fmt.Sprintf(`{"email":%q,"timestamp":1767000000,"event":%q,"sg_event_id":%q}`+"\n", email, kind, id)
	}
	long := filepath.Join(dir, "long.ndjson")
	text := line("a@x.com", "delivered", "1") + `{"email":"b@x.com","timestamp":1767000000,"event":"open","pad":"` + strings.Repeat("x", 4000) + "\"}\n" + line("c@x.com", "delivered", "3")
	if err := os.WriteFile(long, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var plain strings.Builder
	for i := range 3000 {
		plain.WriteString(line(fmt.Sprintf("c%d@x.com", i), "delivered", fmt.Sprint(i)))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(plain.String()))
	zw.Close()
	cut := filepath.Join(dir, "cut.ndjson.gz")
	if err := os.WriteFile(cut, gz.Bytes()[:gz.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stderr   string
		contacts int
	}{
		{"long line skipped", []string{"--max-record-size", "1KiB", long}, 0, long + ":2: record too large: longer than 1024 bytes", 2},
		{"long line within the default", []string{long}, 0, "skipped 0", 3},
		{"long line, strict", []string{"--max-record-size", "1k", "--strict", long}, 2, long + ":2: record too large", 0},
		{"bad size", []string{"--max-record-size", "12 parsecs", long}, 2, `unknown unit "parsecs"`, 0},
		{"truncated gzip", []string{cut}, 0, "input broken off: unexpected EOF after", -1},
		{"truncated gzip, strict", []string{"--strict", cut}, 2, "input broken off", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := rateRun(t, tc.args...)
			code := 0
			var ee *exitError
			switch {
			case errors.As(err, &ee):
				code = ee.code
				stderr += ee.err.Error()
			case err != nil:
				code = 2
				stderr += err.Error()
			}
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", code, tc.code, stderr, tc.stderr)
			}
			rows := strings.Count(stdout, "\n") - 1
			switch {
			case tc.contacts > 0 && rows != tc.contacts:
				t.Errorf("%d contacts rated, want %d:\n%s", rows, tc.contacts, stdout)
			case tc.contacts < 0 && (rows < 100 || rows >= 3000):
				t.Errorf("%d contacts rated from the half file, want the ones before the break", rows)
			}
		})
	}
}

// TestRateExplainGroupsAndAsOf: explain names the group of group events,
// counts sender blocks, and ends with an "(as of)" line when time alone
// made the contact dormant.
func TestRateExplainGroupsAndAsOf(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	ts := int64(1767000000)
	ev := func(kind, extra string) {
		fmt.Fprintf(&b, `{"email":"a@x.com","timestamp":%d,"event":%q,"sg_event_id":"e%d"%s}`+"\n", ts, kind, ts, extra)
	}
	for range 10 {
		ev("delivered", "")
		ts += 3600
		ev("open", "")
		ts += 7*86400 - 3600
	}
	ev("bounce", `,"type":"blocked","bounce_classification":"Reputation"`)
	ts += 60
	ev("group_unsubscribe", `,"asm_group_id":42`)
	ts += 60
	ev("group_resubscribe", `,"asm_group_id":42`)
	for range 3 {
		ts += 7 * 86400
		ev("delivered", "")
	}
	path := filepath.Join(t.TempDir(), "a.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	asOf := time.Unix(ts+17*86400, 0).UTC().Format(time.RFC3339)
	stdout, stderr, err := rateRun(t, "explain", "--as-of", asOf, "a@x.com", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{
		"sender blocks 1",
		"bounce (blocked, Reputation)",
		"the sender's side, not the contact's: no effect",
		"group_unsubscribe (group 42)",
		"group_resubscribe (group 42)",
		"resubscribe to group 42 after an unsubscribe",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, stdout)
		}
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if !strings.Contains(lines[0], "at_risk") {
		t.Errorf("header %q, want at_risk (resubscribed)", lines[0])
	}
	// Past the mark: the rating follows the share again, and the as-of
	// line shows the dormancy time alone brought.
	asOf = time.Unix(ts+200*86400, 0).UTC().Format(time.RFC3339)
	stdout, _, err = rateRun(t, "explain", "--as-of", asOf, "a@x.com", path)
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "(as of)") || !strings.Contains(lines[0], "dormant") {
		t.Errorf("header %q, last line %q; want dormant and an (as of) line", lines[0], last)
	}
}
