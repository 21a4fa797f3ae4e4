// Package secret provides a string type for credentials (API keys, bot
// tokens, webhook URLs) that never prints its value: fmt verbs, slog,
// JSON/YAML/text marshalling all show "REDACTED".
package secret

import (
	"fmt"
	"log/slog"
	"strings"
)

// Redacted is what a non-empty Secret prints instead of its value.
const Redacted = "REDACTED"

// Secret holds a credential. Use [Secret.Reveal] only where the value is
// sent to its destination (an HTTP header, a URL to post to).
type Secret string

// Reveal returns the secret value. Call it only at the point of use.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer; it never returns the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString implements fmt.GoStringer so that %#v does not print the value.
func (s Secret) GoString() string { return fmt.Sprintf("secret.Secret(%q)", s.String()) }

// Format implements fmt.Formatter so that every verb (%v, %s, %q, %x, %d...)
// prints the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.String())
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler (used by JSON and YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Scrub replaces every occurrence of each non-empty secret in text with
// REDACTED. Use it on error messages from libraries that may echo a URL or
// token back (for example an HTTP client error that quotes a webhook URL).
func Scrub(text string, secrets ...Secret) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, string(s), Redacted)
		}
	}
	return text
}
