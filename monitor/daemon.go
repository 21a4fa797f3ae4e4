package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/store"
)

// Daemon sweeps SendGrid on a schedule, detects score drops and notifies.
// Build it with [New]; call [Daemon.Run] for the scheduled daemon, or
// [Daemon.Sweep] for one run. Close it when done.
type Daemon struct {
	cfg       Config
	client    *client.Client
	store     history.Store
	ownStore  bool
	notifier  notify.Notifier
	detectors []Detector
	now       func() time.Time
	logger    *slog.Logger
	metrics   *metrics
	schedule  cron.Schedule
	requests  atomic.Int64
	sweepMu   sync.Mutex

	// monitoredAccounts is the account set of the last successful
	// discovery (nil before the first), for the per-account gauges.
	monitoredAccounts atomic.Pointer[map[string]bool]

	httpConns atomic.Pointer[connLimiter] // the HTTP server's listener while Run serves
}

// Option configures a [Daemon] built by [New].
type Option func(*options) error

type options struct {
	client     *client.Client
	clientFunc func(opts ...client.Option) (*client.Client, error)
	store      history.Store
	notifier   notify.Notifier
	detectors  []Detector
	now        func() time.Time
	logger     *slog.Logger
	stdout     io.Writer
	httpClient *http.Client
	schedule   cron.Schedule
	noPools    bool
}

// WithoutPoolDetector leaves out the IP-pool detector that [New] adds when
// the config's pools.enabled is true.
func WithoutPoolDetector() Option {
	return func(o *options) error {
		o.noPools = true
		return nil
	}
}

// WithClient makes the daemon use c instead of building a client from the
// config. The request and rate-limit metrics then only see requests if c
// was built with [client.WithRequestHook]; prefer [WithClientFunc].
func WithClient(c *client.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("monitor: WithClient: nil client")
		}
		o.client = c
		return nil
	}
}

// WithClientFunc makes the daemon build its client with fn, passing the
// options it needs (logger, request hook for metrics, clock). Use it with
// a test server: monitor.WithClientFunc(srv.Client).
func WithClientFunc(fn func(opts ...client.Option) (*client.Client, error)) Option {
	return func(o *options) error {
		if fn == nil {
			return errors.New("monitor: WithClientFunc: nil function")
		}
		o.clientFunc = fn
		return nil
	}
}

// WithStore makes the daemon use st instead of opening the config's store
// path. The caller keeps ownership: [Daemon.Close] does not close st.
func WithStore(st history.Store) Option {
	return func(o *options) error {
		if st == nil {
			return errors.New("monitor: WithStore: nil store")
		}
		o.store = st
		return nil
	}
}

// WithNotifier replaces the notifier built from the config (Slack webhook,
// Slack bot, or the log sink on standard output).
func WithNotifier(n notify.Notifier) Option {
	return func(o *options) error {
		if n == nil {
			return errors.New("monitor: WithNotifier: nil notifier")
		}
		o.notifier = n
		return nil
	}
}

// WithDetectors adds detectors run after the rules at every sweep.
func WithDetectors(ds ...Detector) Option {
	return func(o *options) error {
		for _, d := range ds {
			if d == nil {
				return errors.New("monitor: WithDetectors: nil detector")
			}
		}
		o.detectors = append(o.detectors, ds...)
		return nil
	}
}

// WithClock sets the daemon's clock (default time.Now). The latest complete
// day of a sweep is the UTC day before now().
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("monitor: WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("monitor: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithStdout sets where the log notifier writes when Slack is not
// configured (default os.Stdout).
func WithStdout(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("monitor: WithStdout: nil writer")
		}
		o.stdout = w
		return nil
	}
}

// WithSlackHTTPClient sets the HTTP client the Slack notifiers use.
func WithSlackHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("monitor: WithSlackHTTPClient: nil client")
		}
		o.httpClient = hc
		return nil
	}
}

// New builds a daemon from cfg (which should have passed
// [Config.Validate]). It opens the store (creating its directory) unless
// [WithStore] is given, builds the SendGrid client and the notifier, and
// adds the IP-pool detector (package pools) when pools.enabled is true.
func New(ctx context.Context, cfg Config, opts ...Option) (*Daemon, error) {
	o := &options{now: time.Now, logger: slog.New(slog.DiscardHandler), stdout: os.Stdout}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	d := &Daemon{
		cfg:       cfg,
		detectors: o.detectors,
		now:       o.now,
		logger:    o.logger,
		metrics:   newMetrics(),
	}
	if d.cfg.Sweep.Concurrency < 1 {
		d.cfg.Sweep.Concurrency = 1
	}
	if d.cfg.Sweep.LookbackDays < 1 {
		d.cfg.Sweep.LookbackDays = 30
	}
	if d.cfg.Sweep.BackfillDays < 1 || d.cfg.Sweep.BackfillDays > MaxWindowDays {
		d.cfg.Sweep.BackfillDays = defaultBackDay
	}
	if d.cfg.Notify.RepeatInterval <= 0 {
		d.cfg.Notify.RepeatInterval = 24 * time.Hour
	}
	sched := o.schedule
	if sched == nil {
		s, err := cfg.ParseSchedule()
		if err != nil {
			return nil, fmt.Errorf("monitor: schedule: %w", err)
		}
		sched = s
	}
	d.schedule = sched

	copts := []client.Option{client.WithLogger(d.logger), client.WithRequestHook(d.observeRequest), client.WithNow(d.now),
		client.WithMaxInFlight(d.cfg.Sweep.Concurrency)}
	switch {
	case o.client != nil:
		d.client = o.client
	case o.clientFunc != nil:
		c, err := o.clientFunc(copts...)
		if err != nil {
			return nil, fmt.Errorf("monitor: client: %w", err)
		}
		d.client = c
	default:
		c, err := NewClient(cfg, copts...)
		if err != nil {
			return nil, err
		}
		d.client = c
	}

	if o.notifier != nil {
		d.notifier = o.notifier
	} else {
		n, err := NewNotifier(cfg, o.stdout, d.logger, o.httpClient)
		if err != nil {
			return nil, err
		}
		d.notifier = n
	}

	if cfg.Pools.Enabled && !o.noPools {
		d.detectors = append(d.detectors, pools.NewDetector(d.client, cfg.Pools, pools.WithLogger(d.logger), pools.WithNow(d.now)))
	}

	if o.store != nil {
		d.store = o.store
	} else {
		st, err := OpenStore(ctx, cfg)
		if err != nil {
			return nil, err
		}
		d.store, d.ownStore = st, true
	}
	return d, nil
}

// NewClient builds the SendGrid client described by cfg's "sendgrid"
// section, with extra options appended.
func NewClient(cfg Config, extra ...client.Option) (*client.Client, error) {
	opts := []client.Option{}
	if cfg.SendGrid.Region != "" {
		opts = append(opts, client.WithRegion(cfg.SendGrid.Region))
	}
	if cfg.SendGrid.BaseURL != "" {
		opts = append(opts, client.WithBaseURL(cfg.SendGrid.BaseURL))
	}
	c, err := client.New(cfg.SendGrid.APIKey.Reveal(), append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("monitor: client: %w", err)
	}
	return c, nil
}

// OpenStore opens the store at cfg.Store.Path (default [store.DefaultPath]),
// creating its directory.
func OpenStore(ctx context.Context, cfg Config) (*store.SQLite, error) {
	p := cfg.Store.Path
	if p == "" {
		def, err := store.DefaultPath()
		if err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		p = def
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("monitor: store directory: %w", err)
	}
	st, err := store.Open(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("monitor: open store %s: %w", p, err)
	}
	return st, nil
}

// NewNotifier builds the notifier described by cfg's "notify.slack"
// section: an incoming webhook, a bot posting to a channel, or (neither
// set) the log sink writing to stdout. hc may be nil.
func NewNotifier(cfg Config, stdout io.Writer, logger *slog.Logger, hc *http.Client) (notify.Notifier, error) {
	s := cfg.Notify.Slack
	opts := []notify.Option{notify.WithLogger(logger), notify.WithDigestThreshold(s.DigestThreshold),
		notify.WithExternalURL(cfg.HTTP.ExternalURL)}
	if s.TopN > 0 {
		opts = append(opts, notify.WithTopN(s.TopN))
	}
	if hc != nil {
		opts = append(opts, notify.WithHTTPClient(hc))
	}
	switch {
	case !s.WebhookURL.IsZero():
		n, err := notify.NewWebhook(s.WebhookURL, opts...)
		if err != nil {
			return nil, fmt.Errorf("monitor: slack webhook: %w", err)
		}
		return n, nil
	case !s.BotToken.IsZero():
		if s.APIURL != "" {
			opts = append(opts, notify.WithAPIURL(s.APIURL))
		}
		n, err := notify.NewBot(s.BotToken, s.Channel, opts...)
		if err != nil {
			return nil, fmt.Errorf("monitor: slack bot: %w", err)
		}
		return n, nil
	}
	return notify.NewLog(stdout), nil
}

// Close releases the store when the daemon opened it.
func (d *Daemon) Close() error {
	if d.ownStore {
		return d.store.Close()
	}
	return nil
}

// Store returns the daemon's store.
func (d *Daemon) Store() history.Store { return d.store }

// Client returns the daemon's SendGrid client.
func (d *Daemon) Client() *client.Client { return d.client }

// Config returns the daemon's configuration.
func (d *Daemon) Config() Config { return d.cfg }

// observeRequest is the client's request hook: it feeds the request and
// rate-limit metrics.
func (d *Daemon) observeRequest(ev client.RequestEvent) {
	d.requests.Add(1)
	d.metrics.observeRequest(ev)
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	c.l.Debug("cron: "+msg, cronKV(kv)...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(cronKV(kv), slog.Any(logKeyError, err))...)
}

// cronKV turns cron's key/value list into slog attributes.
func cronKV(kv []any) []any {
	out := make([]any, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			k = fmt.Sprint(kv[i])
		}
		out = append(out, slog.Any(k, kv[i+1]))
	}
	return out
}

// Run runs the daemon until ctx ends: the HTTP server (when http.addr is
// set; idle connections closed after [HTTPIdleTimeout], at most
// [HTTPMaxConns] open) and the cron schedule. A panic in one run is recovered and logged,
// and a run still going when the next is due makes that next one skip.
// When the last successful sweep is older than one schedule period (or
// there is none), a sweep starts at once. Run returns nil when ctx ends
// after a clean shutdown (in-flight sweep stopped, HTTP drained).
func (d *Daemon) Run(ctx context.Context) error {
	var srv *http.Server
	srvErr := make(chan error, 1)
	if d.cfg.HTTP.Addr != "" {
		ln, err := net.Listen("tcp", d.cfg.HTTP.Addr)
		if err != nil {
			return fmt.Errorf("monitor: http: %w", err)
		}
		var cl *connLimiter
		srv, cl = newHTTPServer(d.Handler(), ln, HTTPMaxConns)
		d.httpConns.Store(cl)
		d.logger.Info("http server listening", slog.String("addr", ln.Addr().String()))
		go func() { srvErr <- srv.Serve(cl) }()
	}
	d.refreshGauges(ctx)

	logger := cronLogger{d.logger}
	c := cron.New(
		cron.WithLocation(time.UTC),
		cron.WithLogger(logger),
		// Recover outermost catches a panic anywhere in the chain; the
		// inner Recover is needed because cron v3.0.1's SkipIfStillRunning
		// hands its token back without defer: a panic crossing it would
		// make every later run skip.
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger), cron.Recover(logger)),
	)
	id := c.Schedule(d.schedule, cron.FuncJob(func() { d.scheduledRun(ctx) }))
	c.Start()
	if d.stale(ctx) {
		d.logger.Info("last successful sweep is older than one period: sweeping now")
		// The wrapped job, so that the start-up run is recovered and the
		// scheduled runs skip while it goes on.
		go c.Entry(id).WrappedJob.Run()
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-srvErr:
		err = fmt.Errorf("monitor: http: %w", err)
	}
	d.logger.Info("shutting down")
	stopped := c.Stop()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if serr := srv.Shutdown(sctx); serr != nil && err == nil {
			err = fmt.Errorf("monitor: http shutdown: %w", serr)
		}
		cancel()
	}
	<-stopped.Done() // the running sweep ends: it uses ctx
	return err
}

// scheduledRun is the cron job: one sweep with the daemon's context.
func (d *Daemon) scheduledRun(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	_, _ = d.Sweep(ctx, SweepOptions{})
}

// stale reports whether the last successful sweep is older than one
// schedule period (or missing).
func (d *Daemon) stale(ctx context.Context) bool {
	last, ok, err := d.store.LastSweep(ctx, true)
	if err != nil {
		d.logger.Warn("reading last sweep", slog.Any(logKeyError, err))
		return true
	}
	if !ok {
		return true
	}
	now := d.now()
	return now.Sub(last.Finished) > d.period(now)
}

// period is the time between two scheduled runs after now.
func (d *Daemon) period(now time.Time) time.Duration {
	n1 := d.schedule.Next(now)
	if p := d.schedule.Next(n1).Sub(n1); p > 0 {
		return p
	}
	return 24 * time.Hour
}

// withSchedule replaces the config's schedule (tests use sub-second ones).
func withSchedule(s cron.Schedule) Option {
	return func(o *options) error {
		o.schedule = s
		return nil
	}
}
