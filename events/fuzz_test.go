package events

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzReceiver posts arbitrary bodies, signed and not, through the whole
// request path: no panic; a 200 only for a JSON array of objects, each
// stored (or a duplicate); anything else stores nothing.
func FuzzReceiver(f *testing.F) {
	f.Add([]byte(vectorBody), true)
	f.Add([]byte(`[{"email":"a@x.com","event":"open","timestamp":1700000000,"sg_event_id":"x"}]`), false)
	f.Add([]byte(`[{"email":"a@x.com","event":"open","timestamp":"1700000000000"},{"sg_event_id":12}]`), true)
	f.Add([]byte(`[{"a":[1,2,{"b":null}],"c":"\u00e9\n"}]`), false)
	f.Add([]byte(`[{"email":"a@x.com"},]`), false)
	f.Add([]byte(`{"email":"a@x.com"}`), false)
	f.Add([]byte("[\n{\"email\": \"A@X.com \"}\n]\r\n"), true)
	key := newSigner(f)
	s := mustOpen(f, f.TempDir(), Options{})
	rc, err := NewReceiver(s, ReceiverConfig{Keys: []PublicKey{key.pub}, MaxBody: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		if sign {
			req.Header.Set(HeaderTimestamp, "1700000000")
			req.Header.Set(HeaderSignature, key.sign(t, "1700000000", body))
		}
		before := s.Len()
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		var arr []map[string]json.RawMessage
		isArray := json.Unmarshal(body, &arr) == nil && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("["))
		switch {
		case !sign:
			if w.Code != http.StatusForbidden {
				t.Fatalf("unsigned: %d", w.Code)
			}
		case len(body) > 1<<16:
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("large: %d", w.Code)
			}
		case isArray && !hasNullElement(body):
			if w.Code != http.StatusOK {
				t.Fatalf("valid array of objects: %d %s", w.Code, w.Body)
			}
			var res map[string]int
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res["events"] != len(arr) || res["stored"]+res["duplicates"] != len(arr) || s.Len() != before+int64(res["stored"]) {
				t.Fatalf("%v for %d objects, store %d -> %d", res, len(arr), before, s.Len())
			}
		default:
			if w.Code == http.StatusOK && !isArray {
				t.Fatalf("accepted a body encoding/json rejects: %q", body)
			}
			if w.Code != http.StatusOK && s.Len() != before {
				t.Fatalf("rejected body stored events")
			}
		}
	})
}

// hasNullElement reports a null element, which encoding/json takes as an
// object (a nil map) but is not an event.
func hasNullElement(body []byte) bool {
	var raw []json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return false
	}
	for _, r := range raw {
		if string(bytes.TrimSpace(r)) == "null" {
			return true
		}
	}
	return false
}
