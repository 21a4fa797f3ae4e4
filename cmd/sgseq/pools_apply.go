package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/spf13/cobra"
)

// poolsApplyOptions are the flags of "sgseq pools apply".
type poolsApplyOptions struct {
	planPath string
	yes      bool
	force    bool
	maxAge   time.Duration
	format   string // text or json
}

func newPoolsApplyCmd() *cobra.Command {
	var (
		o          poolsApplyOptions
		configPath string
	)
	cmd := &cobra.Command{
		Use:   "apply --plan plan.json [--yes]",
		Short: "Carry out a saved plan through the API (a dry run without --yes)",
		Long: `Carry out a plan saved by "sgseq pools plan --out plan.json".

First it re-reads the IPs and pools and refuses a stale plan: one older than
--max-age (default 24h; --force accepts it), or one where a subuser it moves
no longer sends through the pools the plan recorded (never overridable).
Then it lists the calls: POST /v3/ips/pools for each missing target pool,
then PUT /v3/subusers/{name}/ips with the target pool's IPs for each move.
A target pool without IPs stops apply after the pools are created and
before any subuser is moved.

Without --yes nothing is changed: the calls are printed. With --yes each
call is printed, then made; apply stops at the first failure and reports
which calls succeeded, which failed (with the API's error) and which were
not attempted, and exits 3 (2 when no call had succeeded).

-o json prints {"dry_run","generated_at","as_of","moves","calls"}: each
call with its kind, method, path, body, pool, username, ips, from and a
"status" (planned, succeeded, failed, not_attempted) and, when it failed,
"error". The progress of the calls made goes to stderr.`,
		Example: `  sgseq pools plan --out plan.json
  sgseq pools apply --plan plan.json          # dry run: print the calls
  sgseq pools apply --plan plan.json --yes    # make them`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format != "text" && o.format != outputJSON {
				return cliFormatError(o.format, "text or json")
			}
			if o.planPath == "" {
				return errors.New("--plan is required (write one with: sgseq pools plan --out plan.json)")
			}
			plan, err := poolsReadPlanFile(cmd, o.planPath)
			if err != nil {
				return err
			}
			s, err := poolsLoad(cmd, configPath, "", false)
			if err != nil {
				return err
			}
			return poolsApplyRun(cmd.Context(), s.client, plan, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.planPath, "plan", "", `plan JSON written by "sgseq pools plan --out" ("-" for stdin)`)
	f.BoolVar(&o.yes, "yes", false, "make the calls (without it, only print them)")
	f.BoolVar(&o.force, "force", false, "accept a plan older than --max-age (a changed pool layout is still refused)")
	f.DurationVar(&o.maxAge, "max-age", pools.DefaultMaxPlanAge, "refuse plans older than this")
	f.StringVarP(&configPath, "config", "c", "", "monitor config file (YAML) whose API settings to use")
	f.StringVarP(&o.format, "output", "o", "text", "output format: text or json")
	return cmd
}

// poolsReadPlanFile reads and checks the plan at path ("-": stdin).
func poolsReadPlanFile(cmd *cobra.Command, path string) (*pools.Plan, error) {
	var r io.Reader = cmd.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read plan: %w", err)
		}
		defer f.Close()
		r = f
	}
	p, err := pools.ReadPlan(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// poolsApplyRun checks the plan against the account and prints (dry run)
// or makes its calls.
func poolsApplyRun(ctx context.Context, c *client.Client, plan *pools.Plan, o poolsApplyOptions, out, errw io.Writer) error {
	pr, err := pools.Prepare(ctx, c, plan, pools.ApplyOptions{MaxAge: o.maxAge, Force: o.force, Now: cliNow})
	var se *pools.StaleError
	if errors.As(err, &se) {
		if se.Applied {
			fmt.Fprintln(errw, "The plan is stale: every subuser it moves already sends through its target pool (was it applied already?); nothing was changed:")
		} else {
			fmt.Fprintln(errw, "The plan is stale; nothing was changed:")
		}
		for _, p := range se.Problems {
			fmt.Fprintf(errw, "  - %s\n", p)
		}
		return errors.New(`stale plan: run "sgseq pools plan" again`)
	}
	if err != nil {
		return err
	}
	if o.format == outputJSON {
		return poolsApplyJSON(ctx, c, pr, o, out, errw)
	}
	moves := plan.Moves()
	fmt.Fprintf(out, "Plan generated %s as of %s: %d move(s); the pool layout still matches.\n",
		plan.GeneratedAt.UTC().Format(time.RFC3339), plan.AsOf, len(moves))
	for _, m := range moves {
		tier := m.Tier
		if m.CurrentTier != "" && m.CurrentTier != m.Tier {
			tier = m.CurrentTier + " → " + m.Tier
		}
		fmt.Fprintf(out, "  %s: %s → %s (%s)\n", m.Username, poolsList(m.CurrentPools), m.TargetPool, tier)
	}
	if len(pr.Calls) == 0 {
		fmt.Fprintln(out, "Nothing to do.")
		return nil
	}
	if !o.yes {
		fmt.Fprintf(out, "\nDry run: apply would make these %d call(s) (pass --yes to make them):\n", len(pr.Runnable()))
		for _, call := range pr.Runnable() {
			fmt.Fprintf(out, "  %s\n", call)
		}
		if len(pr.EmptyPools) > 0 {
			fmt.Fprintf(out, "and then stop: target pool(s) %s have no IPs, so no subuser would be moved.\n"+
				"Add IPs to them (POST /v3/ips/pools/{pool}/ips) first. The moves waiting for them:\n",
				strings.Join(pr.EmptyPools, ", "))
			for _, call := range pr.Calls {
				if call.Kind == pools.CallAssignIPs {
					fmt.Fprintf(out, "  %s\n", call)
				}
			}
		}
		return nil
	}
	fmt.Fprintf(out, "\nMaking %d call(s):\n", len(pr.Runnable()))
	err = pr.Execute(ctx, c, out)
	var ae *pools.ApplyError
	if errors.As(err, &ae) {
		fmt.Fprintln(errw)
		ae.Report(errw)
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Done: %d call(s) succeeded.\n", len(pr.Calls))
	return nil
}
