package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/internal/secret"
)

type testReceiver struct {
	srv   *httptest.Server
	store *Store
	dir   string
	s     *signer
}

func newTestReceiver(t *testing.T, cfg ReceiverConfig, keys ...*signer) *testReceiver {
	t.Helper()
	dir := t.TempDir()
	tr := &testReceiver{dir: dir}
	var rc *Receiver
	tr.store = mustOpen(t, dir, Options{OnCommit: func(n int, d time.Duration) { rc.ObserveCommit(n, d) }})
	for _, k := range keys {
		cfg.Keys = append(cfg.Keys, k.pub)
	}
	if len(keys) > 0 {
		tr.s = keys[0]
	}
	var err error
	if rc, err = NewReceiver(tr.store, cfg); err != nil {
		t.Fatal(err)
	}
	tr.srv = httptest.NewServer(rc)
	t.Cleanup(tr.srv.Close)
	return tr
}

func (tr *testReceiver) post(t *testing.T, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", tr.srv.URL+"/", bytes.NewReader(body))
	for k, v := range hdr {
		if k == "auth" {
			u, p, _ := strings.Cut(v, ":")
			req.SetBasicAuth(u, p)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signed(t *testing.T, s *signer, ts string, body []byte) map[string]string {
	return map[string]string{HeaderTimestamp: ts, HeaderSignature: s.sign(t, ts, body)}
}

func batch(n int, prefix string) []byte {
	var objs []string
	for i := range n {
		objs = append(objs, string(event(fmt.Sprintf("u%d@example.com", i), "open", 1700000000+int64(i), fmt.Sprintf("%s-%d", prefix, i))))
	}
	return []byte("[" + strings.Join(objs, ",") + "]\r\n")
}

// corrupt flips one bit in the middle of a base64 signature.
func corrupt(sig string) string {
	b, _ := base64.StdEncoding.DecodeString(sig)
	b[len(b)/2] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

func TestReceiverSignature(t *testing.T) {
	t.Parallel()
	key, other := newSigner(t), newSigner(t)
	tr := newTestReceiver(t, ReceiverConfig{}, key)
	body := batch(3, "sig")
	good := signed(t, key, "1700000100", body)
	changed := bytes.Replace(body, []byte("u1@"), []byte("u9@"), 1)
	tests := []struct {
		name string
		body []byte
		hdr  map[string]string
		code int
	}{
		{"corrupt signature", body, map[string]string{HeaderTimestamp: "1700000100", HeaderSignature: corrupt(good[HeaderSignature])}, 403},
		{"wrong key", body, signed(t, other, "1700000100", body), 403},
		{"body changed after signing", changed, good, 403},
		{"timestamp header not the signed one", body, map[string]string{HeaderTimestamp: "1700000101", HeaderSignature: good[HeaderSignature]}, 403},
		{"no signature header", body, map[string]string{HeaderTimestamp: "1700000100"}, 403},
		{"no timestamp header", body, map[string]string{HeaderSignature: good[HeaderSignature]}, 403},
		{"no headers", body, nil, 403},
		{"signed, but not an array", []byte(`{"email":"a@x"}`), signed(t, key, "1", []byte(`{"email":"a@x"}`)), 400},
		{"good", body, good, 200},
		{"replayed", body, good, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tr.store.Len()
			code, msg := tr.post(t, tc.body, tc.hdr)
			if code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, msg, tc.code)
			}
			if code != 200 && tr.store.Len() != before {
				t.Errorf("a rejected batch stored %d events", tr.store.Len()-before)
			}
		})
	}
	if tr.store.Len() != 3 {
		t.Errorf("stored %d, want 3 (the replay adds nothing)", tr.store.Len())
	}
}

func TestReceiverVectorBody(t *testing.T) {
	t.Parallel()
	key, err := ParsePublicKey(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTestReceiver(t, ReceiverConfig{Keys: []PublicKey{key}})
	code, msg := tr.post(t, []byte(vectorBody), map[string]string{HeaderTimestamp: vectorTimestamp, HeaderSignature: vectorSignature})
	if code != 200 || !strings.Contains(msg, `"stored":1`) {
		t.Fatalf("%d %s", code, msg)
	}
	got := exported(t, tr.dir)
	if len(got) != 1 || got[0] != strings.TrimSuffix(strings.TrimPrefix(vectorBody, "["), "]\r\n") {
		t.Errorf("stored %q", got)
	}
}

func TestReceiverShapes(t *testing.T) {
	t.Parallel()
	tr := newTestReceiver(t, ReceiverConfig{Insecure: true, MaxBody: 4096})
	tests := []struct {
		name string
		body string
		code int
	}{
		{"object, not array", `{"email":"a@x.com"}`, 400},
		{"array of numbers", `[1,2]`, 400},
		{"array with a string", `[{"email":"a@x.com","event":"open","timestamp":1},"x"]`, 400},
		{"truncated", `[{"email":"a@x.com","event":"open"`, 400},
		{"trailing garbage", `[{"email":"a@x.com"}] x`, 400},
		{"two arrays", `[][]`, 400},
		{"bad escape", `[{"email":"a\x@x.com"}]`, 400},
		{"control character in string", "[{\"email\":\"a\x01\"}]", 400},
		{"bad number", `[{"timestamp":01}]`, 400},
		{"empty body", ``, 400},
		{"too large", "[" + strings.Repeat(" ", 5000) + "]", 413},
		{"empty array", `[]`, 200},
		{"event rating cannot read is still stored", `[{"event":"open","timestamp":1700000000,"sg_event_id":"no-email"}]`, 200},
		{"pretty-printed", "[\n  {\n    \"email\": \"p@x.com\",\n    \"event\": \"open\",\n    \"timestamp\": 1700000000\n  }\n]\n", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tr.store.Len()
			code, msg := tr.post(t, []byte(tc.body), nil)
			if code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, msg, tc.code)
			}
			if code != 200 && tr.store.Len() != before {
				t.Errorf("stored %d events from a rejected body", tr.store.Len()-before)
			}
		})
	}
	// The pretty-printed event is stored on one line, fields as sent.
	got := exported(t, tr.dir)
	if last := got[len(got)-1]; last != `{"email":"p@x.com","event":"open","timestamp":1700000000}` {
		t.Errorf("stored %s", last)
	}
}

func TestReceiverBasicAuth(t *testing.T) {
	t.Parallel()
	key := newSigner(t)
	pass := secret.Secret("s3cret-pass")
	tr := newTestReceiver(t, ReceiverConfig{User: "sendgrid", Password: pass}, key)
	body := batch(2, "auth")
	sig := signed(t, key, "1700000000", body)
	with := func(auth string) map[string]string {
		m := map[string]string{HeaderTimestamp: sig[HeaderTimestamp], HeaderSignature: sig[HeaderSignature]}
		if auth != "" {
			m["auth"] = auth
		}
		return m
	}
	tests := []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"no credentials", with(""), 401},
		{"wrong password", with("sendgrid:wrong"), 401},
		{"wrong user", with("other:s3cret-pass"), 401},
		{"good credentials, no signature", map[string]string{"auth": "sendgrid:s3cret-pass"}, 403},
		{"good", with("sendgrid:s3cret-pass"), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, msg := tr.post(t, body, tc.hdr); code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, msg, tc.code)
			}
		})
	}
	// Basic auth alone is a configuration too.
	tr2 := newTestReceiver(t, ReceiverConfig{User: "u", Password: "p"})
	if code, _ := tr2.post(t, body, map[string]string{"auth": "u:p"}); code != 200 {
		t.Errorf("basic auth only: %d", code)
	}
}

func TestReceiverMaxAge(t *testing.T) {
	t.Parallel()
	key := newSigner(t)
	now := time.Unix(1700000000, 0)
	tr := newTestReceiver(t, ReceiverConfig{MaxAge: time.Hour, Now: func() time.Time { return now }}, key)
	body := batch(1, "age")
	for _, tc := range []struct {
		ts   int64
		code int
	}{{now.Unix() - 7200, 403}, {now.Unix() + 7200, 403}, {now.Unix() - 60, 200}} {
		ts := strconv.FormatInt(tc.ts, 10)
		if code, msg := tr.post(t, body, signed(t, key, ts, body)); code != tc.code {
			t.Errorf("timestamp %s: %d (%s), want %d", ts, code, msg, tc.code)
		}
	}
}

func TestReceiverStoreDown(t *testing.T) {
	t.Parallel()
	tr := newTestReceiver(t, ReceiverConfig{Insecure: true})
	get := func(path string) int {
		resp, err := http.Get(tr.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/readyz") != 200 || get("/healthz") != 200 {
		t.Fatal("not ready")
	}
	tr.post(t, batch(4, "m"), nil)
	tr.post(t, batch(4, "m"), nil)
	tr.store.Close()
	if code, _ := tr.post(t, batch(1, "down"), nil); code != 503 {
		t.Errorf("closed store: %d, want 503", code)
	}
	if get("/readyz") != 503 || get("/healthz") != 200 {
		t.Error("readyz should fail, healthz not")
	}
	resp, err := http.Get(tr.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"sgseq_events_received_total 8", "sgseq_events_stored_total 4", "sgseq_events_duplicates_total 4",
		`sgseq_events_batches_total{code="200"} 2`, `sgseq_events_batches_total{code="503"} 1`,
		"sgseq_events_commit_seconds_count 1", "sgseq_events_store_events 4",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestNewReceiverNeedsAuth(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, t.TempDir(), Options{})
	if _, err := NewReceiver(s, ReceiverConfig{}); !errors.Is(err, ErrNoAuth) {
		t.Fatalf("err = %v, want ErrNoAuth", err)
	}
}

func TestReceiverResponse(t *testing.T) {
	t.Parallel()
	tr := newTestReceiver(t, ReceiverConfig{Insecure: true})
	body := []byte("[" + string(event("a@x.com", "open", 1, "r1")) + "," + string(event("a@x.com", "open", 1, "r1")) + "]")
	code, msg := tr.post(t, body, nil)
	var got map[string]int
	if err := json.Unmarshal([]byte(msg), &got); err != nil || code != 200 {
		t.Fatalf("%d %q %v", code, msg, err)
	}
	if got["events"] != 2 || got["stored"] != 1 || got["duplicates"] != 1 {
		t.Errorf("%v", got)
	}
}
