package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
)

// Log keys used by the notifiers.
const (
	LogKeyNotifier = "notifier"
	LogKeyAlerts   = "alerts"
	LogKeyMessage  = "message"
	LogKeyDigest   = "digest"
	LogKeyError    = "error"
)

// Option configures a notifier or [Blocks]. Options that do not apply to a
// notifier (WithAPIURL on a webhook) are ignored.
type Option func(*config) error

type config struct {
	httpClient      *http.Client
	apiURL          string
	digestThreshold int
	topN            int
	logger          *slog.Logger
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		httpClient:      &http.Client{Timeout: 30 * time.Second},
		digestThreshold: DefaultDigestThreshold,
		topN:            DefaultTopN,
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

// WithDigestThreshold sets when a sweep is sent as one digest: more than n
// alerts make a digest, n or fewer one message per account (default 5).
// n = 0 always sends a digest.
func WithDigestThreshold(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("notify: WithDigestThreshold(%d): must be >= 0", n)
		}
		c.digestThreshold = n
		return nil
	}
}

// WithTopN sets how many alerts of each severity group a digest lists before
// "…and K more" (default 10).
func WithTopN(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("notify: WithTopN(%d): must be >= 1", n)
		}
		c.topN = n
		return nil
	}
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
