package rating

import (
	"errors"
	"fmt"
)

// Reasons a line or event is skipped. Every [ParseError] wraps one of them;
// test with errors.Is. Their texts are the reason keys of
// [Summary.SkippedBy].
var (
	ErrSyntax           = errors.New("bad json")
	ErrTruncated        = errors.New("truncated")
	ErrNotObject        = errors.New("not an event object")
	ErrMissingEmail     = errors.New("missing email")
	ErrMissingTimestamp = errors.New("missing timestamp")
	ErrBadTimestamp     = errors.New("bad timestamp")
	ErrMissingEvent     = errors.New("missing event")
	ErrUnknownEvent     = errors.New("unknown event type")
	ErrFieldCount       = errors.New("wrong number of csv fields")
	ErrCSV              = errors.New("bad csv")
	ErrCSVHeader        = errors.New("bad csv header")
	// ErrRecordTooLarge: a line (line-oriented JSON), an object (JSON
	// that spans lines) or a CSV record longer than
	// Options.MaxRecordSize; it is skipped without being held in memory.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrInputBroken: the input broke off or is corrupt (a truncated or
	// damaged .gz); the events before it are kept and reading that input
	// stops. Its line is where it stopped.
	ErrInputBroken = errors.New("input broken off")
)

// ParseError reports a malformed line or event and where it is: the input
// name (file path, or "-" for stdin), the 1-based line, and the field when
// one field is to blame.
type ParseError struct {
	File  string // input name
	Line  int    // 1-based line (of the row's start in CSV)
	Field string // "" when the whole line is bad
	Err   error  // one of the Err* reasons above, possibly wrapped
}

// Error returns "file:line: field: reason" (without ": field" when the
// whole line is bad).
func (e *ParseError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns the reason.
func (e *ParseError) Unwrap() error { return e.Err }

// reasonOf returns the summary key for err: the text of the first Err*
// sentinel it wraps.
func reasonOf(err error) string {
	for _, s := range []error{ErrSyntax, ErrTruncated, ErrNotObject, ErrMissingEmail, ErrMissingTimestamp,
		ErrBadTimestamp, ErrMissingEvent, ErrUnknownEvent, ErrFieldCount, ErrCSVHeader, ErrCSV, ErrRecordTooLarge, ErrInputBroken} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "error"
}
