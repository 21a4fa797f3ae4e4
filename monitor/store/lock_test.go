package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/monitor/store"
)

// TestAcquireExclusive: a second Acquire on a held store fails at once
// with a *LockedError naming this process, host and start time; after
// Release the lease can be taken again, and a stale lock file left by a
// released holder does not block.
func TestAcquireExclusive(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new", "sgseq.db")
	ctx := context.Background()
	since := time.Date(2026, 11, 8, 6, 0, 0, 0, time.UTC)
	l1, err := store.Acquire(ctx, db, store.LockOptions{Now: func() time.Time { return since }})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := store.Holder{PID: os.Getpid(), Host: host, Since: since}
	if l1.Holder() != want {
		t.Errorf("Holder() = %+v, want %+v", l1.Holder(), want)
	}
	fi, err := os.Stat(store.LockPath(db))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, want 0600", fi.Mode().Perm())
	}

	_, err = store.Acquire(ctx, db, store.LockOptions{})
	var le *store.LockedError
	if !errors.As(err, &le) || !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Acquire: %v, want a *LockedError", err)
	}
	if le.Holder != want {
		t.Errorf("LockedError.Holder = %+v, want %+v", le.Holder, want)
	}
	msg := err.Error()
	for _, part := range []string{"store " + db + " is in use by pid " + strconv.Itoa(os.Getpid()), " on " + host, " since 2026-11-08T06:00:00Z"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q lacks %q", msg, part)
		}
	}

	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	select {
	case <-l1.Lost():
	default:
		t.Error("Lost() not closed after Release")
	}
	l2, err := store.Acquire(ctx, db, store.LockOptions{})
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	defer l2.Release()
	select {
	case <-l2.Lost():
		t.Error("Lost() closed while held")
	default:
	}
}

// TestAcquireWaits: with a Wait, Acquire reports the holder through OnWait
// and takes the lease as soon as it is released; a context that ends
// first stops the wait.
func TestAcquireWaits(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sgseq.db")
	ctx := context.Background()
	l1, err := store.Acquire(ctx, db, store.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan store.Holder, 1)
	got := make(chan error, 1)
	go func() {
		l2, err := store.Acquire(ctx, db, store.LockOptions{Wait: time.Minute, Poll: 5 * time.Millisecond,
			OnWait: func(h store.Holder) { waiting <- h }})
		if err == nil {
			err = l2.Release()
		}
		got <- err
	}()
	if h := <-waiting; h.PID != os.Getpid() {
		t.Errorf("OnWait holder %+v, want pid %d", h, os.Getpid())
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Acquire: %v", err)
	}

	l3, err := store.Acquire(ctx, db, store.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Release()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		_, err := store.Acquire(cctx, db, store.LockOptions{Wait: time.Hour, Poll: 5 * time.Millisecond,
			OnWait: func(store.Holder) { cancel() }})
		got <- err
	}()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestAcquireUnknownHolder: a lock file whose identity cannot be read
// (garbage) still refuses, naming "an unknown process".
func TestAcquireUnknownHolder(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sgseq.db")
	l1, err := store.Acquire(context.Background(), db, store.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Release()
	if err := os.WriteFile(store.LockPath(db), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = store.Acquire(context.Background(), db, store.LockOptions{})
	if err == nil || !strings.Contains(err.Error(), "in use by an unknown process") {
		t.Fatalf("Acquire: %v, want in use by an unknown process", err)
	}
}
