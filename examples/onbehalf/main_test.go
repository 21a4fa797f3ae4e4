package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client"
)

func TestRunSim(t *testing.T) {
	for _, tc := range []struct {
		subuser, want string
	}{
		{"petcare-mail", "largest fall: spam_rate by 4"},
		{"shopfront-tx", "no metric fell"},
		{"summer-promo", "not eligible"},
	} {
		var b bytes.Buffer
		if err := run(context.Background(), &b, []string{"-sim", "-subuser", tc.subuser}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if n := len(strings.Split(strings.TrimSpace(out), "\n")); n < 14 || !strings.Contains(out, tc.want) || !strings.Contains(out, tc.subuser) {
			t.Errorf("%s: want %q in:\n%s", tc.subuser, tc.want, out)
		}
	}
}

func TestRunErrors(t *testing.T) {
	if err := run(context.Background(), &bytes.Buffer{}, []string{"-sim"}); err == nil {
		t.Error("missing -subuser accepted")
	}
	err := run(context.Background(), &bytes.Buffer{}, []string{"-sim", "-subuser", "nobody"})
	if !errors.Is(err, client.ErrForbidden) {
		t.Errorf("unknown subuser: %v", err)
	}
}
