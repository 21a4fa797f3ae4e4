package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/sgseq/sgseq/internal/retrywait"
	"github.com/sgseq/sgseq/internal/secret"
)

// RetryPolicy controls how GET requests are retried after a 429, 500, 502,
// 503, 504, a connection error, or a 2xx answer whose body could not be
// read in full or is not JSON (see [BodyError]). Non-GET requests are never
// retried.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0
	// disables retries.
	MaxRetries int
	// MinWait is the base of the jittered exponential backoff.
	MinWait time.Duration
	// MaxWait caps every wait, including one asked for by Retry-After or
	// X-RateLimit-Reset.
	MaxWait time.Duration
	// AttemptTimeout bounds one attempt, from sending the request to the
	// last byte of the body; an attempt that outlasts it (a body that
	// stalls half-way, say) is retried. 0 sets no bound (the context and
	// the http.Client's Timeout still apply).
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy returns the retry policy New uses: 4 retries, waits
// from 1s up to 30s, 60s per attempt.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 4, MinWait: time.Second, MaxWait: 30 * time.Second, AttemptTimeout: time.Minute}
}

// newRetryClient builds the retrying client over hc (whose transport is the
// limiter). The ErrorHandler passes the last response through so that the
// caller can turn it into an *APIError once retries run out, and counts the
// attempts of a [BodyError].
func newRetryClient(hc *http.Client, p RetryPolicy, logger *slog.Logger, key secret.Secret) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       slogAdapter{l: logger, key: key},
		RetryWaitMin: p.MinWait,
		RetryWaitMax: p.MaxWait,
		RetryMax:     p.MaxRetries,
		CheckRetry:   bodyChecker{key: key, logger: logger}.checkRetry,
		Backoff:      backoff,
		ErrorHandler: func(resp *http.Response, err error, attempts int) (*http.Response, error) {
			var be *BodyError
			if errors.As(err, &be) {
				be.Attempts = attempts
			}
			return resp, err
		},
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

// bodyChecker is the CheckRetry of the retrying clients.
type bodyChecker struct {
	key    secret.Secret
	logger *slog.Logger
}

// checkRetry retries 429, 500, 502, 503, 504, recoverable connection errors
// and, for GET, a 2xx body that cannot be read in full or is not JSON; it
// stops as soon as ctx ends. It returns a nil error for a status so that
// the last response reaches the caller, and a *BodyError for a bad body.
//
// The body of a GET 2xx (except 202 and 204) is read here, inside the retry
// loop, and replaced by the bytes read: a page is only ever decoded whole.
func (b bodyChecker) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		// Classifies *url.Error (TLS, scheme, redirects: no retry).
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if retryStatus(resp.StatusCode) {
		return true, nil
	}
	if resp.Request == nil || resp.Request.Method != http.MethodGet || !wantsJSONBody(resp.StatusCode) {
		return false, nil
	}
	be := readBody(resp, b.key)
	if be == nil {
		return false, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(be.Err, cerr) {
			be.Err = fmt.Errorf("%w (%w)", be.Err, cerr)
		}
		return false, be
	}
	b.logger.LogAttrs(ctx, slog.LevelDebug, "sgseq: bad response body, retrying",
		slog.String("path", resp.Request.URL.Path), slog.String("error", be.Error()))
	return !be.tooLarge, be
}

// wantsJSONBody reports whether a GET answered code must carry a JSON body.
func wantsJSONBody(code int) bool {
	return code >= 200 && code < 300 && code != http.StatusAccepted && code != http.StatusNoContent
}

// BodyError is a 2xx answer to a GET whose body could not be read in full
// or is not JSON: cut off by a proxy (with or without a matching
// Content-Length), a connection reset mid-body, a body that outlasted the
// attempt timeout, an HTML page. Such answers are retried like a 5xx,
// within the same [RetryPolicy]; a BodyError is what is left when the
// retries run out. A partial body is never decoded.
type BodyError struct {
	// Method and Path of the request (the path without query string).
	Method, Path string
	// StatusCode is the HTTP status of the answer, e.g. 200.
	StatusCode int
	// ContentType is the Content-Type header of the answer.
	ContentType string
	// ContentLength is the announced length, or -1 when unknown.
	ContentLength int64
	// Read is the number of body bytes received.
	Read int64
	// Offset is the byte offset where JSON decoding stopped, or -1 when
	// the body could not be read in full.
	Offset int64
	// Attempts is the number of attempts made, the first one included.
	Attempts int
	// Snippet is the start of a body that is not JSON (HTML tags
	// stripped, at most 200 bytes).
	Snippet string
	// Err is the cause: the read error (io.ErrUnexpectedEOF, a connection
	// reset, context.DeadlineExceeded) or the *json.SyntaxError.
	Err error

	tooLarge bool
}

// Error returns e.g. "GET /v3/engagementquality/subusers/scores: 200 OK:
// body cut off after 4096 of 9000 bytes: unexpected EOF (5 attempts)".
func (e *BodyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s: ", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	of := ""
	if e.ContentLength >= 0 {
		of = fmt.Sprintf(" of %d", e.ContentLength)
	}
	switch {
	case e.tooLarge:
		fmt.Fprintf(&b, "body larger than %d bytes", maxBody)
	case e.Offset < 0:
		fmt.Fprintf(&b, "body cut off after %d%s bytes: %v", e.Read, of, e.Err)
	case e.Read == 0:
		fmt.Fprintf(&b, "empty body (Content-Type %q)", truncate(e.ContentType, 64))
	case e.Snippet != "" || e.Offset == 0:
		fmt.Fprintf(&b, "body is not JSON (Content-Type %q, %d bytes): %s", truncate(e.ContentType, 64), e.Read, e.Snippet)
	default:
		fmt.Fprintf(&b, "body is not valid JSON: decoding stopped at byte %d of %d%s: %v", e.Offset, e.Read, lengthNote(e.ContentLength, e.Read), e.Err)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (%d attempts)", e.Attempts)
	}
	return b.String()
}

// lengthNote says whether the announced length matched what arrived.
func lengthNote(cl, read int64) string {
	switch {
	case cl < 0:
		return ""
	case cl == read:
		return " (Content-Length matches)"
	}
	return fmt.Sprintf(" (Content-Length %d)", cl)
}

// Unwrap returns the cause.
func (e *BodyError) Unwrap() error { return e.Err }

// readBody reads resp's body in full (at most maxBody bytes), closes it,
// and replaces it with the bytes read. It returns a *BodyError when the
// read fails or the bytes are not one JSON value.
func readBody(resp *http.Response, key secret.Secret) *BodyError {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	be := &BodyError{
		StatusCode:    resp.StatusCode,
		ContentType:   resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength,
		Read:          int64(len(raw)),
		Offset:        -1,
		Err:           err,
	}
	if resp.Request != nil {
		be.Method, be.Path = resp.Request.Method, resp.Request.URL.EscapedPath()
	}
	switch {
	case err != nil:
		be.Err = scrubError(err, key)
		return be
	case len(raw) > maxBody:
		be.tooLarge, be.Read = true, maxBody
		return be
	case json.Valid(raw):
		return nil
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] != '{' && t[0] != '[' && t[0] != '"' {
		// An HTML page from a proxy, plain text...: say what came instead.
		be.Offset = 0
		be.Snippet = snippet(secret.Scrub(string(t), key))
		be.Err = errNotJSON
		return be
	}
	var v json.RawMessage
	be.Err = json.Unmarshal(raw, &v)
	be.Offset = int64(len(raw))
	var se *json.SyntaxError
	if errors.As(be.Err, &se) {
		be.Offset = se.Offset
	}
	if be.Err == nil { // unreachable: json.Valid said no
		be.Err = errNotJSON
	}
	return be
}

// errNotJSON is the cause of a BodyError for a body that is not JSON.
var errNotJSON = errors.New("not JSON")

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
	return retrywait.Jitter(minWait, maxWait, attempt)
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
