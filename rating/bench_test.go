package rating

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/sgseq/sgseq/rating/gen"
)

var benchData = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), &buf, gen.Config{Seed: 7, Contacts: 1000}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// BenchmarkScan measures the JSON scanner alone on one core.
func BenchmarkScan(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	var sc scanner
	for b.Loop() {
		n := 0
		buf := data
		for len(buf) > 0 {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				i = len(buf) - 1
			}
			sc.reset(buf[:i], true)
			for {
				st, _, _ := sc.next()
				if st == scanDone {
					break
				}
				n++
			}
			buf = buf[i+1:]
		}
		if n == 0 {
			b.Fatal("no events")
		}
	}
}

// BenchmarkEngine measures reading and rating on all workers.
func BenchmarkEngine(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e := New(Options{})
		if err := e.Read(context.Background(), "bench", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Rate(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineOneWorker is BenchmarkEngine on one parsing goroutine.
func BenchmarkEngineOneWorker(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e := New(Options{Workers: 1})
		if err := e.Read(context.Background(), "bench", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Rate(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineEncodingJSON is the straightforward approach the engine
// is measured against: encoding/json decode per line into a struct, then a
// map aggregation per email (counting only, no dedup or model).
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		type ev struct {
			Email       string `json:"email"`
			Timestamp   int64  `json:"timestamp"`
			Event       string `json:"event"`
			SGEventID   string `json:"sg_event_id"`
			MachineOpen bool   `json:"sg_machine_open"`
		}
		counts := map[string]*[4]int{}
		for line := range bytes.Lines(data) {
			var e ev
			if err := json.Unmarshal(line, &e); err != nil {
				continue
			}
			c := counts[e.Email]
			if c == nil {
				c = new([4]int)
				counts[e.Email] = c
			}
			switch e.Event {
			case "delivered":
				c[0]++
			case "open":
				c[1]++
			case "click":
				c[2]++
			default:
				c[3]++
			}
		}
	}
}
