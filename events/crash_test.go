//go:build unix

package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "SGSEQ_EVENTS_CRASH_CHILD"

// TestCrashChild is the receiver process of TestCrashDuringPosts: it
// serves the store in $SGSEQ_EVENTS_CRASH_CHILD until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("child process of TestCrashDuringPosts")
	}
	var rc *Receiver
	s, err := Open(dir, Options{SegmentSize: 256 << 10, OnCommit: func(n int, d time.Duration) { rc.ObserveCommit(n, d) }})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	if rc, err = NewReceiver(s, ReceiverConfig{Insecure: true}); err != nil {
		fmt.Println("receiver:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: rc}
	ln, err := netListen()
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv.Serve(ln)
}

// TestCrashDuringPosts kills the receiver with SIGKILL while eight clients
// post batches (with retries of earlier events mixed in), restarts it,
// three times, and checks that every event that was answered 200 is in
// the store exactly once.
func TestCrashDuringPosts(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	var mu sync.Mutex
	next := 0
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "listening on ") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child said %q, %v", line, err)
		}
		url := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
		stop := make(chan struct{})
		firstAck := make(chan struct{})
		var ackOnce sync.Once
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				client := &http.Client{Timeout: 10 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					var ids []string
					for range 20 + rng.IntN(40) {
						if next > 0 && rng.IntN(4) == 0 {
							ids = append(ids, fmt.Sprintf("ev-%d", rng.IntN(next))) // a retry
						} else {
							ids = append(ids, fmt.Sprintf("ev-%d", next))
							next++
						}
					}
					mu.Unlock()
					var objs []string
					for i, id := range ids {
						objs = append(objs, string(event(fmt.Sprintf("u%d@x.com", i), "delivered", 1700000000+int64(i), id)))
					}
					resp, err := client.Post(url+"/", "application/json", bytes.NewReader([]byte("["+strings.Join(objs, ",")+"]\r\n")))
					if err != nil {
						return // killed
					}
					resp.Body.Close()
					if resp.StatusCode == 200 {
						mu.Lock()
						for _, id := range ids {
							acked[id] = true
						}
						mu.Unlock()
						ackOnce.Do(func() { close(firstAck) })
					}
				}
			}()
		}
		// Kill at a random moment once posts are being acknowledged.
		select {
		case <-firstAck:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatal("no batch acknowledged within a minute")
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()
	}
	s := mustOpen(t, dir, Options{})
	s.Close()
	count := map[string]int{}
	for _, line := range exported(t, dir) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stored event is not JSON: %v", err)
		}
		count[m["sg_event_id"].(string)]++
	}
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged")
	}
	for id := range acked {
		if count[id] != 1 {
			t.Errorf("acknowledged %s stored %d times", id, count[id])
		}
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	t.Logf("%d events acknowledged, %d stored", len(acked), len(count))
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
