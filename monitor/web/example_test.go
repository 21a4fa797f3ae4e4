package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/store"
	"github.com/sgseq/sgseq/monitor/web"
)

// Serve the status pages of a store.
func ExampleHandler() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "web-example")
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "sgseq.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	_ = st.SaveDay(ctx, history.ScopeSubusers, client.MustParseDate("2026-11-24"), []history.DayScore{
		{Account: "acme-news", Score: client.Float(4), Metrics: &client.Metrics{EngagementRecency: 4, OpenRate: 4, BounceClassification: 5, BounceRate: 5, SpamRate: 4}, FetchedAt: time.Now()},
	})

	h := web.Handler(st, web.Options{}) // e.g. http.ListenAndServe("127.0.0.1:9464", h)

	for _, path := range []string{"/", "/accounts/acme-news", "/accounts/nobody", "/api/v1/accounts/acme-news/history"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		ctype, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
		fmt.Println(path, rec.Code, ctype)
	}
	// Output:
	// / 200 text/html
	// /accounts/acme-news 200 text/html
	// /accounts/nobody 404 text/html
	// /api/v1/accounts/acme-news/history 200 application/json
}
