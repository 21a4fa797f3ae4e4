package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Errors returned by the store; test them with errors.Is.
var (
	// ErrSchemaTooNew is returned by [Open] for a database written by a newer
	// sgseq whose schema this binary does not know.
	ErrSchemaTooNew = errors.New("database schema is newer than this sgseq knows")
	// ErrNotDatabase is returned by [Open] for a file that is not a SQLite
	// database, or is corrupt.
	ErrNotDatabase = errors.New("not a SQLite database, or corrupt")
	// ErrInvalid is returned for an argument the store refuses, such as an
	// unknown scope, an empty account or alert key, or a non-finite score.
	ErrInvalid = errors.New("invalid argument")
)

// DefaultPath returns the default store location:
// $XDG_STATE_HOME/sgseq/sgseq.db, else ~/.local/state/sgseq/sgseq.db.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "sgseq", "sgseq.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("store: default path: %w", err)
	}
	return filepath.Join(home, ".local", "state", "sgseq", "sgseq.db"), nil
}
