package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgseq/sgseq/monitor/store"
)

// envLockChild carries the arguments of a child sgseq process started by
// lockStart (space-separated).
const envLockChild = "SGSEQ_TEST_LOCK_CHILD"

// TestLockChildProcess is not a test: it is the sgseq process that
// lockStart starts, running the arguments in $SGSEQ_TEST_LOCK_CHILD.
func TestLockChildProcess(t *testing.T) {
	args := os.Getenv(envLockChild)
	if args == "" {
		t.Skip("helper process for TestOneWriterPerStore")
	}
	os.Exit(run(context.Background(), strings.Fields(args), os.Stdout, os.Stderr))
}

// lockChild is a running child sgseq process.
type lockChild struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	exited         chan struct{} // closed when the child has exited
	err            error         // Wait's error, set before exited closes
}

// running reports whether the child is still running.
func (c *lockChild) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// lockStart starts "sgseq args..." as a child process with the test's
// environment (SENDGRID_*, SGSEQ_DB, SLACK_*).
func lockStart(t *testing.T, args ...string) *lockChild {
	t.Helper()
	c := &lockChild{exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestLockChildProcess$")
	c.cmd.Env = append(os.Environ(), envLockChild+"="+strings.Join(args, " "))
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		if c.running() {
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

// wait returns the child's exit code.
func (c *lockChild) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.exited:
		var ee *exec.ExitError
		if c.err != nil && !errors.As(c.err, &ee) {
			t.Fatal(c.err)
		}
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(2 * time.Minute):
		t.Fatalf("child %v did not exit; stderr:\n%s", c.cmd.Args, c.stderr.String())
	}
	return -1
}

// TestOneWriterPerStore: while one "sgseq check" holds the store (its
// first Slack message is held by a slow webhook), a second check exits 2
// naming the holder, status and history still read, a check --lock-wait
// queues behind it, and the channel gets every message once.
func TestOneWriterPerStore(t *testing.T) {
	db := monSim(t)
	var (
		mu      sync.Mutex
		posts   []string
		first   = make(chan struct{})
		release = make(chan struct{})
		once    sync.Once
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(body))
		mu.Unlock()
		once.Do(func() {
			close(first)
			select { // hold the first message until the others have tried
			case <-release:
			case <-r.Context().Done():
			case <-time.After(2 * time.Minute):
			}
		})
		io.WriteString(w, "ok")
	}))
	defer hook.Close()
	t.Setenv("SLACK_WEBHOOK_URL", hook.URL+"/services/T0/B0/lock")

	a := lockStart(t, "check")
	select {
	case <-first:
	case <-a.exited:
		t.Fatalf("first check ended before notifying: %v\nstderr:\n%s", a.err, a.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("first check sent nothing; stderr:\n%s", a.stderr.String())
	}

	// Refused at once, naming the holder.
	b := lockStart(t, "check")
	if code := b.wait(t); code != 2 {
		t.Errorf("second check: exit %d, want 2\nstderr:\n%s", code, b.stderr.String())
	}
	host, _ := os.Hostname()
	want := "sgseq: store " + db + " is in use by pid " + strconv.Itoa(a.cmd.Process.Pid) + " on " + host + " since "
	if !strings.Contains(b.stderr.String(), want) {
		t.Errorf("second check's stderr lacks %q:\n%s", want, b.stderr.String())
	}

	// Readers do not take the lease.
	if out, stderr, err := cliRun(t, "status", "-o", "json"); err != nil || !strings.Contains(out, "garden-supply") {
		t.Errorf("status while the store is held: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := cliRun(t, "history", "garden-supply", "--days", "3"); err != nil {
		t.Errorf("history while the store is held: %v\n%s", err, stderr)
	}

	// Queued: it waits for the holder, then runs with nothing left to send.
	c := lockStart(t, "check", "--lock-wait", "2m")
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(c.stderr.String(), "store in use, waiting") {
		if time.Now().After(deadline) || !c.running() {
			t.Fatalf("queued check did not wait; stderr:\n%s", c.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(c.stderr.String(), "holder=\"pid "+strconv.Itoa(a.cmd.Process.Pid)+" on "+host) {
		t.Errorf("queued check's log does not name the holder:\n%s", c.stderr.String())
	}
	close(release)
	if code := a.wait(t); code != 1 {
		t.Errorf("first check: exit %d, want 1 (alerts firing)\nstderr:\n%s", code, a.stderr.String())
	}
	if code := c.wait(t); code != 1 {
		t.Errorf("queued check: exit %d, want 1 (alerts still firing)\nstderr:\n%s", code, c.stderr.String())
	}
	if !strings.Contains(c.stdout.String(), "notified 0") {
		t.Errorf("queued check notified again: %s", c.stdout.String())
	}

	mu.Lock()
	defer mu.Unlock()
	if len(posts) == 0 {
		t.Fatal("no message reached the channel")
	}
	seen := map[string]bool{}
	for _, p := range posts {
		if seen[p] {
			t.Errorf("message sent twice: %.200s", p)
		}
		seen[p] = true
	}
}

// TestWritersRefuseAHeldStore: backfill, monitor and check exit 2 naming
// the holder while another process (here: this one) holds the store's
// lease, and run once it is released.
func TestWritersRefuseAHeldStore(t *testing.T) {
	db := monSim(t)
	lease, err := store.Acquire(context.Background(), db, store.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "store " + db + " is in use by pid " + strconv.Itoa(os.Getpid()) + " on "
	for _, args := range [][]string{
		{"backfill", "--days", "3"},
		{"monitor"},
		{"check", "--lock-wait", "50ms"},
	} {
		_, _, err := cliRun(t, args...)
		if code := monExitCode(err); code != 2 || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: exit %d, %v; want 2 and %q", args, code, err, want)
		}
	}
	if err := lease.Release(); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := cliRun(t, "backfill", "--days", "3"); err != nil {
		t.Errorf("backfill after release: %v\n%s", err, stderr)
	}
}
