package notify

import (
	"testing"
	"time"
)

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"429 with Retry-After", &Error{Notifier: "slack-webhook", Status: 429, RetryAfter: 30 * time.Second, described: true},
			"slack-webhook: HTTP 429 Too Many Requests: rate limited, retry after 30s"},
		{"429 rate_limited body and Retry-After, said once", &Error{Notifier: "slack-webhook", Status: 429, SlackError: "rate_limited", RetryAfter: 30 * time.Second, described: true},
			"slack-webhook: HTTP 429 Too Many Requests: rate_limited, retry after 30s"},
		{"bot ratelimited", &Error{Notifier: "slack-bot", SlackError: "ratelimited", described: true},
			"slack-bot: ratelimited"},
		{"429 without anything", &Error{Notifier: "slack-webhook", Status: 429, described: true},
			"slack-webhook: HTTP 429 Too Many Requests: rate limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
