package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/errjoin"
	"github.com/sgseq/sgseq/internal/logging"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/rules"
)

// Environment variables read by [Load]. Each one, when set and non-empty,
// overrides the value of the matching config key (or supplies it when there
// is no config file at all).
const (
	EnvAPIKey      = "SENDGRID_API_KEY"  // sendgrid.api_key
	EnvBaseURL     = "SENDGRID_BASE_URL" // sendgrid.base_url
	EnvSlackHook   = "SLACK_WEBHOOK_URL" // notify.slack.webhook_url
	EnvSlackToken  = "SLACK_BOT_TOKEN"   // notify.slack.bot_token
	EnvSlackChan   = "SLACK_CHANNEL"     // notify.slack.channel
	EnvSlackAPIURL = "SLACK_API_URL"     // notify.slack.api_url
	EnvStorePath   = "SGSEQ_DB"          // store.path
	DefaultHTTP    = "127.0.0.1:9464"    // default http.addr
	DefaultCron    = "0 6 * * *"         // default schedule: daily at 06:00 UTC
	// DefaultSlackAPIURL is the default notify.slack.api_url, slack-go's
	// default Slack Web API base.
	DefaultSlackAPIURL = "https://slack.com/api/"
	MaxWindowDays      = client.RetentionDays // SendGrid keeps SEQ scores this many days
	defaultBackDay     = 30
)

// EnvExternalURL overrides http.external_url, like the variables above.
const EnvExternalURL = "SGSEQ_EXTERNAL_URL"

// Config is the monitor's configuration, read from YAML by [Load] or built
// with [DefaultConfig]. Every credential is a [secret.Secret], so printing a
// Config (%v, %+v, JSON, slog) never shows one.
type Config struct {
	// SendGrid is how to reach the API.
	SendGrid SendGridConfig `yaml:"sendgrid"`
	// Accounts selects the parent and subusers to monitor.
	Accounts AccountsConfig `yaml:"accounts"`
	// Schedule is a standard 5-field cron spec (or a descriptor such as
	// "@daily" or "@every 6h"), evaluated in UTC unless it starts with
	// "CRON_TZ=Zone ". Default "0 6 * * *".
	Schedule string `yaml:"schedule"`
	// Store is where history and alert state live.
	Store StoreConfig `yaml:"store"`
	// Rules configures detection; see package rules.
	Rules RulesConfig `yaml:"rules"`
	// Notify configures notification.
	Notify NotifyConfig `yaml:"notify"`
	// Sweep tunes fetching.
	Sweep SweepConfig `yaml:"sweep"`
	// HTTP configures the /healthz, /readyz and /metrics server.
	HTTP HTTPConfig `yaml:"http"`
	// Log configures structured logging.
	Log LogConfig `yaml:"log"`
	// Pools configures the IP-pool planner and its outlier detector; see
	// package pools.
	Pools pools.Config `yaml:"pools"`

	file  string         // file the config was read from, for error positions
	lines map[string]int // field path -> line, for Validate errors
	// fromEnv maps a field path set by an environment variable to the
	// variable, so that its errors name the variable, not a file line.
	fromEnv map[string]string
	// secretFields lists the secret fields written in the file itself.
	secretFields []string
	// warnings are problems that do not stop the config from loading.
	warnings []string
}

// Warnings returns the problems found by [Load] that do not make the config
// invalid: a config file that holds secrets (an api_key, webhook_url or
// bot_token written in it, not a ${VAR} reference) and is readable by its
// group or others. Print them to the user.
func (c *Config) Warnings() []string { return c.warnings }

// SendGridConfig is the "sendgrid" section.
type SendGridConfig struct {
	// APIKey is the SendGrid API key (env SENDGRID_API_KEY). Required.
	APIKey secret.Secret `yaml:"api_key"`
	// BaseURL overrides the API base URL (env SENDGRID_BASE_URL).
	BaseURL string `yaml:"base_url"`
	// Region is "global" (default) or "eu".
	Region client.Region `yaml:"region"`
}

// AccountsConfig is the "accounts" section: which accounts a sweep covers.
type AccountsConfig struct {
	// IncludeParent monitors the parent account itself. Default true.
	IncludeParent bool `yaml:"include_parent"`
	// Include lists subuser usernames or path.Match globs to monitor; empty
	// means every subuser.
	Include []string `yaml:"include"`
	// Exclude lists usernames or globs never monitored; it wins over
	// Include.
	Exclude []string `yaml:"exclude"`
	// IncludeDisabled also monitors disabled subusers. Default false.
	IncludeDisabled bool `yaml:"include_disabled"`
}

// StoreConfig is the "store" section.
type StoreConfig struct {
	// Path is the SQLite file (env SGSEQ_DB). Empty means the default
	// location under the user's state directory.
	Path string `yaml:"path"`
	// RetentionDays prunes history older than this many days after each
	// sweep; 0 keeps it forever (the default).
	RetentionDays int `yaml:"retention_days"`
}

// NotifyConfig is the "notify" section.
type NotifyConfig struct {
	// RepeatInterval is how long a still-firing alert waits before a
	// reminder. Default 24h.
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	// Slack configures Slack delivery; without a webhook URL or bot token
	// notifications are written to standard output.
	Slack SlackConfig `yaml:"slack"`
}

// SlackConfig is the "notify.slack" section. Set either WebhookURL, or
// BotToken and Channel.
type SlackConfig struct {
	// WebhookURL is an incoming-webhook URL (env SLACK_WEBHOOK_URL).
	WebhookURL secret.Secret `yaml:"webhook_url"`
	// BotToken is a bot token, xoxb-... (env SLACK_BOT_TOKEN).
	BotToken secret.Secret `yaml:"bot_token"`
	// Channel is the channel for BotToken (env SLACK_CHANNEL).
	Channel string `yaml:"channel"`
	// APIURL is the base URL of the Slack Web API the bot posts to (env
	// SLACK_API_URL), for Enterprise Grid proxies and tests. Default
	// [DefaultSlackAPIURL]; unused with WebhookURL.
	APIURL string `yaml:"api_url"`
	// DigestThreshold: with more alerts than this in one sweep (or on the
	// first check of a store), a digest with one line per account is sent
	// instead of one message per account.
	// Default 5; 0 always sends a digest.
	DigestThreshold int `yaml:"digest_threshold"`
	// TopN is how many of the worst accounts the first message of a digest
	// lists when the digest does not fit one Slack message; every other
	// account follows in the digest's thread (bot) or in follow-up messages
	// (webhook). Default 10.
	TopN int `yaml:"top_n"`
}

// SweepConfig is the "sweep" section.
type SweepConfig struct {
	// Concurrency is the number of API calls in flight. Default 4.
	Concurrency int `yaml:"concurrency"`
	// PendingRetries is how many more times a date answered 202 (scores
	// not ready) is asked again within one run. Default 8.
	PendingRetries int `yaml:"pending_retries"`
	// PendingBackoff is the wait before the first such ask; it doubles
	// each time up to PendingMaxBackoff, each wait drawn from the upper
	// half of its step (jitter). Other dates are fetched meanwhile.
	// Default 1s.
	PendingBackoff time.Duration `yaml:"pending_backoff"`
	// PendingMaxBackoff caps one wait after a 202. Default 1m.
	PendingMaxBackoff time.Duration `yaml:"pending_max_backoff"`
	// PendingMaxWait bounds the total wait for one date within a run;
	// then the date is left for the next run. 0: no bound but
	// PendingRetries. Default 5m.
	PendingMaxWait time.Duration `yaml:"pending_max_wait"`
	// Retries is how many more times a piece that failed in a way that
	// may pass (5xx, 429, a cut-off body, a timeout, after the client's
	// own retries) is asked again within one run: a date of subuser
	// scores, a range of parent scores, the subuser list, a new subuser's
	// history. Default 2.
	Retries int `yaml:"retries"`
	// RetryBackoff is the wait before the first such retry; it doubles
	// (jittered) up to 1m. Default 5s.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// BackfillDays is how many days the first run fetches. Default 30, at
	// most 90.
	BackfillDays int `yaml:"backfill_days"`
	// LookbackDays is how many days of stored history detection reads,
	// plus each account's newest scored day when it is older. Default 30.
	LookbackDays int `yaml:"lookback_days"`
}

// HTTPConfig is the "http" section.
type HTTPConfig struct {
	// Addr is the listen address of the /healthz, /readyz and /metrics
	// server; "" disables it. Default "127.0.0.1:9464".
	Addr string `yaml:"addr"`
	// ExternalURL is the URL where that server is reached by the people
	// reading Slack (env SGSEQ_EXTERNAL_URL), such as
	// https://seq.example.com behind a reverse proxy. When set, the digest
	// links its header to the overview page (/) and each account to
	// /accounts/{account}. Default "": no links.
	ExternalURL string `yaml:"external_url"`
}

// LogConfig is the "log" section.
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// DefaultConfig returns the configuration used when no file is given: all
// subusers and the parent, daily at 06:00 UTC, default rules, 30 days of
// first backfill, log sink for notifications.
func DefaultConfig() Config {
	return Config{
		SendGrid: SendGridConfig{Region: client.Global},
		Accounts: AccountsConfig{IncludeParent: true},
		Schedule: DefaultCron,
		Rules:    defaultRules(),
		Notify: NotifyConfig{
			RepeatInterval: rules.DefaultRepeat,
			Slack: SlackConfig{APIURL: DefaultSlackAPIURL, DigestThreshold: notify.DefaultDigestThreshold,
				TopN: notify.DefaultTopN},
		},
		Sweep: SweepConfig{
			Concurrency:       4,
			PendingRetries:    8,
			PendingBackoff:    time.Second,
			PendingMaxBackoff: time.Minute,
			PendingMaxWait:    5 * time.Minute,
			Retries:           2,
			RetryBackoff:      5 * time.Second,
			BackfillDays:      defaultBackDay,
			LookbackDays:      30,
		},
		HTTP:  HTTPConfig{Addr: DefaultHTTP},
		Log:   LogConfig{Level: "info", Format: "text"},
		Pools: pools.DefaultConfig(),
	}
}

// ParseSchedule parses Schedule. A spec without a "CRON_TZ=" or "TZ="
// prefix is evaluated in UTC.
func (c *Config) ParseSchedule() (cron.Schedule, error) {
	spec := strings.TrimSpace(c.Schedule)
	if spec == "" {
		spec = DefaultCron
	}
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=UTC " + spec
	}
	// cron turns "@every 0s" (or a negative or sub-second interval) into
	// every second: refuse it rather than sweep SendGrid in a loop.
	if _, rest, _ := strings.Cut(spec, " "); strings.HasPrefix(strings.TrimSpace(rest), "@every ") {
		every := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "@every "))
		if d, err := time.ParseDuration(every); err == nil && d < time.Second {
			return nil, fmt.Errorf("%s: @every %s: want an interval of at least 1s", quoted(c.Schedule), every)
		}
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", quoted(c.Schedule), err)
	}
	return s, nil
}

// Period returns the time between two runs of the schedule following now;
// "a sweep is stale" means older than one period.
func (c *Config) Period(now time.Time) time.Duration {
	s, err := c.ParseSchedule()
	if err != nil {
		return 24 * time.Hour
	}
	n1 := s.Next(now)
	n2 := s.Next(n1)
	if p := n2.Sub(n1); p > 0 {
		return p
	}
	return 24 * time.Hour
}

// Logger builds the slog logger described by the "log" section, writing to w.
func (c *Config) Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	lvl, err := logging.ParseLevel(c.Log.Level)
	if err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Env looks up an environment variable, like [os.LookupEnv] (the default
// when nil is passed to [Load] or [Parse]).
type Env func(key string) (string, bool)

func (e Env) lookup(key string) (string, bool) {
	if e == nil {
		return os.LookupEnv(key)
	}
	return e(key)
}

// applyEnv overrides config values with the environment variables listed
// at [EnvAPIKey].
func (c *Config) applyEnv(env Env) {
	set := func(key string, field string, dst func(string)) {
		if v, ok := env.lookup(key); ok && v != "" {
			dst(v)
			if c.lines != nil {
				delete(c.lines, field) // the value no longer comes from the file
			}
			if c.fromEnv == nil {
				c.fromEnv = map[string]string{}
			}
			c.fromEnv[field] = key
		}
	}
	set(EnvAPIKey, "sendgrid.api_key", func(v string) { c.SendGrid.APIKey = secret.Secret(v) })
	set(EnvBaseURL, "sendgrid.base_url", func(v string) { c.SendGrid.BaseURL = v })
	set(EnvSlackHook, "notify.slack.webhook_url", func(v string) {
		c.Notify.Slack.WebhookURL = secret.Secret(v)
		c.Notify.Slack.BotToken = ""
	})
	set(EnvSlackToken, "notify.slack.bot_token", func(v string) {
		c.Notify.Slack.BotToken = secret.Secret(v)
		if _, hook := env.lookup(EnvSlackHook); !hook {
			c.Notify.Slack.WebhookURL = ""
		}
	})
	set(EnvSlackChan, "notify.slack.channel", func(v string) { c.Notify.Slack.Channel = v })
	set(EnvSlackAPIURL, "notify.slack.api_url", func(v string) { c.Notify.Slack.APIURL = v })
	set(EnvStorePath, "store.path", func(v string) { c.Store.Path = v })
	set(EnvExternalURL, "http.external_url", func(v string) { c.HTTP.ExternalURL = v })
}

// Load reads the YAML config file at path (when path is not ""), applies
// the environment overrides and validates the result. With path "" it
// starts from [DefaultConfig]. env nil means the process environment.
//
// Every error names the file, line and field; several problems are joined.
func Load(path string, env Env) (Config, error) {
	if path == "" {
		c := DefaultConfig()
		c.applyEnv(env)
		return c, c.finishErrors(c.Validate())
	}
	data, err := readConfigFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := Parse(path, data, env)
	if w := permWarning(path, c.secretFields); w != "" {
		c.warnings = append(c.warnings, w)
	}
	return c, err
}

// Parse is [Load] for YAML already read; file names it in errors.
func Parse(file string, data []byte, env Env) (Config, error) {
	c := DefaultConfig()
	c.file = file
	c.lines = map[string]int{}
	literal, decErr := decodeYAML(file, data, &c, env, c.lines)
	c.secretFields = literal
	c.applyEnv(env)
	valErr := c.Validate()
	if decErr == nil {
		return c, c.finishErrors(valErr)
	}
	// Report both, but not a validation error about a field that already
	// failed to decode (it holds its default).
	errs := errjoin.Split(decErr)
	bad := map[string]bool{}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			if fe.Field == "" {
				return c, c.finishErrors(decErr) // a syntax error: the rest means nothing
			}
			bad[fe.Field] = true
		}
	}
	for _, e := range errjoin.Split(valErr) {
		var fe *FieldError
		if errors.As(e, &fe) && bad[fe.Field] {
			continue
		}
		errs = append(errs, e)
	}
	return c, c.finishErrors(errors.Join(errs...))
}
