package secret

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
)

type timeoutErr struct{ msg string }

func (e timeoutErr) Error() string { return e.msg }
func (e timeoutErr) Timeout() bool { return true }

func TestScrubError(t *testing.T) {
	t.Parallel()
	const key = Secret("SG.abcdefgh.ijklmnop")
	sentinel := errors.New("sentinel")
	tests := []struct {
		name        string
		err         error
		wantSame    bool // returned unchanged
		wantIs      []error
		wantTimeout bool
		wantURLErr  bool
		wantURL     string
	}{
		{name: "nil", err: nil, wantSame: true},
		{name: "no secret", err: fmt.Errorf("wrap: %w", sentinel), wantSame: true, wantIs: []error{sentinel}},
		{name: "wrapped sentinel", err: fmt.Errorf("key %s: %w", key.Reveal(), sentinel), wantIs: []error{sentinel}},
		{name: "context", err: fmt.Errorf("call %s: %w", key.Reveal(), context.Canceled), wantIs: []error{context.Canceled}},
		{name: "deadline", err: fmt.Errorf("%s: %w", key.Reveal(), os.ErrDeadlineExceeded), wantIs: []error{os.ErrDeadlineExceeded}, wantTimeout: true},
		{name: "url error", err: &url.Error{Op: "Get", URL: "https://x/?k=" + key.Reveal(), Err: timeoutErr{"slow " + key.Reveal()}}, wantTimeout: true, wantURLErr: true, wantURL: "https://x/REDACTED"},
		{name: "url error, secret only inside", err: &url.Error{Op: "Post", URL: "https://x/", Err: fmt.Errorf("echo %s: %w", key.Reveal(), context.DeadlineExceeded)}, wantIs: []error{context.DeadlineExceeded}, wantTimeout: true, wantURLErr: true, wantURL: "https://x/"},
		{name: "wrapped url error", err: fmt.Errorf("failed to post: %w", &url.Error{Op: "Post", URL: "https://hooks.slack.com/services/" + key.Reveal(), Err: os.ErrDeadlineExceeded}), wantIs: []error{os.ErrDeadlineExceeded}, wantTimeout: true, wantURLErr: true, wantURL: "https://hooks.slack.com/REDACTED"},
		{name: "webhook url", err: &url.Error{Op: "Post", URL: "https://hooks.slack.com/services/T/B/" + key.Reveal(), Err: context.Canceled}, wantIs: []error{context.Canceled}, wantURLErr: true, wantURL: "https://hooks.slack.com/REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ScrubError(tt.err, key, "")
			if tt.wantSame {
				if got != tt.err {
					t.Fatalf("ScrubError changed an error without secrets: %v", got)
				}
			} else if got == tt.err {
				t.Fatal("ScrubError returned the original")
			}
			if got == nil {
				return
			}
			for _, s := range []string{got.Error(), fmt.Sprintf("%v", got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got)} {
				if strings.Contains(s, key.Reveal()) {
					t.Errorf("leaks the key: %s", s)
				}
			}
			// Nothing in the chain prints the key either.
			for e := got; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), key.Reveal()) {
					t.Errorf("chain element %T leaks the key: %s", e, e)
				}
			}
			for _, target := range tt.wantIs {
				if !errors.Is(got, target) {
					t.Errorf("errors.Is(%v) = false", target)
				}
			}
			var to interface{ Timeout() bool }
			if gotTimeout := errors.As(got, &to) && to.Timeout(); gotTimeout != tt.wantTimeout {
				t.Errorf("Timeout = %v, want %v", gotTimeout, tt.wantTimeout)
			}
			var ue *url.Error
			if errors.As(got, &ue) != tt.wantURLErr {
				t.Errorf("errors.As(*url.Error) = %v, want %v", !tt.wantURLErr, tt.wantURLErr)
			}
			if ue != nil && tt.wantURL != "" && ue.URL != tt.wantURL {
				t.Errorf("URL %q, want %q", ue.URL, tt.wantURL)
			}
		})
	}
}

func TestScrubCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"key SG.abc-DEF_1.xyz failed", "key REDACTED failed"},
		{"token xoxb-123-abc", "token REDACTED"},
		{`post "https://hooks.slack.com/services/T/B/X": EOF`, `post "REDACTED": EOF`},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := ScrubCredentials(tt.in); got != tt.want {
			t.Errorf("ScrubCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func ExampleScrubError() {
	key := Secret("SG.example-key")
	err := fmt.Errorf("GET /v3/scores?key=%s: %w", key.Reveal(), context.Canceled)
	err = ScrubError(err, key)
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// GET /v3/scores?key=REDACTED: context canceled
	// true
}
