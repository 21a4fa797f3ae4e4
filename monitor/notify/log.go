package notify

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Log writes the plain-text rendering of each Message to a writer: the sink
// for runs without Slack.
type Log struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Notifier = (*Log)(nil)

// NewLog returns a notifier writing [Text] of each non-empty Message to w
// (nil: discard).
func NewLog(w io.Writer) *Log {
	if w == nil {
		w = io.Discard
	}
	return &Log{w: w}
}

// Name returns "log".
func (l *Log) Name() string { return NameLog }

// Notify writes Text(m) followed by a blank line and reports every alert
// delivered. An empty Message writes nothing. A write error delivers none.
// Message.Accepted is not called: the caller records what Notify returns.
func (l *Log) Notify(ctx context.Context, m Message) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", NameLog, err)
	}
	if len(m.Alerts) == 0 && len(m.TierChanges) == 0 {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.w, Text(m)+"\n"); err != nil {
		return nil, fmt.Errorf("%s: write: %w", NameLog, err)
	}
	return keysOf(m.Alerts), nil
}
