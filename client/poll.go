package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sgseq/sgseq/internal/retrywait"
)

// PollPolicy controls what the scores calls do when SendGrid answers 202
// Accepted (scores not computed yet): ask again after a jittered wait that
// starts at MinWait and doubles up to MaxWait, until the scores are ready,
// MaxAttempts or MaxTotalWait is used up, or the context ends.
type PollPolicy struct {
	// NoWait makes a 202 return at once with an error matching
	// [ErrScoresPending].
	NoWait bool
	// MinWait is the first wait between polls; it doubles up to MaxWait.
	// Each wait is drawn from the upper half of its step (jitter), so
	// concurrent pollers spread out.
	MinWait time.Duration
	// MaxWait caps the wait between polls.
	MaxWait time.Duration
	// MaxAttempts bounds the number of requests (the first one included);
	// 0 sets no bound on the count.
	MaxAttempts int
	// MaxTotalWait bounds the time spent waiting between polls of one call;
	// when the next wait would pass it the call returns [ErrScoresPending].
	// 0 sets no bound (the context still ends the wait).
	MaxTotalWait time.Duration
}

// DefaultPollPolicy returns the poll policy New uses: wait about 1s,
// doubling up to 1m, for at most 10m in all.
func DefaultPollPolicy() PollPolicy {
	return PollPolicy{MinWait: time.Second, MaxWait: time.Minute, MaxTotalWait: 10 * time.Minute}
}

// PollEvent describes one wait after a 202 Accepted. It is passed to the
// hook set with [WithPollHook] before the wait starts, so that a program
// can say what it is waiting for ("scores for 2026-12-03 not ready (202),
// asking again in 4s").
type PollEvent struct {
	// Method, Path and Route of the request, as in [RequestEvent].
	Method, Path, Route string
	// Date is the day asked for ("2026-12-03"), or the range of a Scores
	// call ("2026-11-27..2026-12-03").
	Date string
	// Attempt is the number of requests answered 202 so far.
	Attempt int
	// Wait is how long the client waits before asking again.
	Wait time.Duration
	// Waited is the time already spent waiting in this call.
	Waited time.Duration
}

// WithPollHook sets a function called before each wait after a 202, with
// the date and the wait. It must be safe for concurrent use and return
// quickly. The same event is logged at info level ("scores not ready
// (202), asking again").
func WithPollHook(fn func(PollEvent)) Option {
	return func(c *config) error {
		c.pollHook = fn
		return nil
	}
}

// pollDate renders the date parameters of a scores request.
func pollDate(r request) string {
	if d := r.query.Get("date"); d != "" {
		return d
	}
	from, to := r.query.Get("from"), r.query.Get("to")
	if from == to {
		return from
	}
	return from + ".." + to
}

// poll sends r until it is not answered 202, per the poll policy.
func (c *Client) poll(ctx context.Context, cc callConfig, r request, out any) error {
	p := c.s.poll
	var waited time.Duration
	var last *pendingError
	for attempt := 1; ; attempt++ {
		err := c.do(ctx, r, out)
		var pe *pendingError
		if !errors.As(err, &pe) {
			if err != nil && last != nil && ctx.Err() != nil {
				return fmt.Errorf("%w: %w", last, err)
			}
			return err
		}
		pe.attempts, pe.waited = attempt, waited
		last = pe
		if cc.noWait || (p.MaxAttempts > 0 && attempt >= p.MaxAttempts) {
			return pe
		}
		d := retrywait.Jitter(p.MinWait, p.MaxWait, attempt-1)
		if pe.retryAfter > 0 {
			d = min(max(pe.retryAfter, p.MinWait), p.MaxWait)
		}
		if p.MaxTotalWait > 0 && waited+d > p.MaxTotalWait {
			if waited >= p.MaxTotalWait {
				return pe
			}
			d = p.MaxTotalWait - waited
		}
		ev := PollEvent{Method: r.method, Path: r.path, Route: r.route, Date: pollDate(r), Attempt: attempt, Wait: d, Waited: waited}
		c.s.logger.LogAttrs(ctx, slog.LevelInfo, "scores not ready (202), asking again",
			slog.String("date", ev.Date), slog.String("path", r.path), slog.Int("attempt", attempt), slog.Duration("wait", d))
		if c.s.pollHook != nil {
			c.s.pollHook(ev)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", pe, ctx.Err())
		case <-t.C:
		}
		waited += d
	}
}

// pendingError is a 202 Accepted: scores not computed yet.
type pendingError struct {
	method, path string
	attempts     int
	waited       time.Duration
	retryAfter   time.Duration
}

func (e *pendingError) Error() string {
	s := e.method + " " + e.path + ": " + ErrScoresPending.Error()
	if e.attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.attempts)
		if e.waited > 0 {
			s += fmt.Sprintf(" over %s", e.waited.Round(time.Millisecond))
		}
	}
	return s
}

func (e *pendingError) Is(target error) bool { return target == ErrScoresPending }

// isPending reports whether resp is a 202 to a GET.
func isPending(method string, resp *http.Response) bool {
	return resp.StatusCode == http.StatusAccepted && method == http.MethodGet
}
