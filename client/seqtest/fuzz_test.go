package seqtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzRequest sends arbitrary paths, queries, headers and bodies to the
// handler: it must never panic, and every 4xx/5xx answer is a JSON errors
// document.
func FuzzRequest(f *testing.F) {
	f.Add("GET", "/v3/engagementquality/scores", "from=2026-03-01&to=2026-03-09", "", "")
	f.Add("GET", "/v3/engagementquality/subusers/scores", "date=2026-03-09&limit=5&after_key=4200110", "", "")
	f.Add("GET", "/v3/engagementquality/scores", "from=2026-03-01&to=2026-03-09", "account-id 7001", "")
	f.Add("GET", "/v3/subusers", "region=eu&limit=2&offset=1", "", "")
	f.Add("POST", "/v3/ips/pools", "", "", `{"name":"x"}`)
	f.Add("POST", "/v3/ips/pools/shared/ips", "", "", `{"ip":"198.51.100.11"}`)
	f.Add("PUT", "/v3/subusers/acme-news/ips", "", "", `["198.51.100.11"]`)
	f.Add("DELETE", "/v3/ips/pools/shared/ips/198.51.100.31", "", "", "")
	s := newServer([]Option{WithNow(func() time.Time { return testNow })})
	f.Fuzz(func(t *testing.T, method, path, query, obo, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://seqtest"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+TestAPIKey)
		if obo != "" {
			req.Header["On-Behalf-Of"] = []string{obo}
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 400 {
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || len(eb.Errors) == 0 {
				t.Fatalf("%s %s?%s: %d with body %q", method, path, query, rec.Code, rec.Body.String())
			}
		}
	})
}
