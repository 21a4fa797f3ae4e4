package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunSim(t *testing.T) {
	var b bytes.Buffer
	if err := run(context.Background(), &b, []string{"-sim", "-days", "3"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	// The demo parent scores 3 on its last three days (a drop from 4 two days ago).
	if len(lines) != 3 || !strings.Contains(lines[2], "score 3 ") || !strings.Contains(lines[0], "spam_rate") {
		t.Fatalf("output:\n%s", b.String())
	}
}

func TestRunErrors(t *testing.T) {
	t.Setenv("SENDGRID_API_KEY", "")
	for _, args := range [][]string{nil, {"-days", "0"}, {"-bogus"}} {
		if err := run(context.Background(), &bytes.Buffer{}, args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
