package status_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/status"
	"github.com/sgseq/sgseq/monitor/store"
)

// Read every account's status from a store, as "sgseq status" does.
func ExampleRead() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "status-example")
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "sgseq.db"))
	if err != nil {
		panic(err)
	}
	defer st.Close()
	day := client.MustParseDate("2026-11-24")
	_ = st.SaveDay(ctx, history.ScopeSubusers, day, []history.DayScore{
		{Account: "acme-news", Score: client.Float(4), Metrics: &client.Metrics{EngagementRecency: 4, OpenRate: 4, BounceClassification: 5, BounceRate: 5, SpamRate: 4}, FetchedAt: time.Now()},
		{Account: "summer-promo", FetchedAt: time.Now()}, // ineligible that day
	})
	rows, err := status.Read(ctx, st)
	if err != nil {
		panic(err)
	}
	for _, r := range rows {
		fmt.Println(r.Account, r.Date, r.Eligible, len(r.Trend), len(r.Alerts))
	}
	// Output:
	// acme-news 2026-11-24 true 7 0
	// summer-promo 2026-11-24 false 7 0
}
