// Command ingest benchmarks the Event Webhook receiver: it POSTs signed
// batches of 500–1,000 generated events concurrently on loopback to
// "sgseq events serve" (or to the naive receiver below, -naive) running as
// a child process, and reports events/s, the server's CPU time per event
// (from /proc) and the latency of the batches.
//
//	go build -o bench/data/sgseq ./cmd/sgseq
//	go run ./bench/ingest -sgseq bench/data/sgseq -events 400000 -conc 16
//	go run ./bench/ingest -naive -events 400000 -conc 16
//
// The naive receiver is what a careful user writes today with sendgrid-go:
// eventwebhook.VerifySignature (reproduced here: asn1.Unmarshal of the
// signature into R, S; ecdsa.Verify over SHA-256 of timestamp + body),
// json.Unmarshal of the body into []map[string]interface{}, append the body
// to a file, fsync, answer 200 — one fsync per request.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sgseq/sgseq/rating/gen"
)

func main() {
	naiveServe := flag.String("naive-serve", "", "internal: run the naive receiver on this directory")
	keyFile := flag.String("key", "", "internal: public key file of the naive receiver")
	sgseq := flag.String("sgseq", "bench/data/sgseq", "sgseq binary")
	naive := flag.Bool("naive", false, "benchmark the naive receiver instead of sgseq events serve")
	events := flag.Int("events", 400000, "events to post")
	conc := flag.Int("conc", 16, "concurrent clients")
	minBatch := flag.Int("min-batch", 500, "smallest batch")
	maxBatch := flag.Int("max-batch", 1000, "largest batch")
	flag.Parse()
	if *naiveServe != "" {
		runNaive(*naiveServe, *keyFile)
		return
	}
	log.SetFlags(0)

	tmp, err := os.MkdirTemp(filepath.Join(".", "bench", "data"), "ingest-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	keyPath := filepath.Join(tmp, "key")
	os.WriteFile(keyPath, []byte(base64.StdEncoding.EncodeToString(der)+"\n"), 0o600)

	// Batches: generated events (~520 bytes each, as the webhook posts
	// them), signed once up front so the clients spend little CPU.
	log.Printf("generating %d events ...", *events)
	contacts := max(1000, *events/33)
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), &buf, gen.Config{Seed: 1, Contacts: contacts, DupRate: -1}); err != nil {
		log.Fatal(err)
	}
	var lines [][]byte
	for l := range bytes.Lines(buf.Bytes()) {
		lines = append(lines, bytes.TrimSpace(l))
		if len(lines) == *events {
			break
		}
	}
	type batch struct {
		body     []byte
		ts, sig  string
		n        int
		thousand bool
	}
	var batches []batch
	rng := mrand.New(mrand.NewPCG(1, 2))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for i := 0; i < len(lines); {
		n := *minBatch + rng.IntN(*maxBatch-*minBatch+1)
		n = min(n, len(lines)-i)
		body := append(append([]byte("["), bytes.Join(lines[i:i+n], []byte(","))...), "]\r\n"...)
		sum := sha256.Sum256(append([]byte(ts), body...))
		sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
		batches = append(batches, batch{body: body, ts: ts, sig: base64.StdEncoding.EncodeToString(sig), n: n, thousand: n >= 950})
		i += n
	}
	total := 0
	for _, b := range batches {
		total += b.n
	}

	// The server, as a child process.
	var cmd *exec.Cmd
	name := "sgseq events serve"
	if *naive {
		self, _ := os.Executable()
		cmd = exec.Command(self, "-naive-serve", filepath.Join(tmp, "naive"), "-key", keyPath)
		name = "naive receiver"
	} else {
		cmd = exec.Command(*sgseq, "events", "serve", "--addr", "127.0.0.1:0", "--dir", filepath.Join(tmp, "store"),
			"--public-key-file", keyPath, "--log-level", "warn")
	}
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		log.Fatalf("server: %v", err)
	}
	url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}, Timeout: time.Minute}
	post := func(b batch) (time.Duration, error) {
		req, _ := http.NewRequest("POST", url+"/", bytes.NewReader(b.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", b.ts)
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", b.sig)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), nil
	}
	// Warm up: connections, page cache, the server's heap.
	for i := range min(len(batches), *conc) {
		if _, err := post(batches[i]); err != nil {
			log.Fatal(err)
		}
	}
	cpu0 := procCPU(cmd.Process.Pid)
	var next atomic.Int64
	var mu sync.Mutex
	var lat, lat1000 []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batches) {
					return
				}
				d, err := post(batches[i])
				if err != nil {
					log.Fatal(err)
				}
				mu.Lock()
				lat = append(lat, d)
				if batches[i].thousand {
					lat1000 = append(lat1000, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	cpu := procCPU(cmd.Process.Pid) - cpu0
	slices.Sort(lat)
	slices.Sort(lat1000)
	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	fmt.Printf("%s: %d events in %d batches (%d-%d events), %d clients, %d cores\n", name, total, len(batches), *minBatch, *maxBatch, *conc, numCPU())
	fmt.Printf("  %.0f events/s durable, server CPU %.2f µs/event (%.2f s), wall %.2f s\n",
		float64(total)/wall.Seconds(), cpu.Seconds()*1e6/float64(total), cpu.Seconds(), wall.Seconds())
	fmt.Printf("  batch latency p50 %s, p99 %s; batches of 950-1000 events (%d): p50 %s, p99 %s\n",
		pct(lat, 0.5).Round(time.Millisecond/10), pct(lat, 0.99).Round(time.Millisecond/10), len(lat1000),
		pct(lat1000, 0.5).Round(time.Millisecond/10), pct(lat1000, 0.99).Round(time.Millisecond/10))
}

// procCPU is the user+system CPU time of a process, from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

// ecdsaSignature is sendgrid-go's eventwebhook.RS.
type ecdsaSignature struct {
	R, S *big.Int
}

// verifySignature is sendgrid-go's eventwebhook.VerifySignature.
func verifySignature(publicKey *ecdsa.PublicKey, payload []byte, signature, timestamp string) (bool, error) {
	signatureBytes, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false, err
	}
	ecdsaSig := &ecdsaSignature{}
	if _, err := asn1.Unmarshal(signatureBytes, ecdsaSig); err != nil {
		return false, err
	}
	tsPayload := append([]byte(timestamp), payload...)
	h := sha256.New()
	h.Write(tsPayload)
	return ecdsa.Verify(publicKey, h.Sum(nil), ecdsaSig.R, ecdsaSig.S), nil
}

// runNaive is the naive receiver.
func runNaive(dir, keyFile string) {
	os.MkdirAll(dir, 0o700)
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		log.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(kb)))
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		log.Fatal(err)
	}
	key := pub.(*ecdsa.PublicKey)
	f, err := os.OpenFile(filepath.Join(dir, "events.ndjson"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ok, err := verifySignature(key, body, r.Header.Get("X-Twilio-Email-Event-Webhook-Signature"), r.Header.Get("X-Twilio-Email-Event-Webhook-Timestamp"))
		if err != nil || !ok {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		var events []map[string]interface{}
		if err := json.Unmarshal(body, &events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		_, err = f.Write(body)
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := f.Sync(); err != nil { // one fsync per request (concurrent ones may share a journal commit)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
