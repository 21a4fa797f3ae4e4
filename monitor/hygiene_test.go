package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/internal/errjoin"
)

// TestConfigPermissionWarning: a config file that holds a secret (not a
// ${VAR} reference) and is readable by group or others gets a warning
// naming the fields and the mode, never the value.
func TestConfigPermissionWarning(t *testing.T) {
	t.Parallel()
	const key = "SG.literal-SECRET-in-file"
	literal := "sendgrid:\n  api_key: " + key + "\nnotify:\n  slack:\n    webhook_url: https://hooks.slack.com/services/T/B/SECRETHOOK\n"
	ref := "sendgrid:\n  api_key: ${SENDGRID_API_KEY}\n"
	for _, tt := range []struct {
		name string
		yaml string
		mode os.FileMode
		want string // "" for no warning
	}{
		{"literal secrets, world-readable", literal, 0o644, "holds secrets (sendgrid.api_key, notify.slack.webhook_url) and is readable by group or others (mode 0644)"},
		{"literal secret, group-readable", literal, 0o640, "(mode 0640)"},
		{"literal secret, owner only", literal, 0o600, ""},
		{"${VAR} reference, world-readable", ref, 0o644, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "sgseq.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p, mapEnv(EnvAPIKey, "SG.from-env"))
			if err != nil {
				t.Fatal(err)
			}
			w := strings.Join(c.Warnings(), "\n")
			if tt.want == "" {
				if w != "" {
					t.Errorf("unexpected warning %q", w)
				}
				return
			}
			if !strings.Contains(w, tt.want) || !strings.Contains(w, "chmod 600 "+p) {
				t.Errorf("warning %q lacks %q and the chmod advice", w, tt.want)
			}
			if strings.Contains(w, key) || strings.Contains(w, "SECRETHOOK") {
				t.Errorf("warning shows a secret: %q", w)
			}
		})
	}
}

// TestConfigProblemsCapped: a file with 20,000 unknown keys yields
// MaxConfigProblems problems and one that counts the rest.
func TestConfigProblemsCapped(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("sendgrid:\n  api_key: x\n")
	const n = 20000
	for i := range n {
		fmt.Fprintf(&b, "unknown_%d: 1\n", i)
	}
	_, err := Parse("big.yaml", []byte(b.String()), mapEnv())
	list := errjoin.Split(err)
	if len(list) != MaxConfigProblems+1 {
		t.Fatalf("%d problems, want %d", len(list), MaxConfigProblems+1)
	}
	last := list[len(list)-1]
	if !errors.Is(last, ErrTooManyProblems) || last.Error() != fmt.Sprintf("big.yaml: %d more problem(s) not shown (fix the ones above first)", n-MaxConfigProblems) {
		t.Errorf("last problem %q", last)
	}
	if first := list[0].Error(); first != `big.yaml:3: unknown_0: unknown field "unknown_0"` {
		t.Errorf("first problem %q", first)
	}
	// Validation problems count toward the cap too.
	_, err = Parse("dup.yaml", []byte("sendgrid:\n  api_key: x\naccounts:\n  include: ["+strings.Repeat(`"[", `, 300)+"\"[\"]\n"), mapEnv())
	list = errjoin.Split(err)
	if len(list) != MaxConfigProblems+1 || !errors.Is(list[len(list)-1], ErrTooManyProblems) {
		t.Fatalf("301 bad globs: %d problems, last %v", len(list), list[len(list)-1])
	}
}

// TestConfigFileTooLarge: a config file over MaxConfigSize is refused
// before it is parsed.
func TestConfigFileTooLarge(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, []byte("sendgrid:\n  api_key: x\n"+strings.Repeat("# padding\n", MaxConfigSize/10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p, mapEnv())
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), p+": invalid value: file larger than 1048576 bytes") {
		t.Errorf("Load = %v", err)
	}
}

// TestConfigValuesShownShort: a huge value or key is quoted cut, with its
// length, never whole.
func TestConfigValuesShownShort(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("é", 600_000) // 1.2 MB
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"schedule", "schedule: " + huge + "\n", "schedule: invalid value: \"" + strings.Repeat("é", 32) + "\"… (1200000 bytes)"},
		{"unknown key", "? " + huge + "\n: 1\n", "unknown field \"" + strings.Repeat("é", 32) + "\"… (1200000 bytes)"},
		{"wrong type", "sweep:\n  concurrency: " + huge + "\n", "want an integer, got \"" + strings.Repeat("é", 32) + "\"… (1200000 bytes)"},
		{"duration", "notify:\n  repeat_interval: " + huge + "\n", "got \"" + strings.Repeat("é", 32) + "\"…"},
		{"http.addr", "http:\n  addr: " + huge + "\n", "http.addr: invalid value: \"" + strings.Repeat("é", 32) + "\"…"},
		{"cron fields", "schedule: \"" + strings.Repeat("1 ", 300_000) + "\"\n", "schedule: invalid value:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("cfg.yaml", []byte("sendgrid:\n  api_key: x\n"+tt.yaml), mapEnv())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if len(msg) > 2*maxMessage+200 {
				t.Errorf("error is %d bytes: %.300s", len(msg), msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %.400q lacks %q", msg, tt.want)
			}
		})
	}
}

// TestSlackAPIURLRefusesCredentials: notify.slack.api_url (or
// $SLACK_API_URL) with userinfo, a query string or a fragment is refused,
// and the error does not echo it.
func TestSlackAPIURLRefusesCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, url, want string
	}{
		{"query token", "https://slack.example/api/?token=xoxb-SECRET", "must not have a query string"},
		{"empty query", "https://slack.example/api/?", "must not have a query string"},
		{"fragment", "https://slack.example/api/#xoxb-SECRET", "fragment"},
		{"userinfo", "https://bot:xoxb-SECRET@slack.example/api/", "must not hold a user name or password"},
		{"user only", "https://xoxb-SECRET@slack.example/api/", "must not hold a user name or password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := "sendgrid:\n  api_key: x\nnotify:\n  slack:\n    bot_token: xoxb-1\n    channel: C1\n"
			for _, src := range []struct {
				yaml string
				env  Env
			}{
				{base + "    api_url: \"" + tt.url + "\"\n", mapEnv()},
				{base, mapEnv(EnvSlackAPIURL, tt.url)},
			} {
				_, err := Parse("cfg.yaml", []byte(src.yaml), src.env)
				if err == nil || !strings.Contains(err.Error(), "notify.slack.api_url") || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want notify.slack.api_url: %s", err, tt.want)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error echoes the URL: %v", err)
				}
			}
		})
	}
	if _, err := Parse("cfg.yaml", []byte("sendgrid:\n  api_key: x\nnotify:\n  slack:\n    bot_token: xoxb-1\n    channel: C1\n    api_url: https://grid.example/slack/api/\n"), mapEnv()); err != nil {
		t.Errorf("plain api_url refused: %v", err)
	}
}
