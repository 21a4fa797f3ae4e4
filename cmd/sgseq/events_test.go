package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/events"
	"github.com/sgseq/sgseq/rating/gen"
)

// eventsGen writes a generated feed in format to a file and returns it.
func eventsGen(t *testing.T, name string, format gen.Format, contacts, days int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), &buf, gen.Config{Seed: 5, Contacts: contacts, Days: days, Format: format}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if strings.HasSuffix(name, ".gz") {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRateEventsEqualsRateOverExport: "sgseq rate --events DIR" (full,
// then incremental) prints exactly what "sgseq rate" prints for the output
// of "sgseq events export", for every input shape import reads.
func TestRateEventsEqualsRateOverExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	ndjson := eventsGen(t, "a.ndjson", gen.NDJSON, 150, 60)
	webhook := eventsGen(t, "b.json.gz", gen.Webhook, 120, 90)
	csvFile := eventsGen(t, "c.csv", gen.CSV, 80, 30)
	for i, inputs := range [][]string{{ndjson}, {webhook, csvFile}} {
		out, _, err := cliRun(t, append([]string{"events", "import", "--dir", dir}, inputs...)...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "stored") {
			t.Errorf("import said %q", out)
		}
		exp, _, err := cliRun(t, "events", "export", "--dir", dir)
		if err != nil {
			t.Fatal(err)
		}
		expFile := filepath.Join(t.TempDir(), "export.ndjson")
		os.WriteFile(expFile, []byte(exp), 0o600)
		want, _, err := cliRun(t, "rate", "-q", "-o", "json", expFile)
		if err != nil {
			t.Fatal(err)
		}
		got, stderr, err := cliRun(t, "rate", "--events", dir, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("step %d: rate --events differs from rate over export", i)
		}
		wantHow := "full: no checkpoint"
		if i > 0 {
			wantHow = "incremental"
		}
		if !strings.Contains(stderr, wantHow) {
			t.Errorf("step %d summary: %s", i, stderr)
		}
	}
	// The import is deduplicated: importing the same file again adds nothing.
	out, _, err := cliRun(t, "events", "import", "--dir", dir, ndjson)
	if err != nil || !strings.Contains(out, " 0 stored") {
		t.Errorf("re-import: %q %v", out, err)
	}
	st, _, err := cliRun(t, "events", "stats", "--dir", dir, "-o", "json")
	if err != nil || !strings.Contains(st, `"contacts"`) {
		t.Errorf("stats: %s %v", st, err)
	}
	// --as-of rates from scratch, as rate does over the export.
	exp, _, _ := cliRun(t, "events", "export", "--dir", dir)
	expFile := filepath.Join(t.TempDir(), "export.ndjson")
	os.WriteFile(expFile, []byte(exp), 0o600)
	want, _, _ := cliRun(t, "rate", "-q", "--as-of", "2026-10-01", expFile)
	got, _, err := cliRun(t, "rate", "-q", "--as-of", "2026-10-01", "--events", dir)
	if err != nil || got != want {
		t.Errorf("--as-of: differ (%v)", err)
	}
	// --since keeps the later events only.
	since, _, err := cliRun(t, "events", "export", "--dir", dir, "--since", "2026-10-31")
	if err != nil || strings.Count(since, "\n") == 0 || strings.Count(since, "\n") >= strings.Count(exp, "\n") {
		t.Errorf("--since: %d of %d lines, %v", strings.Count(since, "\n"), strings.Count(exp, "\n"), err)
	}
}

func TestEventsImportBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(bad, []byte(`{"email":"a@x.com","event":"open","timestamp":1700000000,"sg_event_id":"1"}
{"email":"b@x.com","event":"open","timestamp":1700000000,"sg_event_id":"2"}
{"email":"c@x.com","event":"open",
`), 0o600)
	_, _, err := cliRun(t, "events", "import", "--dir", dir, bad)
	var se *events.SyntaxError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), bad+":3:") {
		t.Fatalf("err = %v, want a syntax error naming %s:3", err, bad)
	}
	if code := report(io.Discard, err); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	out, _, err := cliRun(t, "events", "export", "--dir", dir)
	if err != nil || out != "" {
		t.Errorf("a bad file stored %q (%v)", out, err)
	}
	if _, _, err := cliRun(t, "events", "export", "--dir", dir, "-o", "csv"); err == nil {
		t.Error("-o csv accepted")
	}
	if _, _, err := cliRun(t, "events", "stats", "--dir", filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "no event store") {
		t.Errorf("stats of a missing store: %v", err)
	}
}

func TestEventsServeRefusesWithoutAuth(t *testing.T) {
	t.Setenv(envWebhookKey, "")
	t.Setenv(envEventsAuth, "")
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no auth", []string{"--addr", "127.0.0.1:0"}, "refusing"},
		{"insecure on all interfaces", []string{"--addr", ":0", "--insecure-no-auth"}, "loopback"},
		{"insecure on a public address", []string{"--addr", "192.0.2.1:0", "--insecure-no-auth"}, "loopback"},
		{"bad key file", []string{"--public-key-file", "/nonexistent/key"}, "public-key-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := cliRun(t, append([]string{"events", "serve", "--dir", dir}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("bad key in env is not quoted", func(t *testing.T) {
		t.Setenv(envWebhookKey, "bm90LWEta2V5LXNlY3JldA==")
		_, _, err := cliRun(t, "events", "serve", "--dir", dir)
		if err == nil || strings.Contains(err.Error(), "bm90LWEta2V5") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestEventsServe runs the receiver on a free port with a key from the
// environment, posts a signed batch and stops it.
func TestEventsServe(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	t.Setenv(envWebhookKey, base64.StdEncoding.EncodeToString(otherDER)+","+base64.StdEncoding.EncodeToString(der))
	t.Setenv(envEventsAuth, "")
	dir := filepath.Join(t.TempDir(), "store")
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, []string{"events", "serve", "--addr", "127.0.0.1:0", "--dir", dir}, &out, &errb)
	}()
	var url string
	for range 200 {
		if s := out.String(); strings.Contains(s, "\n") {
			first, _, _ := strings.Cut(s, "\n")
			if !strings.HasPrefix(first, "listening on http://127.0.0.1:") {
				t.Fatalf("first line %q", first)
			}
			url = strings.TrimPrefix(first, "listening on ")
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v %s", err, errb.String())
		case <-time.After(25 * time.Millisecond):
		}
	}
	if url == "" {
		t.Fatal("no listening line")
	}
	body := []byte(`[{"email":"a@example.com","event":"delivered","timestamp":1700000000,"sg_event_id":"s1"}]` + "\r\n")
	sum := sha256.Sum256(append([]byte("1700000009"), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	for _, tc := range []struct {
		sig  string
		code int
	}{{base64.StdEncoding.EncodeToString(sig), 200}, {"", 403}} {
		req, _ := http.NewRequest("POST", url+"/", bytes.NewReader(body))
		req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", "1700000009")
		req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", tc.sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("signature %q: %d, want %d", tc.sig, resp.StatusCode, tc.code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	exp, _, err := cliRun(t, "events", "export", "--dir", dir)
	if err != nil || strings.TrimSpace(exp) != strings.TrimSpace(strings.Trim(string(body), "[]\r\n")) {
		t.Errorf("stored %q (%v)", exp, err)
	}
	if strings.Contains(errb.String(), base64.StdEncoding.EncodeToString(der)) {
		t.Error("the log shows the key")
	}
}
