package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sgseq/sgseq/internal/secret"
)

// Limits on what a config error shows: a file with a million unknown keys,
// or a 1 MB value, must not print a million lines or a megabyte.
const (
	// MaxConfigProblems is the most problems [Load] and [Parse] return;
	// beyond it one last error says how many more there were.
	MaxConfigProblems = 100
	// maxShown is the most bytes of a value or key quoted in an error.
	maxShown = 64
	// maxMessage is the most bytes of one problem's message.
	maxMessage = 512
	// MaxConfigSize is the largest config file [Load] reads (a real one is
	// a few kilobytes; a huge one would only cost memory).
	MaxConfigSize = 1 << 20
)

// readConfigFile reads the config file at path, refusing one larger than
// [MaxConfigSize].
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxConfigSize {
		return nil, &FieldError{File: path, Err: fmt.Errorf("%w: file larger than %d bytes: not a config file", ErrInvalid, MaxConfigSize)}
	}
	return data, nil
}

// ErrTooManyProblems is matched (errors.Is) by the last error of a list
// cut at [MaxConfigProblems].
var ErrTooManyProblems = errors.New("more problems not shown")

// moreProblems stands for the problems left out of a capped list.
type moreProblems struct {
	file string
	n    int
}

func (e *moreProblems) Error() string {
	prefix := ""
	if e.file != "" {
		prefix = e.file + ": "
	}
	return fmt.Sprintf("%s%d more problem(s) not shown (fix the ones above first)", prefix, e.n)
}

func (e *moreProblems) Is(target error) bool { return target == ErrTooManyProblems }

// quoted is s quoted as %q does, cut to maxShown bytes (at a rune
// boundary) with its full length noted: a value is never echoed at
// unbounded length.
func quoted(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	return strconv.Quote(cutUTF8(s, maxShown)) + fmt.Sprintf("… (%d bytes)", len(s))
}

// shortKey is a key name for a field path, cut like quoted.
func shortKey(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return cutUTF8(s, maxShown) + "…"
}

// cutText cuts an error message to max bytes.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cutUTF8(s, max) + fmt.Sprintf("… (%d bytes in all)", len(s))
}

// cutUTF8 returns at most n bytes of s, not splitting a rune.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// permWarning returns a warning when the config file at path holds
// secrets (the fields named) and can be read by its group or others, ""
// otherwise.
func permWarning(path string, fields []string) string {
	if len(fields) == 0 {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil || !secret.ReadableByOthers(fi) {
		return ""
	}
	return fmt.Sprintf("%s holds secrets (%s) and is readable by group or others (mode %04o): chmod 600 %s, or take them from the environment with ${VAR}",
		path, strings.Join(fields, ", "), fi.Mode().Perm(), path)
}
