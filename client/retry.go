package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/sgseq/sgseq/internal/secret"
)

// newRetryClient builds the retrying client over hc (whose transport is the
// limiter). The ErrorHandler passes the last response through so that the
// caller can turn it into an *APIError once retries run out.
func newRetryClient(hc *http.Client, p RetryPolicy, logger *slog.Logger, key secret.Secret) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       slogAdapter{l: logger, key: key},
		RetryWaitMin: p.MinWait,
		RetryWaitMax: p.MaxWait,
		RetryMax:     p.MaxRetries,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// retryStatus reports whether a response status is worth retrying.
func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// checkRetry retries 429, 500, 502, 503, 504 and recoverable connection
// errors, and stops as soon as ctx ends. It returns a nil error for a status
// so that the last response reaches the caller.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		// Classifies *url.Error (TLS, scheme, redirects: no retry).
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return retryStatus(resp.StatusCode), nil
}

// backoff waits as long as the server asks (Retry-After, or X-RateLimit-Reset
// on a 429 or an exhausted budget) capped by max; otherwise a jittered
// exponential backoff between min and max.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	return backoffAt(time.Now(), minWait, maxWait, attempt, resp)
}

// backoffAt is backoff with the current time given.
func backoffAt(now time.Time, minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d := retryAfter(resp.Header, now); d > 0 {
			return min(d, maxWait)
		}
		if r, ok := parseRate(resp.Header, now); ok && !r.Reset.IsZero() &&
			(resp.StatusCode == http.StatusTooManyRequests || r.Remaining == 0) {
			d := r.Reset.Sub(now)
			if d <= 0 {
				return minWait
			}
			return min(d, maxWait)
		}
	}
	return jitter(minWait, maxWait, attempt)
}

// jitter returns a wait in [b/2, b] where b = min·2^attempt capped at max.
func jitter(minWait, maxWait time.Duration, attempt int) time.Duration {
	b := minWait
	for i := 0; i < attempt && b < maxWait; i++ {
		b *= 2
	}
	b = min(b, maxWait)
	if b <= 1 {
		return b
	}
	half := b / 2
	return half + rand.N(b-half+1)
}

// slogAdapter makes a *slog.Logger a retryablehttp.LeveledLogger. Every
// message is logged at debug level: retries are routine, and the final
// outcome reaches the caller as an error. Error and string values are
// scrubbed of the key, in case a transport error quotes a header.
type slogAdapter struct {
	l   *slog.Logger
	key secret.Secret
}

func (a slogAdapter) log(msg string, kv []any) {
	if a.l == nil || !a.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	clean := make([]any, len(kv))
	for i, v := range kv {
		switch v := v.(type) {
		case error:
			clean[i] = secret.Scrub(v.Error(), a.key)
		case string:
			clean[i] = secret.Scrub(v, a.key)
		case fmt.Stringer:
			clean[i] = secret.Scrub(v.String(), a.key)
		default:
			clean[i] = v
		}
	}
	a.l.Debug("retryablehttp: "+msg, clean...)
}

func (a slogAdapter) Error(msg string, kv ...any) { a.log(msg, kv) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.log(msg, kv) }
func (a slogAdapter) Debug(msg string, kv ...any) { a.log(msg, kv) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.log(msg, kv) }
