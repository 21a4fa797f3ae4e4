package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestRunSim runs the example against the simulated account (no key in the
// environment) and checks that it backfilled, swept and printed the
// notification text of the alerts the demo account plants.
func TestRunSim(t *testing.T) {
	env := func(key string) (string, bool) { return "", false }
	var b bytes.Buffer
	if err := run(context.Background(), &b, env); err != nil {
		t.Fatalf("run: %v\n%s", err, b.String())
	}
	out := b.String()
	for _, want := range []string{"simulated account at http://127.0.0.1:", "backfilled 14 days for", "SEQ monitor"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`(\d+) alert\(s\) firing, (\d+) notified`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || m[2] == "0" {
		t.Errorf("want firing and notified alerts, got %q:\n%s", m, out)
	}
}
