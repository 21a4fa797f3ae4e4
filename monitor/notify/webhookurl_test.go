package notify

import (
	"strings"
	"testing"

	"github.com/sgseq/sgseq/internal/secret"
)

// TestCheckWebhookURL: https:// to any host; http:// only to a loopback
// host, and the error says so without quoting the URL.
func TestCheckWebhookURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		ok        bool
		wantErr   string
	}{
		{"slack https", "https://hooks.slack.com/services/T0SECRET/B0SECRET/" + hookToken, true, ""},
		{"https proxy with port", "https://proxy.example:8443/hook/" + hookToken, true, ""},
		{"http 127.0.0.1", "http://127.0.0.1:8080/services/" + hookToken, true, ""},
		{"http 127.0.0.53", "http://127.0.0.53/" + hookToken, true, ""},
		{"http localhost", "http://localhost:9000/" + hookToken, true, ""},
		{"http LOCALHOST", "http://LOCALHOST/" + hookToken, true, ""},
		{"http ::1", "http://[::1]:8080/" + hookToken, true, ""},
		{"surrounding spaces", " https://hooks.slack.com/services/" + hookToken + "\n", true, ""},
		{"http public host", "http://hooks.slack.com/services/T0SECRET/B0SECRET/" + hookToken, false, "http:// to a host that is not loopback"},
		{"http private IP", "http://10.0.0.1/" + hookToken, false, "not loopback"},
		{"http localhost lookalike", "http://localhost.evil.example/" + hookToken, false, "not loopback"},
		{"ftp", "ftp://hooks.slack.com/" + hookToken, false, "scheme other than https"},
		{"no scheme", "hooks.slack.com/services/" + hookToken, false, "no host"},
		{"no host", "https:///services/" + hookToken, false, "no host"},
		{"port only", "https://:443/" + hookToken, false, "no host"},
		{"unparsable", "https://h\x7f/" + hookToken, false, "not a valid URL"},
		{"empty", "", false, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckWebhookURL(secret.Secret(tt.url))
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckWebhookURL = %v, want nil", err)
				}
				if _, err := NewWebhook(secret.Secret(tt.url)); err != nil {
					t.Errorf("NewWebhook = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q lacks %q", msg, tt.wantErr)
			}
			if tt.url != "" && !strings.Contains(msg, "want an https:// URL with a host (http:// only for a loopback host") {
				t.Errorf("error %q does not say what is accepted", msg)
			}
			assertNoSecret(t, "error", msg)
			if _, nerr := NewWebhook(secret.Secret(tt.url)); nerr == nil || !strings.Contains(nerr.Error(), msg) {
				t.Errorf("NewWebhook error = %v, want it to contain %q", nerr, msg)
			}
		})
	}
}
