package client

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// BenchmarkDecodeSubuserScoresPage decodes one 1,000-item page of subusers'
// scores (every 7th ineligible) as the client does.
func BenchmarkDecodeSubuserScoresPage(b *testing.B) {
	body := []byte(pageBody(1, 1000, `{"next_params":{"after_key":"1000"}}`))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var out subuserScoresResponse
		if err := json.Unmarshal(body, &out); err != nil {
			b.Fatal(err)
		}
		if len(out.Result) != 1000 {
			b.Fatal(len(out.Result))
		}
	}
}

// BenchmarkSubuserScoresPageInMemory is the whole client path for one
// 1,000-item page (request building, limiter, retry layer, decode) over an
// in-memory transport.
func BenchmarkSubuserScoresPageInMemory(b *testing.B) {
	body := pageBody(1, 1000, `{"next_params":{"after_key":"1000"}}`)
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) { return jsonResp(200, body), nil })
	c, err := New(testKey, WithHTTPClient(&http.Client{Transport: mt}), WithBaseURL(testBase), WithNow(func() time.Time { return testNow }))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.SubuserScoresPage(context.Background(), testYesterday, nil)
		if err != nil || len(p.Scores) != 1000 {
			b.Fatal(err)
		}
	}
}
