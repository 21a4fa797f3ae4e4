package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// Message is one sweep's worth of notifications.
type Message struct {
	// Date is the newest scored day of the sweep.
	Date client.Date
	// Alerts holds firing (new or Reminder) and resolved alerts.
	Alerts []alert.Alert
	// TierChanges holds proposed IP-pool tier moves (may be empty).
	TierChanges []alert.TierChange
	// FirstCheck is true on the first check of a store (new, or filled
	// only by a backfill) and on the first check after a backfill that
	// filled history: the alerts are standing conditions, not new events,
	// and the digest's header says so.
	FirstCheck bool
	// Accounts is the number of accounts checked, for the first check's
	// header ("first check: 99 of 300 accounts already below
	// thresholds"); 0 when unknown.
	Accounts int
	// Accepted, when set, is called by the Slack notifiers after each
	// message Slack accepted, before the next one is posted, with what that
	// message carried, so that the caller records it at once: a crash then
	// repeats at most the message in flight. Its context outlives a
	// cancelled Notify context by a short grace period. An error stops the
	// delivery (the message stays counted as delivered).
	Accepted func(ctx context.Context, r Receipt) error
}

// Receipt is what one accepted Slack message carried.
type Receipt struct {
	// Keys are the keys of the alerts the message named.
	Keys []string
	// TierChanges is true when the message listed the proposed IP-pool
	// moves.
	TierChanges bool
}

// Notifier delivers a Message. It returns the keys of the alerts actually
// delivered (so the caller marks only those notified) and an error describing
// any failure (possibly partial: some keys delivered and a non-nil error).
type Notifier interface {
	Notify(ctx context.Context, m Message) (delivered []string, err error)
	Name() string
}

// Defaults of the options.
const (
	DefaultDigestThreshold = 5
	DefaultTopN            = 10
	// DefaultRetryBudget bounds the time one Notify spends waiting out
	// Slack's rate limits (429 Retry-After).
	DefaultRetryBudget = 2 * time.Minute
	// DefaultPace is the least time between two messages of one delivery:
	// Slack allows about one message a second per webhook or channel.
	DefaultPace = time.Second
	// Grace is how long a post already in flight may still take once the
	// Notify context is cancelled (SIGTERM, Ctrl-C), so that a message
	// Slack is accepting is not cancelled half-way and sent again.
	Grace = 10 * time.Second
)

// Log keys used by the notifiers.
const (
	logKeyNotifier = "notifier"
	logKeyAlerts   = "alerts"
	logKeyMessage  = "message"
	logKeyDigest   = "digest"
	logKeyError    = "error"
)

// Option configures a notifier or [Payloads]. Options that do not apply to a
// notifier (WithAPIURL on a webhook) are ignored.
type Option func(*config) error

type config struct {
	httpClient      *http.Client
	apiURL          string
	digestThreshold int
	topN            int
	retryBudget     time.Duration
	pace            time.Duration
	externalURL     string
	threaded        bool // continuations go in the digest's thread (bot)
	logger          *slog.Logger
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		httpClient:      &http.Client{Timeout: 30 * time.Second},
		digestThreshold: DefaultDigestThreshold,
		topN:            DefaultTopN,
		retryBudget:     DefaultRetryBudget,
		pace:            DefaultPace,
		logger:          slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithHTTPClient sets the HTTP client used to reach Slack. Its Timeout bounds
// each post. The default client (also used for nil) has a 30 s timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc != nil {
			c.httpClient = hc
		}
		return nil
	}
}

// WithAPIURL sets the base URL of the Slack Web API used by the bot
// (default https://slack.com/api/), for tests against a local server. A
// trailing slash is added when missing.
func WithAPIURL(u string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return errors.New("notify: WithAPIURL: want an http or https URL")
		}
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		c.apiURL = u
		return nil
	}
}

// atLeast is the option that checks v >= least (an error naming the
// option fn otherwise) and then sets it.
func atLeast[T int | time.Duration](fn string, v, least T, set func(*config)) Option {
	return func(c *config) error {
		if v < least {
			return fmt.Errorf("notify: %s(%v): must be >= %d", fn, v, int64(least))
		}
		set(c)
		return nil
	}
}

// WithDigestThreshold sets when a sweep is sent as a digest: more than n
// alerts make a digest, n or fewer one message per account (default 5).
// n = 0 always sends a digest.
func WithDigestThreshold(n int) Option {
	return atLeast("WithDigestThreshold", n, 0, func(c *config) { c.digestThreshold = n })
}

// WithTopN sets how many of the worst accounts the first message of a
// digest lists when the digest does not fit one message; the others follow
// in the digest's thread (bot) or in follow-up messages (webhook). Default
// 10.
func WithTopN(n int) Option {
	return atLeast("WithTopN", n, 1, func(c *config) { c.topN = n })
}

// WithRetryBudget bounds the total time one Notify waits out Slack's rate
// limits: a 429 is retried after its Retry-After (1 s when absent) while the
// waits stay within d; past it, delivery stops and the rest goes out on a
// later run. 0 never retries. Default [DefaultRetryBudget].
func WithRetryBudget(d time.Duration) Option {
	return atLeast("WithRetryBudget", d, 0, func(c *config) { c.retryBudget = d })
}

// WithPace sets the least time between the starts of two posts of one
// delivery (default [DefaultPace], one message a second). 0 posts at once.
func WithPace(d time.Duration) Option {
	return atLeast("WithPace", d, 0, func(c *config) { c.pace = d })
}

// WithExternalURL sets the URL where the monitor's HTTP server is reached
// (config http.external_url). When set, a digest links to its overview page
// (/) and each account to its page (/accounts/{account}). "" means no links.
func WithExternalURL(u string) Option {
	return func(c *config) error {
		if u == "" {
			c.externalURL = ""
			return nil
		}
		if err := CheckExternalURL(u); err != nil {
			return fmt.Errorf("notify: WithExternalURL: %w", err)
		}
		c.externalURL = strings.TrimRight(u, "/")
		return nil
	}
}

// CheckExternalURL reports whether u can be the monitor's external URL: an
// http:// or https:// URL with a host, without user information, query or
// fragment (it is shown to everyone in the channel).
func CheckExternalURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return errors.New("not a valid URL: want http(s)://host[:port][/path]")
	case p.Scheme != "http" && p.Scheme != "https":
		return errors.New("want an http:// or https:// URL")
	case p.Host == "":
		return errors.New("URL has no host")
	case p.User != nil:
		return errors.New("URL must not hold user information")
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "":
		return errors.New("URL must not have a query or fragment")
	case strings.ContainsAny(u, "|<> "):
		return errors.New("URL must not contain |, <, > or spaces")
	}
	return nil
}

// WithLogger sets the logger (default, and for nil: discard). Log records
// never contain the webhook URL or the token.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	}
}

// keysOf returns the keys of alerts in order.
func keysOf(as []alert.Alert) []string {
	keys := make([]string, 0, len(as))
	for _, a := range as {
		keys = append(keys, a.Key)
	}
	return keys
}
