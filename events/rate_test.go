package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/rating"
	"github.com/sgseq/sgseq/rating/gen"
)

// fromScratch rates an export of the store with a fresh rating engine, as
// "sgseq rate" over "sgseq events export" does.
func fromScratch(t testing.TB, dir string) []rating.Rating {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), dir, &buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	e := rating.New(rating.Options{})
	if err := e.Read(context.Background(), "export.ndjson", &buf); err != nil {
		t.Fatal(err)
	}
	res, err := e.Rate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res.Ratings
}

// sameRatings compares two rating lists by their output (every column)
// and internal score, and names the first difference.
func sameRatings(t testing.TB, what string, got, want []rating.Rating) {
	t.Helper()
	var g, w bytes.Buffer
	rating.WriteRatings(&g, rating.OutputNDJSON, got)
	rating.WriteRatings(&w, rating.OutputNDJSON, want)
	if g.String() == w.String() {
		for i := range got {
			if got[i].Value != want[i].Value {
				t.Fatalf("%s: %s value %v, want %v", what, got[i].Email, got[i].Value, want[i].Value)
			}
		}
		return
	}
	gl, wl := strings.Split(g.String(), "\n"), strings.Split(w.String(), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("%s: %d vs %d ratings; first difference at %d:\n got  %s\n want %s", what, len(got), len(want), i, gl[i], wl[i])
		}
	}
	t.Fatalf("%s: %d ratings, want %d", what, len(got), len(want))
}

// feed generates a webhook history and returns its events (one JSON
// object each) in arrival order, with their timestamps.
func feed(t testing.TB, contacts, days int) (objs [][]byte, ts []int64) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), &buf, gen.Config{Seed: 7, Contacts: contacts, Days: days, Disorder: 0.05, DupRate: 0.03}); err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(buf.Bytes()) {
		line = bytes.TrimSpace(line)
		var m struct {
			Timestamp int64 `json:"timestamp"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, bytes.Clone(line))
		ts = append(ts, m.Timestamp)
	}
	return objs, ts
}

func importObjs(t testing.TB, s *Store, objs [][]byte) {
	t.Helper()
	body := bytes.Join(objs, []byte("\n"))
	if _, err := Import(context.Background(), s, "chunk.ndjson", func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRateIncrementalEqualsFromScratch feeds eight months of a generated
// account into the store two days at a time, with late events (hours to
// six weeks late), out-of-order ones and retries, and after every step
// checks that the incremental run gives exactly the ratings of rating
// every stored event from scratch. The history crosses every sunset step
// (30, 90, 180 days idle, re-engagement unanswered) for many contacts.
func TestRateIncrementalEqualsFromScratch(t *testing.T) {
	t.Parallel()
	objs, ts := feed(t, 160, 240)
	rng := rand.New(rand.NewPCG(3, 4))
	// Arrival time: the event time, or later for 8% of the events.
	arrive := make([]int64, len(ts))
	for i, x := range ts {
		arrive[i] = x
		switch r := rng.IntN(100); {
		case r < 5:
			arrive[i] += rng.Int64N(2 * 86400)
		case r < 7:
			arrive[i] += rng.Int64N(10 * 86400)
		case r < 8:
			arrive[i] += rng.Int64N(42 * 86400)
		}
	}
	order := make([]int, len(objs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(arrive[a] - arrive[b]) })
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentSize: 256 << 10})
	step := int64(2 * 86400)
	start := arrive[order[0]]
	k := 0
	incremental, partial, stepped := 0, 0, 0
	for cut := start + step; k < len(order); cut += step {
		var chunk [][]byte
		for k < len(order) && arrive[order[k]] < cut {
			chunk = append(chunk, objs[order[k]])
			k++
		}
		if len(chunk) == 0 {
			continue
		}
		importObjs(t, s, chunk)
		res, st, err := Rate(context.Background(), dir, RateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !st.Saved {
			t.Fatalf("checkpoint not saved: %s", st.Reason)
		}
		if st.Incremental {
			incremental++
			if st.Rerated < len(res.Ratings) {
				partial++
			}
			stepped += st.Stepped
		} else if incremental > 0 {
			t.Fatalf("full run after the first: %s", st.Reason)
		}
		sameRatings(t, fmt.Sprintf("after %s", time.Unix(cut, 0).UTC().Format(time.DateOnly)), res.Ratings, fromScratch(t, dir))
	}
	if incremental < 100 || partial < incremental/2 || stepped == 0 {
		t.Fatalf("%d incremental runs, %d re-rated only some contacts, %d contacts re-rated for the as-of time alone: the incremental path was not exercised",
			incremental, partial, stepped)
	}
	t.Logf("%d incremental runs, %d contacts re-rated for the as-of time alone", incremental, stepped)
	// Every sunset value was reached.
	res, _, _ := Rate(context.Background(), dir, RateOptions{})
	seen := map[rating.Sunset]bool{}
	for _, r := range res.Ratings {
		seen[r.Sunset] = true
	}
	for _, sn := range rating.Sunsets {
		if !seen[sn] {
			t.Errorf("no contact ends at sunset %s: the test does not cross that step", sn)
		}
	}
}

func TestRateCheckpointDiscarded(t *testing.T) {
	t.Parallel()
	objs, _ := feed(t, 60, 40)
	tests := []struct {
		name   string
		change func(t *testing.T, dir string, s *Store) *Store
		reason string
	}{
		{"corrupt checkpoint", func(t *testing.T, dir string, s *Store) *Store {
			p := filepath.Join(dir, "rating.ckpt")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o600)
			return s
		}, "checksum"},
		{"checkpoint removed", func(t *testing.T, dir string, s *Store) *Store {
			os.Remove(filepath.Join(dir, "rating.ckpt"))
			return s
		}, "no checkpoint"},
		{"another store's checkpoint", func(t *testing.T, dir string, s *Store) *Store {
			other := t.TempDir()
			s2 := mustOpen(t, other, Options{})
			importObjs(t, s2, objs[:10])
			if _, _, err := Rate(context.Background(), other, RateOptions{}); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(other, "rating.ckpt"))
			os.WriteFile(filepath.Join(dir, "rating.ckpt"), b, 0o600)
			return s
		}, "another store"},
		{"pruned", func(t *testing.T, dir string, s *Store) *Store {
			if n, err := s.Prune(context.Background(), time.Now()); err != nil || n == 0 {
				t.Fatalf("pruned %d, %v", n, err)
			}
			return s
		}, "pruned"},
		{"tail rewritten", func(t *testing.T, dir string, s *Store) *Store {
			// The rating run read a record that was never acknowledged; the
			// writer crashed, dropped it as a torn tail and wrote another
			// in its place.
			s.Close()
			nums, _ := segments(dir)
			p := segPath(dir, nums[len(nums)-1])
			b, _ := os.ReadFile(p)
			last := 0
			for off := 0; off < len(b); {
				_, n, err := nextPayload(b[off:])
				if err != nil {
					t.Fatal(err)
				}
				last, off = off, off+n
			}
			os.WriteFile(p, b[:last+5], 0o600)
			s2 := mustOpen(t, dir, Options{SegmentSize: 64 << 10})
			appendObjs(t, s2, event("late@x.com", "delivered", 1790000000, "rewritten"))
			return s2
		}, "changed under"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{SegmentSize: 64 << 10})
			for k := 0; k < len(objs)/2; k += 50 {
				importObjs(t, s, objs[k:min(k+50, len(objs)/2)])
			}
			if _, st, err := Rate(context.Background(), dir, RateOptions{}); err != nil || !st.Saved {
				t.Fatalf("%+v %v", st, err)
			}
			s = tc.change(t, dir, s)
			importObjs(t, s, objs[len(objs)/2:])
			res, st, err := Rate(context.Background(), dir, RateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Incremental || !strings.Contains(st.Reason, tc.reason) {
				t.Fatalf("incremental %v, reason %q; want a full run for %q", st.Incremental, st.Reason, tc.reason)
			}
			sameRatings(t, tc.name, res.Ratings, fromScratch(t, dir))
			// And the next run is incremental again.
			if _, st, _ := Rate(context.Background(), dir, RateOptions{}); !st.Incremental {
				t.Errorf("run after the full one: %s", st.Reason)
			}
		})
	}
}

func TestRateFrom(t *testing.T) {
	t.Parallel()
	objs, _ := feed(t, 40, 30)
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	importObjs(t, s, objs)
	asOf := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	res, err := RateFrom(context.Background(), dir, rating.Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	Export(context.Background(), dir, &buf, time.Time{})
	e := rating.New(rating.Options{AsOf: asOf})
	e.Read(context.Background(), "x", &buf)
	want, _ := e.Rate(context.Background())
	sameRatings(t, "as of", res.Ratings, want.Ratings)
}

// TestRateIncrementalSameSecondBounces: a hard bounce and a block of one
// contact in the same second give a score that depends on their order,
// which rating takes from their sg_event_id fingerprints; the incremental
// run must order them as rating from scratch does (20 contacts: a run that
// got the order by chance would pass 1 time in a million).
func TestRateIncrementalSameSecondBounces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	base := int64(1_700_000_000)
	rng := rand.New(rand.NewPCG(9, 9))
	var early, late [][]byte
	for c := range 20 {
		email := fmt.Sprintf("c%d@x.com", c)
		// 20 weekly mails, each clicked: a high score, which a hard bounce
		// resets to 0 (then the block gives -2) but which a block first
		// takes to -2 (then the hard bounce gives -5).
		for d := range 20 {
			early = append(early, event(email, "delivered", base+int64(d)*7*86400, fmt.Sprintf("d-%d-%d", c, d)))
			early = append(early, event(email, "click", base+int64(d)*7*86400+60, fmt.Sprintf("k-%d-%d", c, d)))
		}
		ts := base + 20*7*86400
		hard := map[string]any{"email": email, "event": "bounce", "type": "bounce", "timestamp": ts, "sg_event_id": fmt.Sprintf("h%x", rng.Uint64())}
		block := map[string]any{"email": email, "event": "bounce", "type": "blocked", "bounce_classification": "Mailbox Unavailable", "timestamp": ts, "sg_event_id": fmt.Sprintf("b%x", rng.Uint64())}
		for _, m := range []map[string]any{hard, block} {
			b, _ := json.Marshal(m)
			late = append(late, b)
		}
	}
	importObjs(t, s, early)
	if _, st, err := Rate(context.Background(), dir, RateOptions{}); err != nil || st.Incremental {
		t.Fatal(st, err)
	}
	importObjs(t, s, late)
	res, st, err := Rate(context.Background(), dir, RateOptions{})
	if err != nil || !st.Incremental {
		t.Fatal(st, err)
	}
	want := fromScratch(t, dir)
	sameRatings(t, "same-second bounces", res.Ratings, want)
	scores := map[int]bool{}
	for _, r := range want {
		scores[r.Score] = true
	}
	if len(scores) < 2 {
		t.Fatalf("every contact has the same score %v: the order did not matter, the test proves nothing", scores)
	}
}
