package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServe runs "sgseq serve" on a store filled by backfill and check,
// and checks that its API answers exactly what "sgseq status -o json" and
// "sgseq history ACCOUNT -o json" print.
func TestServe(t *testing.T) {
	monSim(t)
	if _, _, err := cliRun(t, "backfill", "--days", "20"); err != nil {
		t.Fatal(err)
	}
	_, _, _ = cliRun(t, "check") // exit 1: alerts fire

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- execute(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &out, &errb) }()
	re := regexp.MustCompile(`status pages at (http://127\.0\.0\.1:\d+)/`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no URL: %q %q", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fetch := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		path string
		cli  []string
	}{
		{"/api/v1/status", []string{"status", "-o", "json"}},
		{"/api/v1/accounts/garden-supply/history", []string{"history", "garden-supply", "-o", "json"}},
		{"/api/v1/accounts/garden-supply/history?days=5", []string{"history", "garden-supply", "--days", "5", "-o", "json"}},
		{"/api/v1/accounts/" + url.PathEscape("(parent)") + "/history?days=90", []string{"history", "(parent)", "--days", "90", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			want, _, err := cliRun(t, tt.cli...)
			if err != nil {
				t.Fatal(err)
			}
			code, got := fetch(tt.path)
			if code != 200 || got != want {
				t.Errorf("GET %s: %d\n%s\nwant (sgseq %s)\n%s", tt.path, code, got, strings.Join(tt.cli, " "), want)
			}
		})
	}
	if code, body := fetch("/"); code != 200 || !strings.Contains(body, "lastminute-travel") || !strings.Contains(body, "floor") {
		t.Errorf("overview: %d", code)
	}
	if code, _ := fetch("/accounts/nobody"); code != 404 {
		t.Errorf("unknown account: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestServeErrors(t *testing.T) {
	monSim(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no store", []string{"serve", "--addr", "127.0.0.1:0"}, "no score history at"},
		{"bad addr", []string{"serve", "--addr", "nonsense"}, `invalid --addr "nonsense": want host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cliRun(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || monExitCode(err) != 2 {
				t.Errorf("err %v, want %q (exit 2)", err, tt.want)
			}
		})
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("http:\n  addr: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cliRun(t, "serve", "--config", cfg); err == nil || !strings.Contains(err.Error(), "http.addr is empty") {
		t.Errorf("empty http.addr: %v", err)
	}
}
