package notify

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		w         func(*bytes.Buffer) *Log
		m         Message
		ctx       func() context.Context
		delivered int
		wantErr   string
		wantOut   string
	}{
		{name: "writes Text", w: func(b *bytes.Buffer) *Log { return NewLog(b) }, m: smallMessage(), delivered: 4, wantOut: Text(smallMessage()) + "\n"},
		{name: "empty writes nothing", w: func(b *bytes.Buffer) *Log { return NewLog(b) }, m: Message{Date: testDay}},
		{name: "write error delivers none", w: func(*bytes.Buffer) *Log { return NewLog(failWriter{}) }, m: smallMessage(), wantErr: "log: write: disk full"},
		{name: "nil writer discards", w: func(*bytes.Buffer) *Log { return NewLog(nil) }, m: smallMessage(), delivered: 4},
		{name: "canceled", w: func(b *bytes.Buffer) *Log { return NewLog(b) }, m: smallMessage(), wantErr: "canceled",
			ctx: func() context.Context { c, cancel := context.WithCancel(context.Background()); cancel(); return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			l := tt.w(&buf)
			delivered, err := l.Notify(ctx, tt.m)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(delivered) != tt.delivered {
				t.Errorf("delivered %v, want %d", delivered, tt.delivered)
			}
			if buf.String() != tt.wantOut {
				t.Errorf("output = %q, want %q", buf.String(), tt.wantOut)
			}
			if l.Name() != NameLog {
				t.Errorf("Name() = %q", l.Name())
			}
		})
	}
}
