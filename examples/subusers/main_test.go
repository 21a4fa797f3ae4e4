package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunSim(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		lines int
		want  string
	}{
		{[]string{"-sim"}, 37, "36 subusers, 2 not eligible"},
		// Only lastminute-travel (floor, 2) scores at or below 2; then the summary.
		{[]string{"-sim", "-below", "2"}, 2, "lastminute-travel"},
	} {
		var b bytes.Buffer
		if err := run(context.Background(), &b, tc.args); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != tc.lines || !strings.Contains(out, tc.want) {
			t.Errorf("%v: %d lines, want %d containing %q:\n%s", tc.args, n, tc.lines, tc.want, out)
		}
	}
}

func TestRunNoKey(t *testing.T) {
	t.Setenv("SENDGRID_API_KEY", "")
	if err := run(context.Background(), &bytes.Buffer{}, nil); err == nil || !strings.Contains(err.Error(), "SENDGRID_API_KEY") {
		t.Fatalf("err %v", err)
	}
}
