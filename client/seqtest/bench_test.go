package seqtest

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkSubuserScoresPage measures one 1,000-item page of a 10,000
// subuser account over loopback HTTP (server encoding + transfer).
func BenchmarkSubuserScoresPage(b *testing.B) {
	s := NewServer(WithNow(func() time.Time { return testNow }), WithAccount(GenerateAccount(1, 10000, 90, testEnd)))
	defer s.Close()
	req, _ := http.NewRequest("GET", s.URL+"/v3/engagementquality/subusers/scores?date=2026-03-09&limit=1000&after_key=105000", nil)
	req.Header.Set("Authorization", "Bearer "+TestAPIKey)
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.SetBytes(n)
	}
}
