package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/sgseq/sgseq/internal/secret"
)

// Version is the sgseq client version reported in the default User-Agent.
const Version = "0.1.0-dev"

// DefaultUserAgent is the User-Agent header sent unless [WithUserAgent] sets
// another.
const DefaultUserAgent = "sgseq/" + Version + " (+https://github.com/sgseq/sgseq)"

// Base URLs of the SendGrid v3 API.
const (
	// DefaultBaseURL serves global accounts and subusers.
	DefaultBaseURL = "https://api.sendgrid.com"
	// EUBaseURL serves EU regional subusers.
	EUBaseURL = "https://api.eu.sendgrid.com"
)

// Region selects the SendGrid data region, and with it the default base URL.
type Region string

// The SendGrid regions.
const (
	// Global is SendGrid's default region (api.sendgrid.com).
	Global Region = "global"
	// EU is the European region for EU regional subusers
	// (api.eu.sendgrid.com).
	EU Region = "eu"
)

// HeaderOnBehalfOf is the header that scopes a call made with the parent's
// key to a subuser or a customer account.
const HeaderOnBehalfOf = "on-behalf-of"

// RequestEvent describes one HTTP attempt (retries are separate events). It
// is passed to the hook set with [WithRequestHook].
type RequestEvent struct {
	// Method and Path of the request; Path is the escaped path without the
	// base URL's own path prefix, e.g. "/v3/ips/pools/hot%20pool".
	Method, Path string
	// Route is Path with the variable parts replaced by placeholders, e.g.
	// "/v3/ips/pools/{name}": a low-cardinality label for metrics.
	Route string
	// StatusCode is 0 when no response arrived.
	StatusCode int
	// Err is the transport error, if any, with the API key scrubbed from
	// its text should a transport have quoted a header.
	Err error
	// Duration of the attempt, excluding any wait in the rate limiter.
	Duration time.Duration
	// Rate is the rate-limit state after the attempt.
	Rate Rate
}

// Option configures a [Client] in [New].
type Option func(*config) error

type config struct {
	baseURL   string
	region    Region
	hc        *http.Client
	userAgent string
	logger    *slog.Logger
	retry     RetryPolicy
	poll      PollPolicy
	hook      func(RequestEvent)
	pollHook  func(PollEvent)
	inflight  int
	now       func() time.Time
}

// WithBaseURL sets the API base URL (scheme and host, optionally a path
// prefix), overriding the region's default. A trailing slash is ignored.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		pu, err := url.Parse(strings.TrimRight(u, "/"))
		if err != nil {
			return fmt.Errorf("client: invalid base URL: %w", err)
		}
		if pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" {
			return fmt.Errorf("client: invalid base URL %q: want http(s)://host", pu.Redacted())
		}
		if pu.User != nil || pu.RawQuery != "" || pu.Fragment != "" {
			return fmt.Errorf("client: invalid base URL %q: no user info, query or fragment allowed", pu.Redacted())
		}
		c.baseURL = pu.String()
		return nil
	}
}

// WithRegion selects the region's default base URL: [DefaultBaseURL] for
// [Global], [EUBaseURL] for [EU]. [WithBaseURL] takes precedence.
func WithRegion(r Region) Option {
	return func(c *config) error {
		switch r {
		case Global, EU:
			c.region = r
			return nil
		}
		return fmt.Errorf("client: unknown region %q (want %q or %q)", string(r), Global, EU)
	}
}

// WithHTTPClient sets the *http.Client whose Transport, Timeout, Jar and
// CheckRedirect the client uses. The client wraps (never modifies) it.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("client: nil *http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if ua == "" || strings.ContainsAny(ua, "\r\n") {
			return fmt.Errorf("client: invalid user agent %q", ua)
		}
		c.userAgent = ua
		return nil
	}
}

// WithLogger sets the logger for request, retry and rate-limit events (at
// debug level). A nil logger discards. The API key is never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
		return nil
	}
}

// WithRetryPolicy sets the retry policy for GET requests.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if p.MaxRetries < 0 || p.MinWait < 0 || p.MaxWait < 0 || p.AttemptTimeout < 0 {
			return fmt.Errorf("client: invalid retry policy %+v: negative value", p)
		}
		if p.MaxWait < p.MinWait {
			p.MaxWait = p.MinWait
		}
		c.retry = p
		return nil
	}
}

// WithPollPolicy sets how scores calls handle 202 Accepted.
func WithPollPolicy(p PollPolicy) Option {
	return func(c *config) error {
		if p.MaxAttempts < 0 || p.MinWait < 0 || p.MaxWait < 0 || p.MaxTotalWait < 0 {
			return fmt.Errorf("client: invalid poll policy %+v: negative value", p)
		}
		if p.MaxWait < p.MinWait {
			p.MaxWait = p.MinWait
		}
		c.poll = p
		return nil
	}
}

// WithRequestHook sets a function called after every HTTP attempt, retries
// included, for example to count requests in metrics. It must be safe for
// concurrent use and return quickly.
func WithRequestHook(fn func(RequestEvent)) Option {
	return func(c *config) error {
		c.hook = fn
		return nil
	}
}

// WithMaxInFlight caps the number of requests the client (and its
// OnBehalfOf copies) has in flight at once to each endpoint (as rate
// limits, see [Client.Rate]); more wait their turn, first come first
// served, so that goroutines walking pages take turns. Before the first
// response tells the rate limit, up to n requests go at once (without the
// cap, the first request goes alone). 0 (the default) sets no cap; the
// rate limiter still applies.
func WithMaxInFlight(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("client: invalid max in flight %d: negative", n)
		}
		c.inflight = n
		return nil
	}
}

// WithNow sets the clock used to validate dates ("not in the future", "not
// more than 90 days back"). The default is time.Now. Tests and simulated
// accounts use it to pin "today". Waits (retries, polling, rate limits)
// always use the real clock.
func WithNow(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("client: nil clock")
		}
		c.now = now
		return nil
	}
}

// credentials keeps the key behind a pointer so that even printing a copied
// Client value with %+v shows an address, not the key.
type credentials struct {
	key secret.Secret
}

// shared is the state every copy made by OnBehalfOf shares.
type shared struct {
	cred      *credentials
	baseURL   *url.URL
	userAgent string
	logger    *slog.Logger
	poll      PollPolicy
	pollHook  func(PollEvent)
	now       func() time.Time
	limiters  *limiters
	get       *retryablehttp.Client // retries per RetryPolicy
	once      *retryablehttp.Client // never retries (non-GET)
}

// Client calls the SendGrid v3 API. It is safe for concurrent use; all its
// copies made by [Client.OnBehalfOf] share one connection pool and one rate
// limiter.
//
// Printing a Client (%v, %+v, %#v) shows its base URL and on-behalf-of
// subject, never the API key.
type Client struct {
	s          *shared
	onBehalfOf string // header value, "" for the key's own account
}

// New returns a client authenticating with apiKey (sent as "Authorization:
// Bearer <key>"). An empty key is an error.
func New(apiKey string, opts ...Option) (*Client, error) {
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return nil, errors.New("client: empty API key")
	}
	if strings.ContainsAny(apiKey, "\r\n\x00") {
		return nil, errors.New("client: API key contains control characters")
	}
	cfg := config{
		region:    Global,
		userAgent: DefaultUserAgent,
		logger:    slog.New(slog.DiscardHandler),
		retry:     DefaultRetryPolicy(),
		poll:      DefaultPollPolicy(),
		now:       time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			// An option's error may quote its argument (a base URL with
			// the key pasted into its query, say): keep the key out.
			return nil, scrubError(err, secret.Secret(apiKey))
		}
	}
	base := cfg.baseURL
	if base == "" {
		base = DefaultBaseURL
		if cfg.region == EU {
			base = EUBaseURL
		}
	}
	bu, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("client: invalid base URL: %w", err)
	}

	var inner http.RoundTripper = http.DefaultTransport
	hc := &http.Client{}
	if cfg.hc != nil {
		*hc = *cfg.hc // copy Timeout, Jar, CheckRedirect
		if cfg.hc.Transport != nil {
			inner = cfg.hc.Transport
		}
	}
	lims := newLimiters(cfg.logger)
	key := secret.Secret(apiKey)
	lims.inflight = cfg.inflight
	hc.Transport = &limitTransport{base: inner, lims: lims, hook: cfg.hook, key: key,
		prefix: strings.TrimRight(bu.EscapedPath(), "/"), timeout: cfg.retry.AttemptTimeout}
	s := &shared{
		cred:      &credentials{key: key},
		baseURL:   bu,
		userAgent: cfg.userAgent,
		logger:    cfg.logger,
		poll:      cfg.poll,
		pollHook:  cfg.pollHook,
		now:       cfg.now,
		limiters:  lims,
		get:       newRetryClient(hc, cfg.retry, cfg.logger, key),
		once:      newRetryClient(hc, RetryPolicy{}, cfg.logger, key),
	}
	return &Client{s: s}, nil
}

// OnBehalfOf returns a copy of c whose calls act on behalf of the subuser
// username (header "on-behalf-of: <username>"). The copy shares c's
// transport, rate limiter and settings. An empty username returns a copy
// acting for the key's own account.
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/on-behalf-of
func (c *Client) OnBehalfOf(username string) *Client {
	return &Client{s: c.s, onBehalfOf: username}
}

// OnBehalfOfAccount returns a copy of c whose calls act on behalf of the
// customer account accountID (header "on-behalf-of: account-id <id>").
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/on-behalf-of
func (c *Client) OnBehalfOfAccount(accountID string) *Client {
	if accountID == "" {
		return &Client{s: c.s}
	}
	return &Client{s: c.s, onBehalfOf: "account-id " + accountID}
}

// Rate returns the latest rate-limit state seen in any response to c or its
// copies, whatever the endpoint. It is the zero Rate before the first
// response with rate headers.
func (c *Client) Rate() Rate { return c.s.limiters.rate() }

// BaseURL returns the API base URL the client sends requests to.
func (c *Client) BaseURL() string { return c.s.baseURL.String() }

// String describes the client without its API key.
func (c *Client) String() string {
	if c == nil {
		return "client.Client(nil)"
	}
	if c.onBehalfOf != "" {
		return fmt.Sprintf("client.Client{baseURL: %q, onBehalfOf: %q, key: %s}", c.s.baseURL.String(), c.onBehalfOf, secret.Redacted)
	}
	return fmt.Sprintf("client.Client{baseURL: %q, key: %s}", c.s.baseURL.String(), secret.Redacted)
}

// GoString implements fmt.GoStringer; like String it never shows the key.
func (c *Client) GoString() string { return "&" + c.String() }

// Format implements fmt.Formatter so that every verb prints [Client.String].
func (c *Client) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	io.WriteString(f, c.String())
}

// request is one API call.
type request struct {
	method string
	path   string // escaped, starting with /v3/
	route  string
	query  url.Values
	body   any // marshalled as JSON when non-nil
	obo    string
}

type routeKey struct{}

// send performs r (with retries for GET) and returns the response. For
// non-2xx statuses other than 202 it returns an *APIError and a nil
// response. The caller must close the returned body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := *c.s.baseURL
	raw := strings.TrimRight(u.EscapedPath(), "/") + r.path
	p, err := url.PathUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	u.Path, u.RawPath = p, raw
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body any
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", r.method, r.path, err)
		}
		body = b
	}
	ctx = context.WithValue(ctx, routeKey{}, r.route)
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, c.scrub(err))
	}
	req.Header.Set("Authorization", "Bearer "+c.s.cred.key.Reveal())
	req.Header.Set("User-Agent", c.s.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.obo != "" {
		req.Header.Set(HeaderOnBehalfOf, r.obo)
	}
	rc := c.s.once
	if r.method == http.MethodGet {
		rc = c.s.get
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		var be *BodyError
		if errors.As(err, &be) {
			be.Method, be.Path = r.method, r.path
			return nil, be
		}
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, c.scrub(err))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer drain(resp.Body)
	return nil, newAPIError(r.method, r.path, resp, c.s.cred.key)
}

// do sends r and decodes a 2xx JSON body into out (if non-nil). A 202 to a
// GET is reported as a *pendingError (matching ErrScoresPending). The body
// of a GET has already been read in full and checked to be JSON inside the
// retry loop (see bodyChecker); a body that failed that check after the
// last retry arrives here as a *BodyError from send.
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer drain(resp.Body)
	if isPending(r.method, resp) {
		return &pendingError{method: r.method, path: r.path, retryAfter: retryAfter(resp.Header, time.Now())}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", r.method, r.path, err)
	}
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil
	}
	if t[0] != '{' && t[0] != '[' {
		// An HTML page from a proxy, plain text...: say what came instead.
		return fmt.Errorf("%s %s: decode %d response: not JSON (Content-Type %q): %s",
			r.method, r.path, resp.StatusCode, truncate(resp.Header.Get("Content-Type"), 64), snippet(secret.Scrub(string(t), c.s.cred.key)))
	}
	if err := json.Unmarshal(t, out); err != nil {
		return fmt.Errorf("%s %s: decode %d response: %w", r.method, r.path, resp.StatusCode, err)
	}
	return nil
}

// scrub removes the API key from err's message if a library echoed it.
func (c *Client) scrub(err error) error { return scrubError(err, c.s.cred.key) }

// scrubError returns err, or when its text holds key an error with the key
// replaced by REDACTED. A *url.Error keeps its type (with a scrubbed inner
// error) so that errors.As still finds it. The scrubbed error does not
// unwrap to the original (which would print the key) but answers errors.Is
// for the original's chain (context.Canceled, os.ErrDeadlineExceeded ...)
// and reports Timeout like it.
func scrubError(err error, key secret.Secret) error {
	if err == nil || key.IsZero() || !strings.Contains(err.Error(), key.Reveal()) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue == err {
		return &url.Error{Op: ue.Op, URL: secret.Scrub(ue.URL, key), Err: scrubError(ue.Err, key)}
	}
	return &scrubbedError{msg: secret.Scrub(err.Error(), key), err: err}
}

// scrubbedError is an error whose text had the key removed.
type scrubbedError struct {
	msg string
	err error // the original: never printed, only consulted by Is and Timeout
}

func (e *scrubbedError) Error() string { return e.msg }

// Is reports whether the original error matches target.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

// Timeout reports whether the original error is a timeout (net.Error).
func (e *scrubbedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// maxBody bounds how much of a success body is read (64 MiB).
const maxBody = 64 << 20

// drain reads a bounded rest of body so the connection can be reused, then
// closes it.
func drain(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
