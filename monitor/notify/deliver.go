package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sgseq/sgseq/internal/secret"
)

// postFunc posts one payload (a reply in threadTS's thread when set and
// the sink has threads) and returns the posted message's ts when known.
type postFunc func(ctx context.Context, p Payload, threadTS string) (ts string, err error)

// deliver posts the payloads of m in order, at most one per c.pace. Each
// message Slack accepts is delivered at once: its keys are returned and
// m.Accepted records it before the next post. A 429 is retried after its
// Retry-After within c.retryBudget. A failure that would repeat for the
// next message (rate limit past the budget, auth, channel, disabled
// webhook, not Slack's answer, 5xx, no answer, timeout, cancel) stops the
// run; a failure specific to one message skips it (a digest's first message
// stops the digest). A post in flight when ctx ends gets Grace to finish,
// and is recorded.
func deliver(ctx context.Context, name string, c *config, m Message, post postFunc, capt *capture, secrets ...secret.Secret) ([]string, error) {
	payloads := buildPayloads(m, c)
	log := c.logger.With(logKeyNotifier, name)
	pctx, release := graceContext(ctx, Grace)
	defer release()
	var delivered []string
	var errs []error
	sent, stopped := 0, false
	budget := c.retryBudget
	var lastPost time.Time
	threadTS := ""
	stop := func(i int, err error) {
		errs = append(errs, err)
		stopped = true
		if rest := len(payloads) - i; rest > 0 {
			log.WarnContext(ctx, "slack delivery stopped; the rest goes out on a later run", "remaining", rest)
		}
	}
	for i, p := range payloads {
		if !lastPost.IsZero() {
			if err := sleep(ctx, c.pace-time.Since(lastPost)); err != nil {
				stop(i, newError(name, err, response{}, secrets...))
				break
			}
		}
		if err := ctx.Err(); err != nil {
			stop(i, newError(name, err, response{}, secrets...))
			break
		}
		thread := ""
		if p.Continuation {
			thread = threadTS
		}
		var e *Error
		for {
			lastPost = time.Now()
			capt.reset()
			ts, err := post(pctx, p, thread)
			if err == nil {
				if p.Digest && !p.Continuation {
					threadTS = ts
				}
				e = nil
				break
			}
			e = newError(name, err, capt.last(), secrets...)
			if !e.Is(ErrRateLimited) || ctx.Err() != nil || c.retryBudget == 0 {
				break
			}
			wait := max(e.RetryAfter, time.Second)
			if wait > budget {
				e.budgetSpent = true
				break
			}
			budget -= wait
			log.InfoContext(ctx, "slack rate limited; retrying", logKeyMessage, i+1, "retry_after", wait.String())
			if err := sleep(ctx, wait); err != nil {
				break // ctx ended while waiting: e says rate limited
			}
		}
		if e == nil {
			sent++
			delivered = append(delivered, p.Keys...)
			log.DebugContext(ctx, "slack message sent", logKeyMessage, i+1, logKeyAlerts, len(p.Keys), logKeyDigest, p.Digest)
			if m.Accepted != nil {
				if err := m.Accepted(pctx, Receipt{Keys: p.Keys, TierChanges: p.TierChanges}); err != nil {
					stop(i+1, fmt.Errorf("%s: recording a delivered message: %w", name, err))
					break
				}
			}
			continue
		}
		log.WarnContext(ctx, "slack message not delivered", logKeyMessage, i+1, logKeyAlerts, len(p.Keys), logKeyDigest, p.Digest, logKeyError, e.Error())
		// Continuations without their digest would read out of context:
		// the whole digest goes out again on the next run.
		if e.fatal() || ctx.Err() != nil || (p.Digest && !p.Continuation) {
			stop(i+1, e)
			break
		}
		errs = append(errs, e)
	}
	switch {
	case len(errs) == 0:
		return delivered, nil
	case len(payloads) == 1:
		return delivered, errs[0]
	}
	var joined = errs[0]
	if len(errs) > 1 {
		joined = deliveryErrors(errs)
	}
	how := ""
	if stopped {
		how = ", stopped"
	}
	return delivered, fmt.Errorf("%s: delivered %d of %d messages%s: %w", name, sent, len(payloads), how, joined)
}

// graceContext returns a context for posts that is not cancelled with ctx
// at once but grace later, so that a message in flight when the process is
// asked to stop completes and is recorded instead of being sent again.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	pctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(context.Cause(ctx))
		case <-pctx.Done():
		}
	})
	return pctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// sleep waits d (nothing when d <= 0) or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// capture is an http.RoundTripper that remembers the status, Retry-After,
// content type and the start of the body of the last response, which
// slack-go discards (a webhook's "ok" or "no_service", a proxy's HTML).
type capture struct {
	base http.RoundTripper
	mu   sync.Mutex
	resp response
}

// captureClient returns a copy of hc whose transport records responses.
func captureClient(hc *http.Client) (*http.Client, *capture) {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := &capture{base: base}
	cp := *hc
	cp.Transport = c
	return &cp, c
}

func (c *capture) reset() {
	c.mu.Lock()
	c.resp = response{}
	c.mu.Unlock()
}

func (c *capture) last() response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resp
}

// bodyHead is how much of a response body is kept for errors.
const bodyHead = 512

// RoundTrip implements http.RoundTripper.
func (c *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	r := response{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
		contentType: resp.Header.Get("Content-Type"), length: resp.ContentLength}
	if resp.Body != nil {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, bodyHead))
		r.body = string(head)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	}
	c.mu.Lock()
	c.resp = r
	c.mu.Unlock()
	return resp, nil
}
