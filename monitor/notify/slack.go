package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

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
	// scrub holds the forms of the URL's secret part an answer may quote
	// (the path, the URL query-escaped), removed from errors.
	scrub []secret.Secret
	cfg   *config
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
	full := p.String()
	scrub := []secret.Secret{secret.Secret(full), secret.Secret(url.QueryEscape(full)),
		secret.Secret(p.EscapedPath()), secret.Secret(url.QueryEscape(p.EscapedPath()))}
	return &Webhook{url: secret.Secret(full), scrub: scrub, cfg: c}, nil
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

// Notify posts m's messages (see [Payloads]) to the webhook, a digest's
// continuations as follow-up messages. A message counts as delivered only
// when Slack answers 200 with the body "ok"; anything else (an HTML sign-in
// page from a proxy, a JSON error, an empty body) is a failed delivery
// naming what came back. It returns the keys of the alerts delivered and an
// error (*[Error], possibly joined) for those that were not.
func (w *Webhook) Notify(ctx context.Context, m Message) ([]string, error) {
	hc, capt := captureClient(w.cfg.httpClient)
	post := func(ctx context.Context, p Payload, _ string) (string, error) {
		msg := &slack.WebhookMessage{Text: p.Text, Blocks: &slack.Blocks{BlockSet: p.Blocks}}
		if err := slack.PostWebhookCustomHTTPContext(ctx, w.url.Reveal(), hc, msg); err != nil {
			return "", err
		}
		if r := capt.last(); strings.TrimSpace(r.body) != "ok" {
			return "", errNotOK
		}
		return "", nil
	}
	return deliver(ctx, NameWebhook, w.cfg, m, post, capt, w.scrub...)
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
	c.threaded = true
	return &Bot{token: token, channel: channel, cfg: c}, nil
}

// Name returns "slack-bot".
func (b *Bot) Name() string { return NameBot }

// Channel returns the channel the bot posts to.
func (b *Bot) Channel() string { return b.channel }

// Notify posts m's messages (see [Payloads]) to the channel with
// chat.postMessage, a digest's continuations as replies in the thread of
// its first message (thread_ts). It returns the keys of the alerts
// delivered and an error (*[Error], possibly joined) for those that were
// not; an answer that is not the Web API's JSON (an HTML page) is a failed
// delivery naming what came back.
func (b *Bot) Notify(ctx context.Context, m Message) ([]string, error) {
	hc, capt := captureClient(b.cfg.httpClient)
	api := slack.New(b.token.Reveal(), slack.OptionHTTPClient(hc), slack.OptionAPIURL(b.cfg.apiURL))
	post := func(ctx context.Context, p Payload, threadTS string) (string, error) {
		opts := []slack.MsgOption{slack.MsgOptionBlocks(p.Blocks...), slack.MsgOptionText(p.Text, false)}
		if threadTS != "" {
			opts = append(opts, slack.MsgOptionTS(threadTS))
		}
		_, ts, err := api.PostMessageContext(ctx, b.channel, opts...)
		return ts, err
	}
	return deliver(ctx, NameBot, b.cfg, m, post, capt, b.token)
}

// String describes the notifier without its URL.
func (w Webhook) String() string { return NameWebhook + "(" + w.url.String() + ")" }

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v) prints the
// URL: fmt does not call the Secret's methods on an unexported field.
func (w Webhook) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// LogValue implements slog.LogValuer without the URL.
func (w Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String(logKeyNotifier, NameWebhook), slog.Any("url", w.url))
}

// String describes the notifier without its token.
func (b Bot) String() string {
	return NameBot + "(channel " + b.channel + ", token " + b.token.String() + ")"
}

// Format implements fmt.Formatter so that no verb prints the token.
func (b Bot) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, b.String()) }

// LogValue implements slog.LogValuer without the token.
func (b Bot) LogValue() slog.Value {
	return slog.GroupValue(slog.String(logKeyNotifier, NameBot), slog.String("channel", b.channel), slog.Any("token", b.token))
}
