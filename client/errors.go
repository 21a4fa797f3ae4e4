package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sgseq/sgseq/internal/secret"
)

// Sentinel errors for errors.Is. An *APIError matches the one for its status.
var (
	// ErrUnauthorized matches a 401 Unauthorized (bad or revoked key).
	ErrUnauthorized = errors.New("sendgrid: unauthorized")
	// ErrForbidden matches a 403 Forbidden (the key lacks a scope, or the
	// on-behalf-of subject is not reachable with it).
	ErrForbidden = errors.New("sendgrid: forbidden")
	// ErrNotFound matches a 404 Not Found.
	ErrNotFound = errors.New("sendgrid: not found")
	// ErrRateLimited matches a 429 Too Many Requests that outlasted the
	// retries.
	ErrRateLimited = errors.New("sendgrid: rate limited")
	// ErrScoresPending matches a scores call answered 202 Accepted (scores
	// not computed yet) when the caller asked not to wait ([NoWait]), when
	// PollPolicy.MaxAttempts ran out, or when the context ended while
	// polling (then the error also matches the context's error).
	ErrScoresPending = errors.New("sendgrid: scores not ready yet (202 Accepted)")
)

// ErrorDetail is one entry of the "errors" list of a SendGrid error body.
// Field is "" when the API sent null.
type ErrorDetail struct {
	// Field is the request parameter the message is about, e.g. "from".
	Field string `json:"field"`
	// Message is SendGrid's text, e.g. "cannot be in the future".
	Message string `json:"message"`
}

// APIError is a non-2xx response from SendGrid, after any retries.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Method and Path of the request (the path without query string).
	Method, Path string
	// Errors is the body's "errors" list (or the legacy "error" string as a
	// single entry).
	Errors []ErrorDetail
	// ID is the body's error id, when present.
	ID string
	// Rate is the rate-limit state of the response.
	Rate Rate
	// RetryAfter is the wait the server asked for (Retry-After, or until
	// X-RateLimit-Reset on a 429), or 0.
	RetryAfter time.Duration
	// Body is the start of the raw body (at most 4 KiB), for bodies that are
	// not SendGrid's JSON (an HTML page from a proxy, plain text).
	Body string
}

// maxErrorBody bounds how much of an error body is kept.
const maxErrorBody = 4 << 10

// snippetLen bounds the body text quoted in Error().
const snippetLen = 200

// Error returns e.g. "GET /v3/engagementquality/scores: 400 Bad Request:
// from: cannot be in the future". Its length is bounded.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	var msgs []string
	for _, d := range e.Errors {
		m := d.Message
		if d.Field != "" {
			m = d.Field + ": " + m
		}
		if m != "" {
			msgs = append(msgs, m)
		}
	}
	switch {
	case len(msgs) > 0:
		b.WriteString(": ")
		b.WriteString(truncate(strings.Join(msgs, "; "), 2*snippetLen))
	case e.Body != "":
		if s := snippet(e.Body); s != "" {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	if e.ID != "" {
		b.WriteString(" (id " + truncate(e.ID, 64) + ")")
	}
	return b.String()
}

// Is makes errors.Is match the sentinel for the status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// Message returns the first error message of the body, or "".
func (e *APIError) Message() string {
	for _, d := range e.Errors {
		if d.Message != "" {
			return d.Message
		}
	}
	return ""
}

// errorBody covers SendGrid's error shapes: {"errors":[...], "id":...} and
// the legacy {"error":"..."}.
type errorBody struct {
	Errors []struct {
		Field   *string         `json:"field"`
		Message json.RawMessage `json:"message"`
	} `json:"errors"`
	ID    json.RawMessage `json:"id"`
	Error json.RawMessage `json:"error"`
}

// newAPIError reads a bounded part of resp's body into an *APIError. The key
// is scrubbed from the body in case a proxy echoes the request.
func newAPIError(method, path string, resp *http.Response, key secret.Secret) *APIError {
	now := time.Now()
	e := &APIError{StatusCode: resp.StatusCode, Method: method, Path: path}
	e.Rate, _ = parseRate(resp.Header, now)
	e.RetryAfter = retryAfter(resp.Header, now)
	if e.RetryAfter == 0 && resp.StatusCode == http.StatusTooManyRequests && !e.Rate.Reset.IsZero() {
		e.RetryAfter = max(e.Rate.Reset.Sub(now), 0)
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	raw = []byte(secret.Scrub(string(raw), key))
	var eb errorBody
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' && json.Unmarshal(t, &eb) == nil {
		// Scrub again after decoding: JSON escapes (\u0053...) could
		// spell the key in a way the raw scrub did not see.
		for _, d := range eb.Errors {
			det := ErrorDetail{Message: secret.Scrub(jsonText(d.Message), key)}
			if d.Field != nil {
				det.Field = secret.Scrub(*d.Field, key)
			}
			e.Errors = append(e.Errors, det)
		}
		if m := jsonText(eb.Error); m != "" {
			e.Errors = append(e.Errors, ErrorDetail{Message: secret.Scrub(m, key)})
		}
		e.ID = secret.Scrub(jsonText(eb.ID), key)
	}
	if len(e.Errors) == 0 {
		e.Body = strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	return e
}

// jsonText returns a JSON string's value, a number's or object's text, or ""
// for null or absent.
func jsonText(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	return string(m)
}

var (
	tagRe   = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)
	spaceRe = regexp.MustCompile(`\s+`)
)

// snippet turns a body into one bounded line: HTML tags stripped,
// whitespace collapsed, at most 200 bytes.
func snippet(body string) string {
	s := strings.ToValidUTF8(body, "\uFFFD")
	if strings.Contains(s, "<") {
		s = tagRe.ReplaceAllString(s, " ")
	}
	s = strings.TrimSpace(spaceRe.ReplaceAllString(s, " "))
	return truncate(s, snippetLen)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ValidationError reports an argument rejected before any request is made.
type ValidationError struct {
	// Field is the request parameter, e.g. "from", "to", "date", "limit".
	Field string
	// Value is the rejected value as text.
	Value string
	// Reason says what is wrong, in SendGrid's words where it has some.
	Reason string
}

// Error returns e.g. `invalid "from" (2024-01-01): cannot be more than 90
// days in the past`.
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid %q: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("invalid %q (%s): %s", e.Field, truncate(e.Value, 64), e.Reason)
}
