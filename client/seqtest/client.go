package seqtest

import (
	"time"

	"github.com/sgseq/sgseq/client"
)

// Client returns a client for this server: TestAPIKey, the server's URL and
// clock, and short waits so tests stay fast (retries: 8, 1ms doubling up to
// a 2s cap, which only a rate-limit reset reaches; 202 polling: 1ms up to
// 10ms, 20 attempts). opts are applied after these and may override them.
func (s *Server) Client(opts ...client.Option) (*client.Client, error) {
	base := []client.Option{
		client.WithBaseURL(s.URL),
		client.WithNow(s.now),
		client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 8, MinWait: time.Millisecond, MaxWait: 2 * time.Second}),
		client.WithPollPolicy(client.PollPolicy{MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond, MaxAttempts: 20}),
	}
	return client.New(TestAPIKey, append(base, opts...)...)
}
