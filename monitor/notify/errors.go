package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/internal/secret"
)

// Sentinel errors, matched with errors.Is against an *[Error].
var (
	// ErrRateLimited: Slack answered 429 (or "ratelimited"); see Error.RetryAfter.
	ErrRateLimited = errors.New("slack rate limited")
	// ErrAuth: the token or webhook was refused (invalid_auth, not_authed,
	// token_revoked, invalid_token, HTTP 401/403...).
	ErrAuth = errors.New("slack authentication failed")
	// ErrChannelNotFound: the channel does not exist or the bot cannot see it.
	ErrChannelNotFound = errors.New("slack channel not found")
	// ErrNoService: the incoming webhook is disabled, removed or invalid
	// (HTTP 404 "no_service").
	ErrNoService = errors.New("slack webhook disabled or removed")
	// ErrTimeout: the post did not complete in time (context deadline or the
	// HTTP client's timeout).
	ErrTimeout = errors.New("slack post timed out")
	// ErrUnexpectedResponse: the answer was not Slack's: a webhook answering
	// anything but "ok" (a proxy's HTML sign-in page, a JSON error, an empty
	// body), or chat.postMessage answering something other than JSON. See
	// Error.Body for what came back.
	ErrUnexpectedResponse = errors.New("not Slack's answer")
)

// errNotOK is returned by the webhook's post when Slack's answer was a 200
// whose body is not "ok"; newError describes it from the captured response.
var errNotOK = errors.New(`answer is not "ok"`)

// Error describes one failed delivery to Slack. It never contains the webhook
// URL or the token.
type Error struct {
	// Notifier is the Name of the notifier that failed.
	Notifier string
	// Status is the HTTP status code, 0 when no response was received.
	Status int
	// SlackError is Slack's error code (invalid_auth, channel_not_found,
	// no_service, invalid_payload...), when it gave one.
	SlackError string
	// RetryAfter is Slack's Retry-After on a rate limit, 0 if unknown.
	RetryAfter time.Duration
	// Body describes an answer that was not Slack's (ErrUnexpectedResponse):
	// its content type and its first characters, on one line, at most 80
	// characters, secrets removed; "" otherwise.
	Body string
	// Err is the underlying (redacted) error.
	Err error

	timeout     bool
	unexpected  bool
	budgetSpent bool // a 429 whose Retry-After was past the retry budget
	described   bool // Err adds nothing to Status, SlackError and RetryAfter
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Notifier)
	switch {
	case e.timeout:
		b.WriteString(": timed out")
	case errors.Is(e.Err, context.Canceled):
		b.WriteString(": canceled")
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&b, ": HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.unexpected {
		b.WriteString(": answer is not Slack's")
		if e.Notifier == NameWebhook {
			b.WriteString(` (want "ok")`)
		}
		fmt.Fprintf(&b, ": %s", e.Body)
	}
	if e.SlackError != "" {
		fmt.Fprintf(&b, ": %s", e.SlackError)
	}
	// Slack's own "rate_limited" (or "ratelimited") already says it.
	saidRateLimited := strings.Contains(strings.ReplaceAll(e.SlackError, "_", ""), "ratelimited")
	switch {
	case e.RetryAfter > 0 && saidRateLimited:
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	case e.RetryAfter > 0:
		fmt.Fprintf(&b, ": rate limited, retry after %s", e.RetryAfter)
	case e.Is(ErrRateLimited) && !saidRateLimited:
		b.WriteString(": rate limited")
	}
	if e.budgetSpent {
		b.WriteString(" (past the retry budget)")
	}
	if e.Err != nil && !e.described {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the underlying redacted error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests || e.RetryAfter > 0 ||
			e.SlackError == "ratelimited" || e.SlackError == "rate_limited"
	case ErrAuth:
		switch e.SlackError {
		case "invalid_auth", "not_authed", "token_revoked", "token_expired",
			"account_inactive", "invalid_token", "missing_scope", "no_permission",
			"not_allowed_token_type":
			return true
		}
		return e.Status == http.StatusUnauthorized ||
			(e.Status == http.StatusForbidden && e.SlackError == "")
	case ErrChannelNotFound:
		return e.SlackError == "channel_not_found"
	case ErrNoService:
		return e.SlackError == "no_service"
	case ErrTimeout:
		return e.timeout
	case ErrUnexpectedResponse:
		return e.unexpected
	}
	return false
}

// fatal reports whether later messages of the same run would fail the same
// way, so delivery should stop: rate limits, refused credentials, a missing
// channel or webhook, timeouts, cancellation, Slack failing (5xx) or not
// answering at all. Only a failure specific to one message (invalid_payload,
// invalid_blocks...) lets the others go on.
func (e *Error) fatal() bool {
	return e.Status == 0 || e.Status >= 500 || e.unexpected || e.Is(ErrRateLimited) || e.Is(ErrAuth) || e.Is(ErrChannelNotFound) ||
		e.Is(ErrNoService) || e.timeout || errors.Is(e.Err, context.Canceled) ||
		e.SlackError == "channel_is_archived" || e.SlackError == "is_archived"
}

// response is what the capturing transport saw of the last HTTP response.
type response struct {
	status      int
	retryAfter  string
	contentType string
	length      int64 // -1 when unknown
	body        string
}

// describe is what came back, bounded and on one line: `text/html, 5120
// bytes: "<!DOCTYPE html><html><head><title>Sign in…"`, or "empty body".
func (r response) describe(secrets ...secret.Secret) string {
	body := strings.TrimSpace(r.body)
	if body == "" {
		return "empty body"
	}
	var parts []string
	if ct := strings.TrimSpace(r.contentType); ct != "" {
		ct, _, _ = strings.Cut(ct, ";")
		parts = append(parts, truncate(oneLine(ct), 40))
	}
	if r.length > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes", r.length))
	}
	excerpt := strconv.Quote(truncate(strings.Join(strings.Fields(oneLine(secret.Scrub(body, secrets...))), " "), 80))
	if len(parts) == 0 {
		return excerpt
	}
	return strings.Join(parts, ", ") + ": " + excerpt
}

// jsonError returns the "error" of a Slack JSON error body
// ({"ok":false,"error":"invalid_token"}), or "".
func jsonError(body string) string {
	var v struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(body)), &v) != nil || v.OK {
		return ""
	}
	return slackCode(v.Error)
}

// newError maps an error from slack-go to *Error, with everything secret
// removed. resp is the last response seen for this post (status 0 if none).
func newError(notifier string, err error, resp response, secrets ...secret.Secret) *Error {
	e := &Error{Notifier: notifier, Status: resp.status}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		e.Status = http.StatusTooManyRequests
		e.RetryAfter = rl.RetryAfter
		e.described = true
	case errors.As(err, &sc):
		e.Status = sc.Code
		e.described = true
	case errors.As(err, &se):
		e.SlackError = se.Err
		e.described = true
	}
	if e.SlackError == "" && resp.status != http.StatusOK {
		e.SlackError = slackCode(resp.body)
	}
	// A 200 that is not Slack's answer: the webhook's body is not "ok", or
	// the Web API's is not JSON (slack-go then fails on "invalid character
	// '<'").
	if resp.status == http.StatusOK && (errors.Is(err, errNotOK) || !looksJSON(resp.body)) {
		e.unexpected, e.described = true, true
		e.SlackError = jsonError(resp.body)
		e.Body = resp.describe(secrets...)
	}
	if e.Status == http.StatusTooManyRequests && e.RetryAfter == 0 {
		e.RetryAfter = parseRetryAfter(resp.retryAfter, time.Now())
	}
	e.timeout = isTimeout(err)
	e.Err = secret.ScrubError(err, secrets...)
	return e
}

// looksJSON reports whether a body starts like a JSON object.
func looksJSON(body string) bool { return strings.HasPrefix(strings.TrimSpace(body), "{") }

// slackCode returns body when it looks like a Slack error code
// ("no_service", "invalid_payload"), else "". HTML error pages are ignored.
func slackCode(body string) string {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 64 {
		return ""
	}
	for _, r := range body {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return ""
		}
	}
	return body
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// deliveryErrors joins the failures of one Notify on one line.
type deliveryErrors []error

func (d deliveryErrors) Error() string {
	var parts []string
	count := 0
	for i, e := range d {
		count++
		if i+1 < len(d) && d[i+1].Error() == e.Error() {
			continue
		}
		if count > 1 {
			parts = append(parts, fmt.Sprintf("%s (%d times)", e.Error(), count))
		} else {
			parts = append(parts, e.Error())
		}
		count = 0
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes every failure to errors.Is and errors.As.
func (d deliveryErrors) Unwrap() []error { return d }
