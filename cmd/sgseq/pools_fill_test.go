package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
)

// Test helper: the tests store a simulated account's history directly;
// the demo and "sgseq backfill" use the monitor's fetch-only sweep.

// poolsDemoFill stores the enabled subusers' scores of the days days
// ending at end, as the monitor's backfill does by default.
func poolsDemoFill(ctx context.Context, c *client.Client, st history.Store, end client.Date, days int) error {
	now := time.Now()
	disabled := map[string]bool{}
	for u, err := range c.Subusers(ctx, nil) {
		if err != nil {
			return fmt.Errorf("list subusers: %w", err)
		}
		disabled[u.Username] = u.Disabled
	}
	for d := end.AddDays(-(days - 1)); !d.After(end); d = d.AddDays(1) {
		var rows []history.DayScore
		for s, err := range c.SubuserScores(ctx, d) {
			if err != nil {
				return fmt.Errorf("subuser scores %s: %w", d, err)
			}
			if !disabled[s.Username] {
				rows = append(rows, history.FromScore(s.Username, s, now))
			}
		}
		if err := st.SaveDay(ctx, history.ScopeSubusers, d, rows); err != nil {
			return err
		}
	}
	return nil
}
