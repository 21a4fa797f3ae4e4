package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client/seqtest"
)

// TestSecretFilePermissionWarnings: an --api-key-file or a config file
// holding secrets that group or others can read gets a warning on stderr
// (the command still runs); owner-only files get none.
func TestSecretFilePermissionWarnings(t *testing.T) {
	monSim(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	cfgFile := filepath.Join(dir, "sgseq.yaml")
	if err := os.WriteFile(keyFile, []byte(seqtest.TestAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte("sendgrid:\n  api_key: "+seqtest.TestAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		mode os.FileMode
		args []string
		want string
	}{
		{"key file 0644", 0o644, []string{"scores", "--api-key-file", keyFile, "-o", "json"}, "sgseq: warning: --api-key-file " + keyFile + " is readable by group or others (mode 0644): chmod 600 " + keyFile},
		{"key file 0600", 0o600, []string{"scores", "--api-key-file", keyFile, "-o", "json"}, ""},
		{"config 0604", 0o604, []string{"config", "validate", "--config", cfgFile}, "sgseq: warning: " + cfgFile + " holds secrets (sendgrid.api_key) and is readable by group or others (mode 0604)"},
		{"config 0600", 0o600, []string{"config", "validate", "--config", cfgFile}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []string{keyFile, cfgFile} {
				if err := os.Chmod(f, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			_, stderr, err := cliRun(t, tt.args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tt.args, err, stderr)
			}
			if tt.want == "" && strings.Contains(stderr, "warning") {
				t.Errorf("unexpected warning: %s", stderr)
			}
			if tt.want != "" && !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if strings.Contains(stderr, seqtest.TestAPIKey) {
				t.Error("the key appears on stderr")
			}
		})
	}
}
