package events_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/sgseq/sgseq/events"
)

// A signed webhook post, answered once its events are on disk.
func ExampleNewReceiver() {
	dir, _ := os.MkdirTemp("", "events")
	defer os.RemoveAll(dir)
	store, err := events.Open(dir, events.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// SendGrid shows the verification key as base64 DER; here one is made.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	keys, err := events.ParsePublicKeys(base64.StdEncoding.EncodeToString(der))
	if err != nil {
		log.Fatal(err)
	}
	rc, err := events.NewReceiver(store, events.ReceiverConfig{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	body := []byte(`[{"email":"ann@example.com","event":"open","timestamp":1700000000,"sg_event_id":"e1"},` +
		`{"email":"ann@example.com","event":"open","timestamp":1700000000,"sg_event_id":"e1"}]` + "\r\n")
	ts := "1700000005"
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	req, _ := http.NewRequest("POST", srv.URL+"/", bytes.NewReader(body))
	req.Header.Set(events.HeaderTimestamp, ts)
	req.Header.Set(events.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(answer))
	// Output: 200 {"duplicates":1,"events":2,"stored":1}
}

// Import event files, then rate the store; the next Rate is incremental.
func ExampleRate() {
	dir, _ := os.MkdirTemp("", "events")
	defer os.RemoveAll(dir)
	store, err := events.Open(dir, events.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ndjson := `{"email":"ann@example.com","event":"delivered","timestamp":1700000000,"sg_event_id":"d1"}
{"email":"ann@example.com","event":"click","timestamp":1700003600,"sg_event_id":"c1"}
{"email":"bob@example.com","event":"delivered","timestamp":1700000000,"sg_event_id":"d2"}
`
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(ndjson)), nil }
	if _, err := events.Import(context.Background(), store, "events.ndjson", open); err != nil {
		log.Fatal(err)
	}
	store.Close()

	res, st, err := events.Rate(context.Background(), dir, events.RateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Ratings {
		fmt.Println(r.Email, r.Score, r.Stars, r.Segment)
	}
	_, st2, _ := events.Rate(context.Background(), dir, events.RateOptions{})
	fmt.Println("incremental:", st.Incremental, st2.Incremental)
	// Output:
	// ann@example.com 1 3 low
	// bob@example.com 0 2 new
	// incremental: false true
}

// Export prints each stored event once with its original fields.
func ExampleExport() {
	dir, _ := os.MkdirTemp("", "events")
	defer os.RemoveAll(dir)
	store, _ := events.Open(dir, events.Options{})
	body := `[{"email":"ann@example.com","event":"open","timestamp":1700000000,"sg_event_id":"e1","campaign":"fall"}]`
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body + "\n" + body + "\n")), nil }
	events.Import(context.Background(), store, "posts.json", open)
	store.Close()
	events.Export(context.Background(), dir, os.Stdout, time.Time{})
	// Output: {"email":"ann@example.com","event":"open","timestamp":1700000000,"sg_event_id":"e1","campaign":"fall"}
}
