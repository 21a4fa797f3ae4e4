package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const raw = "SG.very-secret-key"
	s := Secret(raw)
	type holder struct {
		Key Secret
		N   int
	}
	h := holder{Key: s, N: 1}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("msg", "key", s, "h", h)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", s),
		"%s":   fmt.Sprintf("%s", s),
		"%q":   fmt.Sprintf("%q", s),
		"%x":   fmt.Sprintf("%x", s),
		"%#v":  fmt.Sprintf("%#v", s),
		"%+v":  fmt.Sprintf("%+v", h),
		"%#vh": fmt.Sprintf("%#v", h),
		"json": string(js),
		"slog": logBuf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, raw) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s = %q, want it to say %s", name, out, Redacted)
		}
	}
	if s.Reveal() != raw {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		secrets        []Secret
	}{
		{"url in error", `Post "https://hooks.slack.com/services/T/B/X": timeout`, `Post "REDACTED": timeout`, []Secret{"https://hooks.slack.com/services/T/B/X"}},
		{"empty secret ignored", "abc", "abc", []Secret{""}},
		{"several", "a-tok b-tok", "REDACTED REDACTED", []Secret{"a-tok", "b-tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Scrub(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Scrub() = %q, want %q", got, tt.want)
			}
		})
	}
}
