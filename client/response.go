package client

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Rate-limit response headers.
const (
	// HeaderRateLimit is the number of requests allowed per window.
	HeaderRateLimit = "X-RateLimit-Limit"
	// HeaderRateRemaining is the number of requests left in the window.
	HeaderRateRemaining = "X-RateLimit-Remaining"
	// HeaderRateReset is when the window resets: Unix seconds, or seconds
	// from now for a value below 10^9.
	HeaderRateReset = "X-RateLimit-Reset"
	// HeaderRetryAfter is the standard wait hint: seconds or an HTTP date.
	HeaderRetryAfter = "Retry-After"
)

// Rate is SendGrid's rate-limit state, read from the X-RateLimit-* headers of
// a response.
type Rate struct {
	// Limit is the number of requests allowed per window.
	Limit int
	// Remaining is the number of requests left in the window.
	Remaining int
	// Reset is when the window resets (zero if unknown).
	Reset time.Time
}

// IsZero reports whether r carries no rate-limit information.
func (r Rate) IsZero() bool { return r == Rate{} }

// String formats r as "remaining/limit, reset at <RFC 3339>".
func (r Rate) String() string {
	s := strconv.Itoa(r.Remaining) + "/" + strconv.Itoa(r.Limit)
	if !r.Reset.IsZero() {
		s += ", reset at " + r.Reset.UTC().Format(time.RFC3339)
	}
	return s
}

// deltaThreshold separates the two readings of X-RateLimit-Reset: a value
// below 10^9 (September 2001 as a Unix time) is taken as seconds from now.
const deltaThreshold = 1_000_000_000

// parseRate reads the X-RateLimit-* headers. ok is false when none of them
// is present and valid.
func parseRate(h http.Header, now time.Time) (r Rate, ok bool) {
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get(HeaderRateLimit))); err == nil && v >= 0 {
		r.Limit, ok = v, true
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get(HeaderRateRemaining))); err == nil && v >= 0 {
		r.Remaining, ok = v, true
	} else if ok {
		r.Remaining = r.Limit
	}
	if t, good := parseReset(h.Get(HeaderRateReset), now); good {
		r.Reset, ok = t, true
	}
	return r, ok
}

// parseReset reads X-RateLimit-Reset: Unix seconds, or a delta in seconds
// when the value is below 10^9. Fractions are accepted.
func parseReset(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e12 {
		return time.Time{}, false
	}
	if f < deltaThreshold {
		return now.Add(time.Duration(f * float64(time.Second))), true
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// maxRetryAfter bounds a Retry-After in seconds (about 31 years) so that
// it fits a time.Duration.
const maxRetryAfter = 1 << 30

// retryAfter reads Retry-After (delta seconds or an HTTP date); 0 when
// absent, invalid or in the past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get(HeaderRetryAfter))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		// An absurd value is still a request to wait long: keep it (the
		// callers cap it) but avoid overflowing a Duration.
		return time.Duration(min(n, maxRetryAfter)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
