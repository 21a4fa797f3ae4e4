package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/errjoin"
)

const testKey = "SG.top-secret-key-value"

func mapEnv(kv ...string) Env {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		env     Env
		wantErr []string // substrings, each must appear
		check   func(t *testing.T, c Config)
	}{
		{
			name: "full",
			yaml: `
sendgrid:
  api_key: ${SENDGRID_KEY_FILE}
  region: eu
accounts:
  include_parent: false
  include: ["shop-*", "news"]
  exclude: ["shop-test*"]
schedule: "CRON_TZ=Europe/Paris 30 7 * * 1-5"
store:
  path: /tmp/x.db
  retention_days: 400
notify:
  repeat_interval: 12h
  slack:
    bot_token: ${TOKEN}
    channel: "#seq"
    digest_threshold: 0
    top_n: 3
sweep:
  concurrency: ${CONC:-8}
  pending_backoff: 1s
http:
  addr: ":9000"
log: {level: debug, format: json}
`,
			env: mapEnv("SENDGRID_KEY_FILE", testKey, "TOKEN", "xoxb-secret-token"),
			check: func(t *testing.T, c Config) {
				if c.SendGrid.APIKey.Reveal() != testKey || c.SendGrid.Region != client.EU {
					t.Errorf("sendgrid = %+v", c.SendGrid)
				}
				if c.Accounts.IncludeParent || len(c.Accounts.Include) != 2 || c.Accounts.Exclude[0] != "shop-test*" {
					t.Errorf("accounts = %+v", c.Accounts)
				}
				if c.Notify.RepeatInterval != 12*time.Hour || c.Notify.Slack.BotToken.Reveal() != "xoxb-secret-token" || c.Notify.Slack.TopN != 3 || c.Notify.Slack.DigestThreshold != 0 {
					t.Errorf("notify = %+v", c.Notify)
				}
				if c.Sweep.Concurrency != 8 || c.Sweep.PendingBackoff != time.Second || c.Sweep.PendingRetries != 8 || c.Sweep.Retries != 2 {
					t.Errorf("sweep = %+v (defaults must survive)", c.Sweep)
				}
				if c.Store.RetentionDays != 400 || c.Log.Format != "json" || c.HTTP.Addr != ":9000" {
					t.Errorf("store/log/http = %+v %+v %+v", c.Store, c.Log, c.HTTP)
				}
			},
		},
		{
			name: "env overrides file values",
			yaml: "sendgrid:\n  api_key: from-file\n  base_url: http://file\nstore:\n  path: file.db\n",
			env:  mapEnv(EnvAPIKey, testKey, EnvBaseURL, "http://env", EnvStorePath, "env.db", EnvSlackHook, "https://hooks.example/T/B/secret"),
			check: func(t *testing.T, c Config) {
				if c.SendGrid.APIKey.Reveal() != testKey || c.SendGrid.BaseURL != "http://env" || c.Store.Path != "env.db" {
					t.Errorf("env did not override: %+v %+v", c.SendGrid, c.Store)
				}
				if c.Notify.Slack.WebhookURL.Reveal() != "https://hooks.example/T/B/secret" {
					t.Errorf("webhook not taken from env")
				}
			},
		},
		{
			name: "empty file is all defaults",
			yaml: "",
			env:  mapEnv(EnvAPIKey, testKey),
			check: func(t *testing.T, c Config) {
				if c.Schedule != DefaultCron || c.Sweep.Concurrency != 4 || c.HTTP.Addr != DefaultHTTP || !c.Accounts.IncludeParent {
					t.Errorf("defaults lost: %+v", c)
				}
			},
		},
		{
			name:    "unknown top-level key",
			yaml:    "sendgrid:\n  api_key: x\nschedul: \"@daily\"\n",
			wantErr: []string{"cfg.yaml:3: schedul: unknown field \"schedul\" (did you mean \"schedule\"?)"},
		},
		{
			name:    "unknown nested key",
			yaml:    "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    webhook: https://x\n",
			wantErr: []string{"cfg.yaml:5: notify.slack.webhook: unknown field"},
		},
		{
			name:    "bad type",
			yaml:    "sendgrid:\n  api_key: x\nsweep:\n  concurrency: four\n",
			wantErr: []string{`cfg.yaml:4: sweep.concurrency: invalid value: want an integer, got "four"`},
		},
		{
			name:    "bad duration",
			yaml:    "sendgrid:\n  api_key: x\nnotify:\n  repeat_interval: 1 day\n",
			wantErr: []string{"cfg.yaml:4: notify.repeat_interval: invalid value: want a duration"},
		},
		{
			name:    "mapping where a list is expected",
			yaml:    "sendgrid:\n  api_key: x\naccounts:\n  include: {a: b}\n",
			wantErr: []string{"cfg.yaml:4: accounts.include: invalid value: want a list, got a mapping"},
		},
		{
			name:    "bad cron",
			yaml:    "sendgrid:\n  api_key: x\nschedule: \"61 * * * *\"\n",
			wantErr: []string{"cfg.yaml:3: schedule: invalid value"},
		},
		{
			name:    "unset env var named",
			yaml:    "sendgrid:\n  api_key: ${SG_KEY_NOT_SET}\n",
			env:     mapEnv(),
			wantErr: []string{"cfg.yaml:2: sendgrid.api_key: environment variable is not set: SG_KEY_NOT_SET"},
		},
		{
			name: "env default and escape",
			yaml: "sendgrid:\n  api_key: ${SG_KEY_NOT_SET:-fallback}\nnotify:\n  slack:\n    channel: \"$${literal}\"\n",
			env:  mapEnv(),
			check: func(t *testing.T, c Config) {
				if c.SendGrid.APIKey.Reveal() != "fallback" || c.Notify.Slack.Channel != "${literal}" {
					t.Errorf("got key %q channel %q", c.SendGrid.APIKey.Reveal(), c.Notify.Slack.Channel)
				}
			},
		},
		{
			name:    "missing key from everywhere",
			yaml:    "schedule: \"@hourly\"\n",
			env:     mapEnv(),
			wantErr: []string{"sendgrid.api_key: required (set it or $SENDGRID_API_KEY)"},
		},
		{
			name:    "bot token without channel; several errors at once",
			yaml:    "sendgrid:\n  api_key: x\n  region: mars\nnotify:\n  slack:\n    bot_token: xoxb-1\nsweep:\n  concurrency: 0\n",
			wantErr: []string{"cfg.yaml:5: notify.slack.channel: required with bot_token", "cfg.yaml:3: sendgrid.region: invalid value: \"mars\"", "cfg.yaml:8: sweep.concurrency"},
		},
		{
			name: "slack api_url default, from the file, from the env",
			yaml: "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    api_url: https://grid.example/api/\n",
			env:  mapEnv(),
			check: func(t *testing.T, c Config) {
				if c.Notify.Slack.APIURL != "https://grid.example/api/" {
					t.Errorf("api_url = %q", c.Notify.Slack.APIURL)
				}
				if d := DefaultConfig().Notify.Slack.APIURL; d != "https://slack.com/api/" {
					t.Errorf("default api_url = %q", d)
				}
				e, err := Parse("cfg.yaml", []byte("sendgrid:\n  api_key: x\nnotify:\n  slack:\n    api_url: https://grid.example/api/\n"), mapEnv(EnvSlackAPIURL, "http://127.0.0.1:8080/api/"))
				if err != nil || e.Notify.Slack.APIURL != "http://127.0.0.1:8080/api/" {
					t.Errorf("$SLACK_API_URL: api_url = %q, err %v", e.Notify.Slack.APIURL, err)
				}
			},
		},
		{
			name:    "slack api_url not a URL",
			yaml:    "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    api_url: slack.com/api\n",
			wantErr: []string{"cfg.yaml:5: notify.slack.api_url: invalid value: want an http:// or https:// URL such as https://slack.com/api/"},
		},
		{
			name:    "slack api_url without a host",
			yaml:    "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    api_url: \"https:///api/\"\n",
			wantErr: []string{"cfg.yaml:5: notify.slack.api_url: invalid value"},
		},
		{
			name:    "webhook http to a public host",
			yaml:    "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    webhook_url: http://hooks.slack.com/services/T/B/plainSECRET\n",
			wantErr: []string{"cfg.yaml:5: notify.slack.webhook_url: invalid value: webhook URL is http:// to a host that is not loopback: want an https:// URL with a host (http:// only for a loopback host: localhost, 127.0.0.1, [::1])"},
		},
		{
			name:    "webhook other scheme",
			yaml:    "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    webhook_url: ftp://hooks.slack.com/x\n",
			wantErr: []string{"cfg.yaml:5: notify.slack.webhook_url: invalid value: webhook URL has a scheme other than https"},
		},
		{
			name: "webhook http to loopback",
			yaml: "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    webhook_url: http://127.0.0.1:8080/hook\n",
			check: func(t *testing.T, c Config) {
				if c.Notify.Slack.WebhookURL.Reveal() != "http://127.0.0.1:8080/hook" {
					t.Errorf("webhook_url not kept")
				}
			},
		},
		{
			name:    "duplicate key",
			yaml:    "sendgrid:\n  api_key: x\n  api_key: y\n",
			wantErr: []string{"cfg.yaml:3: sendgrid.api_key: invalid value: key \"api_key\" appears twice"},
		},
		{
			name:    "syntax error",
			yaml:    "sendgrid:\n  api_key: [x\n",
			wantErr: []string{"cfg.yaml:"},
		},
		{
			name:    "bad glob",
			yaml:    "sendgrid:\n  api_key: x\naccounts:\n  exclude: [\"a[\"]\n",
			wantErr: []string{"cfg.yaml:4: accounts.exclude[0]: invalid value: bad glob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := tt.env
			if env == nil {
				env = mapEnv()
			}
			c, err := Parse("cfg.yaml", []byte(tt.yaml), env)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("Parse: no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FieldError", err)
			}
		})
	}
}

func TestConfigSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	hook := "https://hooks.slack.com/services/T000/B000/verysecretpath"
	yaml := "sendgrid:\n  api_key: ${K}\nnotify:\n  slack:\n    webhook_url: ${H}\n    bot_token: ${T}\n"
	c, err := Parse("cfg.yaml", []byte(yaml), mapEnv("K", testKey, "H", hook, "T", "xoxb-token-secret"))
	if err == nil {
		t.Fatal("want an error for webhook_url and bot_token together")
	}
	js, _ := json.Marshal(c)
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "config", c)
	for _, out := range []string{err.Error(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), string(js), logs.String()} {
		for _, s := range []string{testKey, hook, "verysecretpath", "xoxb-token-secret"} {
			if strings.Contains(out, s) {
				t.Errorf("secret %q leaked in %q", s, out)
			}
		}
	}
	// A secret in a value with the wrong type is not echoed either.
	_, err = Parse("cfg.yaml", []byte("sendgrid:\n  api_key: [${K}]\n"), mapEnv("K", testKey))
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("err = %v", err)
	}
}

func TestLoadWithoutFile(t *testing.T) {
	t.Parallel()
	c, err := Load("", mapEnv(EnvAPIKey, testKey, EnvSlackToken, "xoxb-1", EnvSlackChan, "#ops", EnvStorePath, "/tmp/s.db"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SendGrid.APIKey.Reveal() != testKey || c.Notify.Slack.Channel != "#ops" || c.Store.Path != "/tmp/s.db" {
		t.Errorf("config = %+v", c)
	}
	if _, err := Load("", mapEnv()); !errors.Is(err, ErrRequired) {
		t.Errorf("no key: err = %v, want ErrRequired", err)
	}
	if _, err := Load("testdata/does-not-exist.yaml", mapEnv()); err == nil {
		t.Error("missing file: no error")
	}
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		spec     string
		wantNext time.Time
		period   time.Duration
	}{
		{"", time.Date(2026, 3, 11, 6, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"0 6 * * *", time.Date(2026, 3, 11, 6, 0, 0, 0, time.UTC), 24 * time.Hour},
		{"@hourly", time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC), time.Hour},
		{"CRON_TZ=America/New_York 0 6 * * *", time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC), 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			c.Schedule = tt.spec
			s, err := c.ParseSchedule()
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(now); !got.Equal(tt.wantNext) {
				t.Errorf("Next = %v, want %v", got, tt.wantNext)
			}
			if got := c.Period(now); got != tt.period {
				t.Errorf("Period = %v, want %v", got, tt.period)
			}
		})
	}
	// An interval cron would round up to every second is refused.
	for _, spec := range []string{"@every 0s", "@every -5s", "@every 500ms", "CRON_TZ=Europe/Paris @every 0s"} {
		c := DefaultConfig()
		c.Schedule = spec
		if _, err := c.ParseSchedule(); err == nil || !strings.Contains(err.Error(), "at least 1s") {
			t.Errorf("schedule %q: err = %v, want it refused", spec, err)
		}
	}
	c := DefaultConfig()
	c.Schedule = "@every 5s"
	if _, err := c.ParseSchedule(); err != nil {
		t.Errorf("@every 5s: %v", err)
	}
}

func TestExampleConfig(t *testing.T) {
	t.Parallel()
	c, err := Load("../examples/sgseq.yaml", mapEnv(EnvAPIKey, testKey, EnvSlackHook, "https://hooks.slack.com/services/T/B/x"))
	if err != nil {
		t.Fatalf("examples/sgseq.yaml: %v", err)
	}
	if c.Schedule == "" || c.Notify.Slack.WebhookURL.IsZero() {
		t.Errorf("example config = %+v", c)
	}
	// The example documents the defaults: apart from the credentials it
	// must equal DefaultConfig.
	want := DefaultConfig()
	want.SendGrid.APIKey = c.SendGrid.APIKey
	want.Notify.Slack.WebhookURL = c.Notify.Slack.WebhookURL
	want.Accounts.Include, want.Accounts.Exclude = []string{}, []string{}
	c.file, c.lines, c.fromEnv = "", nil, nil
	if got, w := fmt.Sprintf("%#v", c), fmt.Sprintf("%#v", want); got != w {
		t.Errorf("examples/sgseq.yaml differs from DefaultConfig:\n got %s\nwant %s", got, w)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("sendgrid:\n  api_key: x\n"))
	f.Add([]byte("sweep: {concurrency: ${X:-3}}\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("f.yaml", data, mapEnv("X", "1"))
		if err != nil && err.Error() == "" {
			t.Error("empty error")
		}
	})
}

func TestConfigSectionErrorsPositioned(t *testing.T) {
	t.Parallel()
	yaml := "sendgrid:\n  api_key: x\nrules:\n  drop:\n    min_drop: -1\npools:\n  window_days: 0\n"
	_, err := Parse("cfg.yaml", []byte(yaml), mapEnv())
	for _, w := range []string{"cfg.yaml:5: rules.drop.min_drop: invalid value", "cfg.yaml:7: pools.window_days: invalid value"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want %q", err, w)
		}
	}
}

func TestConfigErrorsNeverEchoSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       string // substring of the error
	}{
		{"scalar where a section belongs", "sendgrid: " + testKey + "\n", "cfg.yaml:1: sendgrid: invalid value: want a mapping of keys, got a single value"},
		{"scalar where a list belongs", "accounts:\n  include: " + testKey + "\n", "accounts.include: invalid value: want a list, got a single value"},
		{"expanded into a number", "sweep:\n  concurrency: ${K}\n", `sweep.concurrency: invalid value: want an integer, got "${K}"`},
		{"expanded into a duration", "notify:\n  repeat_interval: ${K}\n", `want a duration such as 30s or 24h, got "${K}"`},
		{"pasted into the schedule", "sendgrid:\n  api_key: ${K}\nschedule: \"${K}\"\n", "cfg.yaml:3: schedule: invalid value: \"REDACTED\""},
		{"pasted into the base URL", "sendgrid:\n  api_key: ${K}\n  base_url: ${K}\n", "sendgrid.base_url: invalid value: \"REDACTED\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("cfg.yaml", []byte(tt.yaml), mapEnv("K", testKey))
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("secret leaked: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Errorf("err %v: want a *FieldError wrapping ErrInvalid", err)
			}
		})
	}
}

func TestConfigErrorsInFileOrder(t *testing.T) {
	t.Parallel()
	yaml := `sweep:
  concurrency: 0
store:
  retention_days: -1
rules:
  drop:
    min_drop: 0
notify:
  slack:
    top_n: 0
`
	_, err := Parse("cfg.yaml", []byte(yaml), mapEnv(EnvAPIKey, testKey))
	if err == nil {
		t.Fatal("want errors")
	}
	var lines []int
	for _, e := range errjoin.Split(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		lines = append(lines, fe.Line)
	}
	if want := []int{2, 4, 7, 10}; fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("lines = %v, want %v (file order); errors:\n%v", lines, want, err)
	}
}

func TestConfigYAMLSyntaxError(t *testing.T) {
	t.Parallel()
	_, err := Parse("cfg.yaml", []byte("sendgrid:\n  api_key: \""+testKey+"\n"), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	if got, want := err.Error(), "cfg.yaml:2: invalid value: YAML syntax: found unexpected end of stream"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

// TestConfigErrorFromEnvNamesTheVariable: a bad value that came from an
// environment variable overriding the file names the variable, not the
// file line of the value it replaced.
func TestConfigErrorFromEnvNamesTheVariable(t *testing.T) {
	t.Parallel()
	yaml := "sendgrid:\n  api_key: x\n  base_url: https://proxy.example\n"
	_, err := Parse("cfg.yaml", []byte(yaml), mapEnv(EnvBaseURL, "ftp://x", EnvSlackHook, "not-a-url-secret"))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`cfg.yaml: sendgrid.base_url (from $SENDGRID_BASE_URL): invalid value: "ftp://x"`,
		`cfg.yaml: notify.slack.webhook_url (from $SLACK_WEBHOOK_URL): invalid value`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "not-a-url-secret") || strings.Contains(err.Error(), "cfg.yaml:3") {
		t.Errorf("err = %v: leaks the webhook or points at the file's line", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Env == "" {
		t.Errorf("err = %v: want a *FieldError with Env", err)
	}
}

func TestExternalURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		env        Env
		want       string
		err        string
	}{
		{"from the file", "http:\n  external_url: https://seq.example.com/\n", nil, "https://seq.example.com/", ""},
		{"from the env", "", mapEnv(EnvExternalURL, "http://10.0.0.5:9464"), "http://10.0.0.5:9464", ""},
		{"not a URL", "http:\n  external_url: seq.example.com\n", nil, "", "cfg.yaml:4: http.external_url"},
		{"userinfo", "http:\n  external_url: https://u:p@seq.example.com\n", nil, "", "user information"},
		{"query", "http:\n  external_url: https://seq.example.com/?k=1\n", nil, "", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := tt.env
			if env == nil {
				env = mapEnv()
			}
			c, err := Parse("cfg.yaml", []byte("sendgrid:\n  api_key: x\n"+tt.yaml), env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "u:p") {
					t.Errorf("err = %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil || c.HTTP.ExternalURL != tt.want {
				t.Errorf("external_url = %q (%v), want %q", c.HTTP.ExternalURL, err, tt.want)
			}
		})
	}
}
