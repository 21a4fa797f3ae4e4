package monitor

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTP server limits (see [Daemon.Run]).
const (
	// HTTPMaxConns caps the connections the HTTP server keeps open. At the
	// cap, a new connection closes the connection idle for longest (a
	// keep-alive connection between requests, or one that has not sent a
	// request yet), so idle clients can never starve /healthz and /readyz;
	// only when every connection is serving a request does a new one wait.
	HTTPMaxConns = 512
	// HTTPIdleTimeout closes a keep-alive connection idle this long.
	HTTPIdleTimeout = 60 * time.Second
	// HTTPReadHeaderTimeout bounds the time to send a request's headers.
	HTTPReadHeaderTimeout = 10 * time.Second
	// HTTPReadTimeout bounds the time to read a whole request.
	HTTPReadTimeout = 30 * time.Second
	// httpMaxHeaderBytes caps a request's headers.
	httpMaxHeaderBytes = 64 << 10
)

// newHTTPServer builds the daemon's HTTP server for h on ln: idle, header
// and read timeouts, and at most maxConns open connections (the returned
// listener, to pass to Serve, enforces it; see [HTTPMaxConns]).
func newHTTPServer(h http.Handler, ln net.Listener, maxConns int) (*http.Server, *connLimiter) {
	cl := newConnLimiter(ln, maxConns)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: HTTPReadHeaderTimeout,
		ReadTimeout:       HTTPReadTimeout,
		IdleTimeout:       HTTPIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ConnState:         cl.connState,
	}
	return srv, cl
}

// connLimiter is a listener that keeps at most max connections open. At
// the cap, Accept closes the oldest evictable connection (idle between
// requests, or new and silent) to make room; when every connection is
// active (serving a request) it waits for one to close.
type connLimiter struct {
	net.Listener
	max int

	mu     sync.Mutex
	cond   *sync.Cond
	open   int                    // connections accepted and not yet closed
	conns  map[net.Conn]*connInfo // by the *limitedConn handed to the server
	closed bool
}

// connInfo is the state of one tracked connection.
type connInfo struct {
	active bool      // serving a request
	since  time.Time // when it last became idle or new
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	if max < 1 {
		max = 1
	}
	l := &connLimiter{Listener: ln, max: max, conns: map[net.Conn]*connInfo{}}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// Accept waits for a connection and a free slot (making one by closing the
// oldest idle connection when at the cap).
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	for l.open >= l.max && !l.closed {
		if victim := l.oldestIdleLocked(); victim != nil {
			delete(l.conns, victim)
			l.mu.Unlock()
			victim.Close() // frees its slot
			l.mu.Lock()
			continue
		}
		l.cond.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		c.Close()
		return nil, net.ErrClosed
	}
	l.open++
	lc := &limitedConn{Conn: c, l: l}
	l.conns[lc] = &connInfo{since: time.Now()}
	l.mu.Unlock()
	return lc, nil
}

// Close closes the listener and wakes a waiting Accept.
func (l *connLimiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// Open returns the number of open connections.
func (l *connLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// oldestIdleLocked returns the connection idle (or new) for longest, nil
// when every connection is active.
func (l *connLimiter) oldestIdleLocked() net.Conn {
	var victim net.Conn
	var since time.Time
	for c, ci := range l.conns {
		if !ci.active && (victim == nil || ci.since.Before(since)) {
			victim, since = c, ci.since
		}
	}
	return victim
}

// connState is the server's ConnState hook: it tracks which connections
// are serving a request.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ci, ok := l.conns[c]
	switch st {
	case http.StateActive:
		if ok {
			ci.active = true
		}
	case http.StateIdle, http.StateNew:
		if ok {
			ci.active, ci.since = false, time.Now()
		}
	case http.StateHijacked, http.StateClosed:
		delete(l.conns, c)
	}
}

// release frees a closed connection's slot.
func (l *connLimiter) release(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.open--
	l.cond.Signal()
	l.mu.Unlock()
}

// limitedConn is a connection holding a slot of its connLimiter until it
// is closed.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
}

// Close closes the connection and frees its slot.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}
