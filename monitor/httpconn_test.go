package monitor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHTTPIdleConnectionsCannotStarveProbes: 2,000 idle keep-alive
// connections and 100 connections that never send a request, past the
// server's connection cap, do not stop /healthz and /readyz from
// answering on a new connection; the server keeps at most HTTPMaxConns
// open, closing the connections idle for longest.
func TestHTTPIdleConnectionsCannotStarveProbes(t *testing.T) {
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	cfg := testConfig()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Schedule = "0 0 1 1 *" // no scheduled sweep during the test
	d := newTestDaemon(t, cfg, srv, openTestStore(t), clk, &recorder{}, WithoutPoolDetector())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var cl *connLimiter
	for cl = d.httpConns.Load(); cl == nil; cl = d.httpConns.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	addr := cl.Addr().String()

	const idle, silent = 2000, 100
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle + silent {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i >= idle {
			continue // connected, never sends a request
		}
		// One request, then the connection stays open, idle (keep-alive).
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: sgseq\r\n\r\n"); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: /healthz %s", i, resp.Status)
		}
	}

	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	for _, path := range []string{"/healthz", "/readyz", "/healthz"} {
		resp, err := probe.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("%s with %d idle connections: %v", path, idle+silent, err)
		}
		resp.Body.Close()
		// /readyz answers 503 (no sweep yet): it answered.
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s = %s", path, resp.Status)
		}
	}
	if n := cl.Open(); n > HTTPMaxConns {
		t.Errorf("server holds %d connections, cap %d", n, HTTPMaxConns)
	}
	// The oldest idle connection was closed by the server to make room.
	conns[0].SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := conns[0].Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("oldest idle connection: read %v, want EOF (closed by the server)", err)
	}
}

// TestHTTPServerTimeouts: the server construction sets the idle, header
// and read timeouts.
func TestHTTPServerTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv, cl := newHTTPServer(http.NotFoundHandler(), ln, 7)
	if srv.IdleTimeout != HTTPIdleTimeout || srv.ReadHeaderTimeout != HTTPReadHeaderTimeout || srv.ReadTimeout != HTTPReadTimeout || srv.ConnState == nil {
		t.Errorf("server %+v lacks its timeouts or connection tracking", srv)
	}
	if cl.max != 7 {
		t.Errorf("cap %d, want 7", cl.max)
	}
}

// TestConnLimiterWaitsWhenAllActive: with every connection serving a
// request, a new connection evicts none of them: the busy requests all
// complete, the new one is served once a slot frees, and the cap is never
// exceeded while a handler runs.
func TestConnLimiterWaitsWhenAllActive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const max = 2
	var cl *connLimiter
	entered := make(chan int, 3)
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- cl.Open()
		<-release
		io.WriteString(w, "ok")
	})
	srv, cl := newHTTPServer(h, ln, max)
	go srv.Serve(cl)
	defer srv.Close()

	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	results := make(chan error, 3)
	get := func() {
		resp, err := hc.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		results <- err
	}
	go get()
	go get()
	for range max {
		if n := <-entered; n > max {
			t.Errorf("%d connections open, cap %d", n, max)
		}
	}
	go get() // waits for a slot: both connections are busy, none is evicted
	close(release)
	if n := <-entered; n > max {
		t.Errorf("%d connections open, cap %d", n, max)
	}
	for range 3 {
		if err := <-results; err != nil {
			t.Errorf("request: %v", err)
		}
	}
}
