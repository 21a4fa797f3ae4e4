package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/pools"
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

// demoPools stores the simulated account's last 90 days of scores with the
// monitor's backfill (a fetch-only sweep), prints the plan and the dry run
// of applying it.
func demoPools(ctx context.Context, env *demoEnv) error {
	w := env.Out
	cfg := monitor.DefaultConfig()
	cfg.SendGrid.APIKey = "demo"
	cfg.Store.Path = filepath.Join(env.Dir, "pools-demo.db")
	cfg.HTTP.Addr = ""
	// The demo's "now", moving with the wall clock so the summary's
	// duration is real.
	start := time.Now()
	now := func() time.Time { return env.Now.Add(time.Since(start)) }
	d, err := monitor.New(ctx, cfg, monitor.WithClientFunc(env.Server.Client), monitor.WithClock(now), monitor.WithoutPoolDetector())
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(w, "$ sgseq backfill --days %d\n", pools.ReplayDays)
	res, err := d.Sweep(ctx, monitor.SweepOptions{Days: pools.ReplayDays, FetchOnly: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, monBackfillLine(res, pools.ReplayDays, cfg.Store.RetentionDays))
	fmt.Fprintf(w, "\n$ cat sgseq.yaml   # tiers mapped onto the account's pools\n%s\n", poolsDemoConfigYAML)
	fmt.Fprintln(w, "$ sgseq pools plan --config sgseq.yaml --out plan.json")
	plan, err := poolsMakePlan(ctx, poolsDemoConfig(), env.Client, d.Store(), client.Date{})
	if err != nil {
		return err
	}
	if err := poolsWritePlanTable(w, plan, false, 6); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n$ sgseq pools apply --plan plan.json   # without --yes: a dry run")
	return poolsApplyRun(ctx, env.Client, plan, poolsApplyOptions{maxAge: pools.DefaultMaxPlanAge}, w, w)
}
