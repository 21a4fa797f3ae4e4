package monitor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/retrywait"
)

// maxRetryBackoff caps the wait before asking again for a piece that
// failed.
const maxRetryBackoff = time.Minute

// ErrIncomplete matches the error of a sweep that finished but left days
// missing because SendGrid kept failing in a way that may pass (5xx, 429,
// cut-off or reset bodies, timeouts, a failed subuser listing) after the
// client's retries and the sweep's own (sweep.retries). Everything else
// was fetched and stored; [SweepResult.Missing] lists what is missing, and
// the next sweep fetches it. See [IsIncomplete].
var ErrIncomplete = errors.New("some days could not be fetched")

// IsIncomplete reports whether err is only an incomplete fetch: every
// error joined in it matches [ErrIncomplete]. A sweep that also failed
// otherwise (store, notification, an API error that retrying cannot fix
// such as 401 or 403) is not merely incomplete.
func IsIncomplete(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case *incompleteError:
		return true
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, c := range errs {
			if !IsIncomplete(c) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return IsIncomplete(e.Unwrap())
	}
	return err == ErrIncomplete
}

// incompleteError marks a failure that may pass: it matches ErrIncomplete
// and unwraps to the cause.
type incompleteError struct{ err error }

func (e *incompleteError) Error() string        { return e.err.Error() }
func (e *incompleteError) Unwrap() error        { return e.err }
func (e *incompleteError) Is(target error) bool { return target == ErrIncomplete }

// transient reports whether a fetch error may pass if asked again later:
// not an invalid request, nor an API answer that says no (400, 401, 403,
// 404).
func transient(err error) bool {
	var ve *client.ValidationError
	if errors.As(err, &ve) {
		return false
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	return true // cut-off or non-JSON bodies, connection errors, timeouts
}

// retryWait is the jittered wait before the n-th new attempt (n ≥ 1) of
// a piece that failed: sweep.retry_backoff doubling, capped at a minute.
func (d *Daemon) retryWait(n int) time.Duration {
	return retrywait.Jitter(d.cfg.Sweep.RetryBackoff, maxRetryBackoff, n-1)
}

// retrying runs fn, and again after a failure that may pass, up to
// sweep.retries more times with a doubling wait from sweep.retry_backoff.
func (d *Daemon) retrying(ctx context.Context, what string, fn func() error) error {
	for n := 1; ; n++ {
		err := fn()
		if err == nil || ctx.Err() != nil || !transient(err) || n > d.cfg.Sweep.Retries {
			return err
		}
		wait := d.retryWait(n)
		d.logger.LogAttrs(ctx, slog.LevelWarn, what+" failed, trying again",
			slog.Int("attempt", n), slog.Duration("wait", wait), slog.Any(logKeyError, err))
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
}
