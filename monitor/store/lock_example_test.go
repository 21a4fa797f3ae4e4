package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sgseq/sgseq/monitor/store"
)

// A writer takes the store's lease before it opens the store and keeps it
// for its whole run; a second writer is refused with the holder's identity.
func ExampleAcquire() {
	dir, _ := os.MkdirTemp("", "sgseq-example")
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "sgseq.db")
	ctx := context.Background()

	lease, err := store.Acquire(ctx, db, store.LockOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Release()
	st, err := store.Open(ctx, db)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	// Another writer (another process, in real life) is refused at once.
	_, err = store.Acquire(ctx, db, store.LockOptions{})
	var le *store.LockedError
	fmt.Println(errors.Is(err, store.ErrLocked), errors.As(err, &le) && le.Holder.PID == os.Getpid())
	// Output: true true
}
