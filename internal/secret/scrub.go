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
// A *url.Error in the chain keeps its type, with a scrubbed inner error and
// a URL that holds a secret cut to its scheme and host
// (https://host/REDACTED), so that errors.As still finds it and its Timeout
// method still answers. Any other error becomes a scrubbed error that never
// unwraps to the original (whose text would print the secret): it answers
// errors.Is for the original's chain (context.Canceled,
// os.ErrDeadlineExceeded, a package's sentinel errors) and reports Timeout
// like it. A secret shorter than four bytes is not scrubbed (see [Scrub]).
func ScrubError(err error, secrets ...Secret) error {
	if err == nil || !holds(err.Error(), secrets) {
		return err
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return &scrubbedError{msg: Scrub(err.Error(), secrets...), err: err}
	}
	su := &url.Error{Op: ue.Op, URL: scrubURL(ue.URL, secrets), Err: ScrubError(ue.Err, secrets...)}
	if ue == err {
		return su
	}
	// A *url.Error below wrappers: the text is scrubbed whole, and the
	// chain below continues at the scrubbed *url.Error.
	msg := strings.ReplaceAll(err.Error(), ue.URL, su.URL)
	return &scrubbedError{msg: Scrub(msg, secrets...), err: err, below: su}
}

// scrubURL returns u when it holds no secret, else its scheme and host
// followed by /REDACTED (or REDACTED alone when the host holds a secret or u
// does not parse): the path and query, where a webhook URL keeps its
// credential, are dropped whole.
func scrubURL(u string, secrets []Secret) string {
	if !holds(u, secrets) {
		return u
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || holds(p.Host, secrets) {
		return Redacted
	}
	return p.Scheme + "://" + p.Host + "/" + Redacted
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
	msg   string
	err   error      // the original: never printed, only consulted by Is and Timeout
	below *url.Error // the scrubbed *url.Error of the original's chain, if any
}

func (e *scrubbedError) Error() string { return e.msg }

// Unwrap returns the scrubbed *url.Error of the original's chain, or nil:
// never the original itself.
func (e *scrubbedError) Unwrap() error {
	if e.below == nil {
		return nil
	}
	return e.below
}

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
