package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mustOpen opens a store in dir, closed at the end of the test.
func mustOpen(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// event returns one webhook event object.
func event(email, kind string, ts int64, id string) []byte {
	m := map[string]any{"email": email, "event": kind, "timestamp": ts, "sg_message_id": "msg-" + email, "custom_arg": "x"}
	if id != "" {
		m["sg_event_id"] = id
	}
	b, _ := json.Marshal(m)
	return b
}

// appendObjs stores objs through the same path as the receiver.
func appendObjs(t testing.TB, s *Store, objs ...[]byte) Result {
	t.Helper()
	body := []byte("[" + string(bytes.Join(objs, []byte(","))) + "]\r\n")
	var os_, ids [][]byte
	if err := splitBatch(body, func(o, id []byte, _ *rawFields) { os_ = append(os_, o); ids = append(ids, id) }); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(context.Background(), s.NewBatch(os_, ids))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// exported returns the stored events, one JSON object each, in order.
func exported(t testing.TB, dir string) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), dir, &buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestStoreDeduplicates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	a, b, c := event("a@x.com", "open", 1700000000, "id-a"), event("b@x.com", "click", 1700000001, "id-b"), event("c@x.com", "delivered", 1700000002, "id-c")
	noID := event("d@x.com", "delivered", 1700000003, "")
	tests := []struct {
		name    string
		objs    [][]byte
		want    Result
		wantLen int64
	}{
		{"new", [][]byte{a, b}, Result{Events: 2, Stored: 2}, 2},
		{"within a batch", [][]byte{c, c, c}, Result{Events: 3, Stored: 1, Duplicates: 2}, 3},
		{"across batches", [][]byte{a, b, c}, Result{Events: 3, Duplicates: 3}, 3},
		{"same id, other bytes", [][]byte{event("a@x.com", "open", 1700009999, "id-a")}, Result{Events: 1, Duplicates: 1}, 3},
		{"no id: by its bytes", [][]byte{noID, noID}, Result{Events: 2, Stored: 1, Duplicates: 1}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := appendObjs(t, s, tc.objs...); got != tc.want {
				t.Errorf("Append = %+v, want %+v", got, tc.want)
			}
			if s.Len() != tc.wantLen {
				t.Errorf("Len = %d, want %d", s.Len(), tc.wantLen)
			}
		})
	}
	// Across a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, Options{})
	if s2.Len() != 4 {
		t.Fatalf("after reopen Len = %d, want 4", s2.Len())
	}
	if got := appendObjs(t, s2, a, noID, event("e@x.com", "open", 1700000004, "id-e")); got != (Result{Events: 3, Stored: 1, Duplicates: 2}) {
		t.Errorf("after reopen: %+v", got)
	}
	got := exported(t, dir)
	want := []string{string(a), string(b), string(c), string(noID), string(event("e@x.com", "open", 1700000004, "id-e"))}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("export:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStoreLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestStoreConcurrentAppends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var commits, committed int
	var mu sync.Mutex
	s := mustOpen(t, dir, Options{SegmentSize: 4 << 10, OnCommit: func(n int, _ time.Duration) {
		mu.Lock()
		commits++
		committed += n
		mu.Unlock()
	}})
	const writers, batches, per = 8, 20, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var objs [][]byte
				for i := range per {
					// Every event is posted by two writers.
					id := fmt.Sprintf("ev-%d-%d-%d", w/2, b, i)
					objs = append(objs, event(fmt.Sprintf("u%d@x.com", i), "open", 1700000000+int64(b), id))
				}
				appendObjs(t, s, objs...)
			}
		}()
	}
	wg.Wait()
	want := writers / 2 * batches * per
	if s.Len() != int64(want) {
		t.Fatalf("Len = %d, want %d", s.Len(), want)
	}
	mu.Lock()
	if committed != want || commits == 0 {
		t.Errorf("OnCommit saw %d events in %d commits, want %d", committed, commits, want)
	}
	mu.Unlock()
	nums, _ := segments(dir)
	if len(nums) < 2 {
		t.Errorf("%d segments with a 4 kB segment size, want several", len(nums))
	}
	s.Close()
	s2 := mustOpen(t, dir, Options{})
	if s2.Len() != int64(want) {
		t.Fatalf("after reopen Len = %d, want %d", s2.Len(), want)
	}
	seen := map[string]bool{}
	for _, line := range exported(t, dir) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		id := m["sg_event_id"].(string)
		if seen[id] {
			t.Fatalf("%s exported twice", id)
		}
		seen[id] = true
	}
	if len(seen) != want {
		t.Fatalf("exported %d distinct events, want %d", len(seen), want)
	}
}

// TestStoreTornTail damages the end of the last segment the ways a crash
// can and checks that Open drops exactly the damaged record, keeps every
// earlier one and appends after them.
func TestStoreTornTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(data []byte, lastStart int) []byte
		kept   int
	}{
		{"record cut short", func(d []byte, last int) []byte { return d[:len(d)-5] }, 2},
		{"header cut short", func(d []byte, last int) []byte { return d[:last+3] }, 2},
		{"flipped payload byte", func(d []byte, last int) []byte { d[len(d)-2] ^= 0x40; return d }, 2},
		{"length past the end", func(d []byte, last int) []byte { d[last+1] = 0x7f; return d }, 2},
		{"zeros after the last record", func(d []byte, last int) []byte { return append(d, make([]byte, 4096)...) }, 3},
		{"garbage after the last record", func(d []byte, last int) []byte { return append(d, []byte("garbage!!garbage!!")...) }, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			for i := range 3 {
				appendObjs(t, s, event("a@x.com", "open", 1700000000+int64(i), fmt.Sprint("id", i)))
			}
			s.Close()
			path := segPath(dir, 1)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lastStart := 0
			for off := 0; off < len(data); {
				_, n, err := nextPayload(data[off:])
				if err != nil {
					t.Fatal(err)
				}
				lastStart = off
				off += n
			}
			if err := os.WriteFile(path, tc.damage(data, lastStart), 0o600); err != nil {
				t.Fatal(err)
			}
			// A reader stops before the damage without an error.
			if got := len(exported(t, dir)); got != tc.kept {
				t.Errorf("reader sees %d events, want %d", got, tc.kept)
			}
			s2 := mustOpen(t, dir, Options{})
			if s2.Len() != int64(tc.kept) {
				t.Fatalf("Len after recovery = %d, want %d", s2.Len(), tc.kept)
			}
			res := appendObjs(t, s2, event("a@x.com", "open", 1700000002, "id2"), event("b@x.com", "open", 1700000009, "id9"))
			wantStored := 1
			if tc.kept == 2 {
				wantStored = 2 // the dropped record was never acknowledged: it can be stored again
			}
			if res.Stored != wantStored {
				t.Errorf("stored %d after recovery, want %d", res.Stored, wantStored)
			}
			s2.Close()
			if got := len(exported(t, dir)); got != tc.kept+wantStored {
				t.Errorf("%d events after recovery and append, want %d", got, tc.kept+wantStored)
			}
		})
	}
}

func TestStoreCorruptMiddle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentSize: 1})
	for i := range 3 {
		appendObjs(t, s, event("a@x.com", "open", 1700000000+int64(i), fmt.Sprint("id", i)))
	}
	s.Close()
	path := segPath(dir, 1)
	data, _ := os.ReadFile(path)
	data[20] ^= 1
	os.WriteFile(path, data, 0o600)
	_, err := Open(dir, Options{})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != path || ce.Offset != 0 {
		t.Fatalf("Open = %v, want a CorruptError at %s offset 0", err, path)
	}
	if _, err := Scan(context.Background(), dir, Position{}, func(*Record) error { return nil }); !errors.As(err, &ce) {
		t.Fatalf("Scan = %v, want a CorruptError", err)
	}
}

func TestStorePrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentSize: 1}) // one commit per segment
	day := int64(86400)
	base := int64(1700000000)
	for d := range 5 {
		appendObjs(t, s, event("a@x.com", "open", base+int64(d)*day, fmt.Sprint("d", d)), event("b@x.com", "open", base+int64(d)*day+10, fmt.Sprint("e", d)))
	}
	n, err := s.Prune(context.Background(), time.Unix(base+2*day+5, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || s.Len() != 6 {
		t.Fatalf("pruned %d, left %d; want 4 and 6", n, s.Len())
	}
	// A pruned id is forgotten: stored again.
	if res := appendObjs(t, s, event("a@x.com", "open", base, "d0"), event("a@x.com", "open", base+3*day, "d3")); res.Stored != 1 {
		t.Errorf("after prune: %+v", res)
	}
	st, err := ReadStats(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 7 || st.Contacts != 2 || st.FirstSegm != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestStoreClosed(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, t.TempDir(), Options{})
	s.Close()
	b := s.NewBatch([][]byte{event("a@x.com", "open", 1, "x")}, [][]byte{[]byte("x")})
	if _, err := s.Append(context.Background(), b); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("Err = %v", s.Err())
	}
}

func TestScanFromPosition(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentSize: 600})
	for i := range 6 {
		appendObjs(t, s, event("a@x.com", "open", 1700000000+int64(i), fmt.Sprint("id", i)))
	}
	var all []Position
	end, err := Scan(context.Background(), dir, Position{}, func(r *Record) error { all = append(all, r.Pos); return nil })
	if err != nil || len(all) != 6 {
		t.Fatalf("%d records, %v", len(all), err)
	}
	for k, p := range all {
		n := 0
		e2, err := Scan(context.Background(), dir, p, func(*Record) error { n++; return nil })
		if err != nil || n != 6-k || e2 != end {
			t.Errorf("from %v: %d records (want %d), end %v (want %v), %v", p, n, 6-k, e2, end, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ID")); err != nil {
		t.Error(err)
	}
}

// TestStoreWriteFailure breaks the segment file under the writer: the
// batch is refused, the store takes nothing more (ErrFailed) and what was
// acknowledged before is intact after a reopen.
func TestStoreWriteFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	appendObjs(t, s, event("a@x.com", "open", 1700000000, "ok-1"))
	if err := s.do(context.Background(), func() { s.seg.Close() }); err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch([][]byte{event("b@x.com", "open", 1700000001, "lost")}, [][]byte{[]byte("lost")})
	if _, err := s.Append(context.Background(), b); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append on a broken file: %v, want ErrFailed", err)
	}
	if !errors.Is(s.Err(), ErrFailed) {
		t.Fatalf("Err = %v", s.Err())
	}
	if _, err := s.Append(context.Background(), b); !errors.Is(err, ErrFailed) {
		t.Fatalf("second Append: %v", err)
	}
	s.Close()
	s2 := mustOpen(t, dir, Options{})
	if s2.Len() != 1 {
		t.Fatalf("after reopen %d events, want 1", s2.Len())
	}
	if res := appendObjs(t, s2, event("b@x.com", "open", 1700000001, "lost")); res.Stored != 1 {
		t.Errorf("after reopen: %+v", res)
	}
}
