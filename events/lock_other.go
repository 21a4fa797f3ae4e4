//go:build !unix

package events

import (
	"fmt"
	"os"
)

// lockDir creates the lock file; without flock, keeping two writers apart
// is up to the operator on this platform.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events: lock: %w", err)
	}
	return f, nil
}
