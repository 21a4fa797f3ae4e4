package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/store"
)

// poolsDemoConfig maps the tiers onto the demo account's pools: its
// "transactional" senders score 5, "marketing" 4 and "shared" 3.
func poolsDemoConfig() pools.Config {
	cfg := pools.DefaultConfig()
	cfg.Tiers = []pools.Tier{
		{Name: "high", MinScore: 4.5, Pool: "transactional"},
		{Name: "mid", MinScore: 3.5, Pool: "marketing"},
		{Name: "low", MinScore: 1, Pool: "shared"},
	}
	return cfg
}

// poolsDemoConfigYAML is poolsDemoConfig as the "pools:" section of a
// monitor config, as printed by the demo.
const poolsDemoConfigYAML = `pools:
  tiers:
    - {name: high, min_score: 4.5, pool: transactional}
    - {name: mid,  min_score: 3.5, pool: marketing}
    - {name: low,  min_score: 1,   pool: shared}
`

// demoPools stores the simulated account's last 90 days of subuser scores,
// prints the plan and the dry run of applying it.
func demoPools(ctx context.Context, env *demoEnv) error {
	w := env.Out
	st, err := store.Open(ctx, filepath.Join(env.Dir, "pools-demo.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	end := client.DateOf(env.Now).AddDays(-1)
	if err := poolsDemoFill(ctx, env.Client, st, end, pools.ReplayDays); err != nil {
		return err
	}
	fmt.Fprintf(w, "$ sgseq backfill --days %d   # %d days of subuser scores into the store\n", pools.ReplayDays, pools.ReplayDays)
	fmt.Fprintf(w, "$ cat sgseq.yaml   # tiers mapped onto the account's pools\n%s\n", poolsDemoConfigYAML)
	fmt.Fprintln(w, "$ sgseq pools plan --config sgseq.yaml --out plan.json")
	plan, err := poolsMakePlan(ctx, poolsDemoConfig(), env.Client, st, client.Date{})
	if err != nil {
		return err
	}
	if err := poolsWritePlanTable(w, plan, false, 6); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n$ sgseq pools apply --plan plan.json   # without --yes: a dry run")
	return poolsApplyRun(ctx, env.Client, plan, poolsApplyOptions{maxAge: pools.DefaultMaxPlanAge}, w, w)
}

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
