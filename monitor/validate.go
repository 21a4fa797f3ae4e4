package monitor

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/errjoin"
	"github.com/sgseq/sgseq/internal/logging"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/rules"
)

// FieldError is one configuration problem: where it is (file and line, when
// the config came from a file) and which field (a dotted path such as
// "notify.slack.channel").
type FieldError struct {
	File  string
	Line  int
	Field string
	// Env names the environment variable the value came from ("" when it
	// came from the file or the defaults).
	Env string
	Err error
}

// Error formats the problem as "file:line: field: message".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Env != "" {
			b.WriteString(" (from $" + e.Env + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Errors for errors.Is on a [FieldError].
var (
	ErrUnknownField = errors.New("unknown field")
	ErrEnvUnset     = errors.New("environment variable is not set")
	ErrInvalid      = errors.New("invalid value")
	ErrRequired     = errors.New("required")
)

// fieldErr builds a FieldError positioned with the config's recorded lines.
func (c *Config) fieldErr(field string, err error) *FieldError {
	fe := &FieldError{File: c.file, Field: field, Err: err}
	if v, ok := c.fromEnv[field]; ok {
		fe.Env = v // no file line: the file's value was overridden
		return fe
	}
	if c.lines != nil {
		// The field itself, else its closest recorded parent.
		for p := field; p != ""; {
			if l, ok := c.lines[p]; ok {
				fe.Line = l
				break
			}
			i := strings.LastIndexAny(p, ".[")
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	return fe
}

// Validate checks every field and returns all problems joined
// ([errors.Join]) as [*FieldError] values, or nil.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, c.fieldErr(field, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)))
	}
	if c.SendGrid.APIKey.IsZero() {
		errs = append(errs, c.fieldErr("sendgrid.api_key", fmt.Errorf("%w (set it or $%s)", ErrRequired, EnvAPIKey)))
	}
	switch c.SendGrid.Region {
	case "", client.Global, client.EU:
	default:
		add("sendgrid.region", "%s: want global or eu", quoted(string(c.SendGrid.Region)))
	}
	if c.SendGrid.BaseURL != "" && !strings.HasPrefix(c.SendGrid.BaseURL, "http://") && !strings.HasPrefix(c.SendGrid.BaseURL, "https://") {
		add("sendgrid.base_url", "%s: want an http:// or https:// URL", quoted(c.SendGrid.BaseURL))
	}
	for i, g := range c.Accounts.Include {
		if _, err := path.Match(g, ""); err != nil {
			add(fmt.Sprintf("accounts.include[%d]", i), "bad glob %s: %v", quoted(g), err)
		}
	}
	for i, g := range c.Accounts.Exclude {
		if _, err := path.Match(g, ""); err != nil {
			add(fmt.Sprintf("accounts.exclude[%d]", i), "bad glob %s: %v", quoted(g), err)
		}
	}
	if _, err := c.ParseSchedule(); err != nil {
		add("schedule", "%v", err)
	}
	if c.Store.RetentionDays < 0 {
		add("store.retention_days", "%d: want 0 (forever) or more", c.Store.RetentionDays)
	} else if c.Store.RetentionDays > 0 && c.Store.RetentionDays < c.Sweep.LookbackDays {
		add("store.retention_days", "%d: shorter than sweep.lookback_days (%d)", c.Store.RetentionDays, c.Sweep.LookbackDays)
	}
	errs = append(errs, c.subErrors("rules", validateRules(c.Rules))...)
	if c.Notify.RepeatInterval <= 0 {
		add("notify.repeat_interval", "%v: want a positive duration such as 24h", c.Notify.RepeatInterval)
	}
	s := c.Notify.Slack
	if !s.WebhookURL.IsZero() && !s.BotToken.IsZero() {
		add("notify.slack", "set webhook_url or bot_token, not both")
	}
	if !s.WebhookURL.IsZero() {
		if err := notify.CheckWebhookURL(s.WebhookURL); err != nil {
			add("notify.slack.webhook_url", "%v", err)
		}
	}
	if s.APIURL != "" {
		// Never echo the URL: a user name, password or ?token= in it is a
		// secret in the wrong place.
		u, err := url.Parse(s.APIURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			add("notify.slack.api_url", "want an http:// or https:// URL such as %s", DefaultSlackAPIURL)
		case u.User != nil:
			add("notify.slack.api_url", "must not hold a user name or password (user@host): the bot authenticates with notify.slack.bot_token")
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s.APIURL, "#"):
			add("notify.slack.api_url", "must not have a query string or fragment (?… or #…): a token belongs in notify.slack.bot_token, not the URL")
		}
	}
	if !s.BotToken.IsZero() && s.Channel == "" {
		errs = append(errs, c.fieldErr("notify.slack.channel", fmt.Errorf("%w with bot_token (set it or $%s)", ErrRequired, EnvSlackChan)))
	}
	if s.DigestThreshold < 0 {
		add("notify.slack.digest_threshold", "%d: want 0 or more", s.DigestThreshold)
	}
	if s.TopN < 1 {
		add("notify.slack.top_n", "%d: want 1 or more", s.TopN)
	}
	if c.Sweep.Concurrency < 1 || c.Sweep.Concurrency > 64 {
		add("sweep.concurrency", "%d: want 1 to 64", c.Sweep.Concurrency)
	}
	if c.Sweep.PendingRetries < 0 {
		add("sweep.pending_retries", "%d: want 0 or more", c.Sweep.PendingRetries)
	}
	if c.Sweep.PendingBackoff < 0 {
		add("sweep.pending_backoff", "%v: want 0 or more", c.Sweep.PendingBackoff)
	}
	if c.Sweep.PendingMaxBackoff < 0 {
		add("sweep.pending_max_backoff", "%v: want 0 or more", c.Sweep.PendingMaxBackoff)
	} else if c.Sweep.PendingMaxBackoff > 0 && c.Sweep.PendingMaxBackoff < c.Sweep.PendingBackoff {
		add("sweep.pending_max_backoff", "%v: shorter than sweep.pending_backoff (%v)", c.Sweep.PendingMaxBackoff, c.Sweep.PendingBackoff)
	}
	if c.Sweep.PendingMaxWait < 0 {
		add("sweep.pending_max_wait", "%v: want 0 (no bound) or more", c.Sweep.PendingMaxWait)
	}
	if c.Sweep.Retries < 0 {
		add("sweep.retries", "%d: want 0 or more", c.Sweep.Retries)
	}
	if c.Sweep.RetryBackoff < 0 {
		add("sweep.retry_backoff", "%v: want 0 or more", c.Sweep.RetryBackoff)
	}
	if c.Sweep.BackfillDays < 1 || c.Sweep.BackfillDays > MaxWindowDays {
		add("sweep.backfill_days", "%d: want 1 to %d", c.Sweep.BackfillDays, MaxWindowDays)
	}
	if c.Sweep.LookbackDays < 1 {
		add("sweep.lookback_days", "%d: want 1 or more", c.Sweep.LookbackDays)
	}
	errs = append(errs, c.subErrors("pools", c.Pools.Validate())...)
	if c.HTTP.ExternalURL != "" {
		if err := notify.CheckExternalURL(c.HTTP.ExternalURL); err != nil {
			add("http.external_url", "%v", err)
		}
	}
	if c.HTTP.Addr != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
			add("http.addr", "%s: want host:port", quoted(c.HTTP.Addr))
		}
	}
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		add("log.level", "%v", err)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		add("log.format", "%s: want text or json", quoted(c.Log.Format))
	}
	return errors.Join(errs...)
}

// subErrors turns the joined field errors of a section's own Validate
// (rules.FieldError, pools.FieldError) into positioned *FieldError values.
func (c *Config) subErrors(section string, err error) []error {
	if err == nil {
		return nil
	}
	list := errjoin.Split(err)
	out := make([]error, 0, len(list))
	for _, e := range list {
		var re *rules.FieldError
		var pe *pools.FieldError
		switch {
		case errors.As(e, &re):
			out = append(out, c.fieldErr(re.Field, fmt.Errorf("%w: %s", ErrInvalid, re.Reason)))
		case errors.As(e, &pe):
			out = append(out, c.fieldErr(pe.Field, fmt.Errorf("%w: %s", ErrInvalid, pe.Reason)))
		default:
			out = append(out, c.fieldErr(section, e))
		}
	}
	return out
}

// finishErrors puts the joined problems of err in file order (by line; the
// problems without a line, such as a value from the environment, first) and
// scrubs the config's secrets from their text: a secret that ended up in
// the wrong field (pasted into the schedule, a ${VAR} expanded where a
// number was expected) is never printed.
func (c *Config) finishErrors(err error) error {
	list := errjoin.Split(err)
	if len(list) == 0 {
		return nil
	}
	// The problems past the cap: those the decoder only counted, and
	// those cut below.
	more := 0
	kept := list[:0:0]
	for _, e := range list {
		var mp *moreProblems
		if errors.As(e, &mp) {
			more += mp.n
			continue
		}
		kept = append(kept, e)
	}
	list = kept
	secrets := []secret.Secret{c.SendGrid.APIKey, c.Notify.Slack.WebhookURL, c.Notify.Slack.BotToken}
	for i, e := range list {
		var fe *FieldError
		if !errors.As(e, &fe) {
			list[i] = scrubCut(e, secrets)
			continue
		}
		inner := scrubCut(fe.Err, secrets)
		field := cutText(fe.Field, 2*maxShown)
		if inner != fe.Err || field != fe.Field {
			cp := *fe
			cp.Field = field
			cp.Err = inner
			list[i] = &cp
		}
	}
	line := func(e error) int {
		var fe *FieldError
		if errors.As(e, &fe) {
			return fe.Line
		}
		return 0
	}
	slices.SortStableFunc(list, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	if len(list) > MaxConfigProblems {
		more += len(list) - MaxConfigProblems
		list = list[:MaxConfigProblems]
	}
	if more > 0 {
		list = append(list, &moreProblems{file: c.file, n: more})
	}
	return errors.Join(list...)
}

// scrubCut returns err with the secrets removed (secret.ScrubError: it
// never unwraps to the unscrubbed original) and its text cut to
// maxMessage bytes.
func scrubCut(err error, secrets []secret.Secret) error {
	err = secret.ScrubError(err, secrets...)
	if text := cutText(err.Error(), maxMessage); text != err.Error() {
		return &cutError{text: text, err: err}
	}
	return err
}

// cutError is an error whose (already scrubbed) text was cut short;
// errors.Is and errors.As see the error it cut.
type cutError struct {
	text string
	err  error
}

func (e *cutError) Error() string { return e.text }

func (e *cutError) Unwrap() error { return e.err }
