package secret

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// ScrubError returns err unchanged when its text holds none of secrets, and
// otherwise an error whose text has every secret replaced by REDACTED.
//
// A *url.Error on top keeps its type (with a scrubbed URL and a scrubbed
// inner error), so that errors.As still finds it and its Timeout method
// still answers. Any other error becomes a scrubbed error that never
// unwraps to the original (whose text would print the secret): it answers
// errors.Is for the original's chain (context.Canceled,
// os.ErrDeadlineExceeded, a package's sentinel errors) and reports Timeout
// like it. A secret shorter than four bytes is not scrubbed (see [Scrub]).
func ScrubError(err error, secrets ...Secret) error {
	if err == nil || !holds(err.Error(), secrets) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue == err {
		return &url.Error{Op: ue.Op, URL: Scrub(ue.URL, secrets...), Err: ScrubError(ue.Err, secrets...)}
	}
	return &scrubbedError{msg: Scrub(err.Error(), secrets...), err: err}
}

// holds reports whether text contains one of secrets that [Scrub] would
// replace.
func holds(text string, secrets []Secret) bool {
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(text, string(s)) {
			return true
		}
	}
	return false
}

// scrubbedError is an error whose text had secrets removed.
type scrubbedError struct {
	msg string
	err error // the original: never printed, only consulted by Is and Timeout
}

func (e *scrubbedError) Error() string { return e.msg }

// Is reports whether the original error's chain matches target.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

// Timeout reports whether the original error is a timeout (net.Error).
func (e *scrubbedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// credentialPatterns match credentials by their shape: SendGrid API keys,
// Slack tokens and Slack incoming-webhook URLs.
var credentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`SG\.[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)?`),
	regexp.MustCompile(`xox[a-z]-[A-Za-z0-9\-]+`),
	regexp.MustCompile(`https://hooks\.slack(-gov)?\.com/[^\s"']+`),
}

// ScrubCredentials replaces anything in text shaped like a credential — a
// SendGrid API key (SG.…), a Slack token (xox?-…) or a Slack incoming-webhook
// URL — with REDACTED. It is defence in depth for text that is stored or
// shown where the secrets themselves are not at hand (a sweep's error kept in
// the store); where they are, use [Scrub] or [ScrubError].
func ScrubCredentials(text string) string {
	for _, re := range credentialPatterns {
		text = re.ReplaceAllString(text, Redacted)
	}
	return text
}
