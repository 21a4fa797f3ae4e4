package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/sgseq/sgseq/internal/secret"
)

// Notifier names, as returned by Name and used in errors and logs.
const (
	NameWebhook = "slack-webhook"
	NameBot     = "slack-bot"
	NameLog     = "log"
)

// Webhook posts to a Slack incoming webhook.
type Webhook struct {
	url secret.Secret
	cfg *config
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook returns a notifier posting to the incoming-webhook URL u
// (https://hooks.slack.com/services/...). It fails on a URL that
// [CheckWebhookURL] refuses; the error never quotes the URL.
func NewWebhook(u secret.Secret, opts ...Option) (*Webhook, error) {
	if err := CheckWebhookURL(u); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	p, _ := url.Parse(strings.TrimSpace(u.Reveal())) // checked above
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Webhook{url: secret.Secret(p.String()), cfg: c}, nil
}

// CheckWebhookURL reports whether u can be an incoming-webhook URL: an
// https:// URL with a host, or an http:// URL whose host is loopback
// (localhost, 127.0.0.0/8, ::1), for local tests. The error never quotes
// the URL.
func CheckWebhookURL(u secret.Secret) error {
	const want = "want an https:// URL with a host (http:// only for a loopback host: localhost, 127.0.0.1, [::1])"
	if u.IsZero() {
		return errors.New("webhook URL is empty")
	}
	p, err := url.Parse(strings.TrimSpace(u.Reveal()))
	if err != nil {
		return errors.New("webhook URL is not a valid URL: " + want)
	}
	switch {
	case p.Host == "" || p.Hostname() == "":
		return errors.New("webhook URL has no host: " + want)
	case p.Scheme == "https":
		return nil
	case p.Scheme == "http" && isLoopback(p.Hostname()):
		return nil
	case p.Scheme == "http":
		return errors.New("webhook URL is http:// to a host that is not loopback: " + want)
	}
	return errors.New("webhook URL has a scheme other than https: " + want)
}

// isLoopback reports whether host (no port, no brackets) is localhost or
// a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "slack-webhook".
func (w *Webhook) Name() string { return NameWebhook }

// Notify posts m's messages (see [Blocks]) to the webhook. It returns the keys
// of the alerts delivered and an error (*[Error], possibly joined) for those
// that were not.
func (w *Webhook) Notify(ctx context.Context, m Message) ([]string, error) {
	hc, capt := captureClient(w.cfg.httpClient)
	post := func(ctx context.Context, p Payload) error {
		msg := &slack.WebhookMessage{Text: p.Text, Blocks: &slack.Blocks{BlockSet: p.Blocks}}
		return slack.PostWebhookCustomHTTPContext(ctx, w.url.Reveal(), hc, msg)
	}
	return deliver(ctx, NameWebhook, w.cfg, m, post, capt, w.url)
}

// Bot posts with a bot token to a channel through the Web API's
// chat.postMessage.
type Bot struct {
	token   secret.Secret
	channel string
	cfg     *config
}

var _ Notifier = (*Bot)(nil)

// NewBot returns a notifier posting as the bot whose token (xoxb-...) is
// given, to channel (an ID such as C0123456789, or a name such as #seq;
// the bot must be a member). WithAPIURL points it at another Slack API base.
func NewBot(token secret.Secret, channel string, opts ...Option) (*Bot, error) {
	if token.IsZero() {
		return nil, errors.New("notify: Slack bot token is empty")
	}
	channel = strings.TrimSpace(channel)
	if channel == "" {
		return nil, errors.New("notify: Slack channel is empty")
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if c.apiURL == "" {
		c.apiURL = slack.APIURL
	}
	return &Bot{token: token, channel: channel, cfg: c}, nil
}

// Name returns "slack-bot".
func (b *Bot) Name() string { return NameBot }

// Channel returns the channel the bot posts to.
func (b *Bot) Channel() string { return b.channel }

// Notify posts m's messages (see [Blocks]) to the channel with
// chat.postMessage. It returns the keys of the alerts delivered and an error
// (*[Error], possibly joined) for those that were not.
func (b *Bot) Notify(ctx context.Context, m Message) ([]string, error) {
	hc, capt := captureClient(b.cfg.httpClient)
	api := slack.New(b.token.Reveal(), slack.OptionHTTPClient(hc), slack.OptionAPIURL(b.cfg.apiURL))
	post := func(ctx context.Context, p Payload) error {
		_, _, err := api.PostMessageContext(ctx, b.channel,
			slack.MsgOptionBlocks(p.Blocks...),
			slack.MsgOptionText(p.Text, false))
		return err
	}
	return deliver(ctx, NameBot, b.cfg, m, post, capt, b.token)
}

// deliver posts the payloads of m in order. Per-account messages: the keys
// of each message that went out are delivered; a fatal failure (rate limit,
// auth, channel, disabled webhook, timeout, cancel) stops the run. A digest
// is one message: all or nothing.
func deliver(ctx context.Context, name string, c *config, m Message, post func(context.Context, Payload) error, capt *capture, secrets ...secret.Secret) ([]string, error) {
	payloads := buildPayloads(m, c)
	log := c.logger.With(LogKeyNotifier, name)
	var delivered []string
	var errs []error
	sent, stopped := 0, false
	for i, p := range payloads {
		if err := ctx.Err(); err != nil {
			errs = append(errs, newError(name, err, response{}, secrets...))
			break
		}
		capt.reset()
		err := post(ctx, p)
		if err == nil {
			sent++
			delivered = append(delivered, p.Keys...)
			log.DebugContext(ctx, "slack message sent", LogKeyMessage, i+1, LogKeyAlerts, len(p.Keys), LogKeyDigest, p.Digest)
			continue
		}
		e := newError(name, err, capt.last(), secrets...)
		errs = append(errs, e)
		log.WarnContext(ctx, "slack message not delivered", LogKeyMessage, i+1, LogKeyAlerts, len(p.Keys), LogKeyDigest, p.Digest, LogKeyError, e.Error())
		if e.fatal() {
			stopped = true
			if rest := len(payloads) - i - 1; rest > 0 {
				log.WarnContext(ctx, "slack delivery stopped; the rest goes out on a later run", "remaining", rest)
			}
			break
		}
	}
	switch {
	case len(errs) == 0:
		return delivered, nil
	case len(payloads) == 1:
		return delivered, errs[0]
	}
	var joined error = errs[0]
	if len(errs) > 1 {
		joined = deliveryErrors(errs)
	}
	how := ""
	if stopped {
		how = ", stopped"
	}
	return delivered, fmt.Errorf("%s: delivered %d of %d messages%s: %w", name, sent, len(payloads), how, joined)
}

// capture is an http.RoundTripper that remembers the status, Retry-After
// and the start of the body of the last non-200 response, which slack-go
// discards (a webhook's "no_service", "invalid_payload").
type capture struct {
	base http.RoundTripper
	mu   sync.Mutex
	resp response
}

// captureClient returns a copy of hc whose transport records responses.
func captureClient(hc *http.Client) (*http.Client, *capture) {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := &capture{base: base}
	cp := *hc
	cp.Transport = c
	return &cp, c
}

func (c *capture) reset() {
	c.mu.Lock()
	c.resp = response{}
	c.mu.Unlock()
}

func (c *capture) last() response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resp
}

// RoundTrip implements http.RoundTripper.
func (c *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	r := response{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode != http.StatusOK && resp.Body != nil {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		r.body = string(head)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	}
	c.mu.Lock()
	c.resp = r
	c.mu.Unlock()
	return resp, nil
}

// Log writes the plain-text rendering of each Message to a writer: the sink
// for runs without Slack.
type Log struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Notifier = (*Log)(nil)

// NewLog returns a notifier writing [Text] of each non-empty Message to w
// (nil: discard).
func NewLog(w io.Writer) *Log {
	if w == nil {
		w = io.Discard
	}
	return &Log{w: w}
}

// Name returns "log".
func (l *Log) Name() string { return NameLog }

// Notify writes Text(m) followed by a blank line and reports every alert
// delivered. An empty Message writes nothing. A write error delivers none.
func (l *Log) Notify(ctx context.Context, m Message) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", NameLog, err)
	}
	if len(m.Alerts) == 0 && len(m.TierChanges) == 0 {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.w, Text(m)+"\n"); err != nil {
		return nil, fmt.Errorf("%s: write: %w", NameLog, err)
	}
	return keysOf(m.Alerts), nil
}

// String describes the notifier without its URL.
func (w Webhook) String() string { return NameWebhook + "(" + w.url.String() + ")" }

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v) prints the
// URL: fmt does not call the Secret's methods on an unexported field.
func (w Webhook) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// LogValue implements slog.LogValuer without the URL.
func (w Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String(LogKeyNotifier, NameWebhook), slog.Any("url", w.url))
}

// String describes the notifier without its token.
func (b Bot) String() string {
	return NameBot + "(channel " + b.channel + ", token " + b.token.String() + ")"
}

// Format implements fmt.Formatter so that no verb prints the token.
func (b Bot) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, b.String()) }

// LogValue implements slog.LogValuer without the token.
func (b Bot) LogValue() slog.Value {
	return slog.GroupValue(slog.String(LogKeyNotifier, NameBot), slog.String("channel", b.channel), slog.Any("token", b.token))
}
