package events

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sgseq/sgseq/rating/gen"
)

// BenchmarkReceiverBatch is the CPU of one signed 1,000-event batch
// through the handler (verify, split, decode, encode, store with fsync),
// per event. bench/ingest measures the whole server on loopback.
func BenchmarkReceiverBatch(b *testing.B) {
	var buf bytes.Buffer
	gen.Write(context.Background(), &buf, gen.Config{Seed: 1, Contacts: 200, DupRate: -1})
	var lines [][]byte
	for l := range bytes.Lines(buf.Bytes()) {
		lines = append(lines, bytes.TrimSpace(l))
		if len(lines) == 1000 {
			break
		}
	}
	body := append(append([]byte("["), bytes.Join(lines, []byte(","))...), "]\r\n"...)
	key := newSigner(b)
	sig := key.sign(b, "1700000000", body)
	s := mustOpen(b, b.TempDir(), Options{})
	rc, err := NewReceiver(s, ReceiverConfig{Keys: []PublicKey{key.pub}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set(HeaderTimestamp, "1700000000")
		req.Header.Set(HeaderSignature, sig)
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/event")
}

// BenchmarkReceiverParallel posts the same batch from GOMAXPROCS
// goroutines: after the first, every event is a duplicate, so this is the
// CPU of the request path without the write.
func BenchmarkReceiverParallel(b *testing.B) {
	var buf bytes.Buffer
	gen.Write(context.Background(), &buf, gen.Config{Seed: 1, Contacts: 200, DupRate: -1})
	var lines [][]byte
	for l := range bytes.Lines(buf.Bytes()) {
		lines = append(lines, bytes.TrimSpace(l))
		if len(lines) == 1000 {
			break
		}
	}
	body := append(append([]byte("["), bytes.Join(lines, []byte(","))...), "]\r\n"...)
	key := newSigner(b)
	sig := key.sign(b, "1700000000", body)
	s := mustOpen(b, b.TempDir(), Options{})
	rc, _ := NewReceiver(s, ReceiverConfig{Keys: []PublicKey{key.pub}})
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			req.Header.Set(HeaderTimestamp, "1700000000")
			req.Header.Set(HeaderSignature, sig)
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
