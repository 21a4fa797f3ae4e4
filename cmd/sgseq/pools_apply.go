package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
	// createPools creates missing target pools (without IPs; the moves
	// then wait).
	createPools bool
	format      string // text or json
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
Then it checks that every target pool exists and holds at least one IP:
otherwise it makes no call at all, says which pools are missing or empty
and exits 2 (create them and add IPs in SendGrid, or map the tiers onto the
account's pools with pools.tiers[].pool). --create-pools creates the
missing pools instead, and stops there: no subuser is ever assigned to a
pool without IPs. Then it lists the calls: PUT /v3/subusers/{name}/ips with
the target pool's IPs for each move.

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
	f.BoolVar(&o.createPools, "create-pools", false, "create the target pools the account lacks (without IPs: the moves wait until IPs are added)")
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
	pr, err := pools.Prepare(ctx, c, plan, pools.ApplyOptions{MaxAge: o.maxAge, Force: o.force, CreatePools: o.createPools, Now: cliNow})
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
	var be *pools.BlockedError
	if errors.As(err, &be) {
		poolsWriteBlocked(errw, plan, be)
		return err
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
	if len(pr.Calls) == 0 && pr.Blocked == nil {
		fmt.Fprintln(out, "Nothing to do.")
		return nil
	}
	if !o.yes {
		fmt.Fprintf(out, "\nDry run: apply would make these %d call(s) (pass --yes to make them):\n", len(pr.Calls))
		for _, call := range pr.Calls {
			fmt.Fprintf(out, "  %s\n", call)
		}
		if pr.Blocked != nil {
			fmt.Fprintf(out, "and then stop before moving anyone: %s.\nThe %d move(s) above wait until IPs are added to them (POST /v3/ips/pools/{pool}/ips).\n",
				poolsBlockedPools(pr.Blocked), len(pr.Waiting))
		}
		return nil
	}
	fmt.Fprintf(out, "\nMaking %d call(s):\n", len(pr.Calls))
	err = pr.Execute(ctx, c, out)
	var ae *pools.ApplyError
	if errors.As(err, &ae) {
		fmt.Fprintln(errw)
		ae.Report(errw)
		return err
	}
	if errors.As(err, &be) {
		fmt.Fprintf(errw, "Created the pool(s) %s; no subuser was moved: %s.\n", strings.Join(be.Created, ", "), poolsBlockedPools(be))
		fmt.Fprintf(errw, "Add IPs to them (POST /v3/ips/pools/{pool}/ips) and run \"sgseq pools apply\" again: the plan stays valid.\n")
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Done: %d call(s) succeeded.\n", len(pr.Calls))
	return nil
}

// poolsBlockedPools says which target pools block the moves: "pool(s)
// high-reputation, low-reputation have no IPs".
func poolsBlockedPools(be *pools.BlockedError) string {
	empty := slices.Concat(be.Created, be.Empty)
	var parts []string
	if missing := slices.DeleteFunc(slices.Clone(be.Missing), func(p string) bool { return slices.Contains(be.Created, p) }); len(missing) > 0 {
		parts = append(parts, "target pool(s) "+strings.Join(missing, ", ")+" do not exist")
	}
	if len(empty) > 0 {
		parts = append(parts, "target pool(s) "+strings.Join(empty, ", ")+" have no IPs")
	}
	return strings.Join(parts, "; ")
}

// poolsWriteBlocked explains why a plan cannot be applied: which target
// pools are missing or empty, with how many moves wait for each, and the
// two ways out (with a suggested mapping when none of the tiers' pools
// exists).
func poolsWriteBlocked(w io.Writer, plan *pools.Plan, be *pools.BlockedError) {
	fmt.Fprintln(w, "The plan cannot be applied; no call was made:")
	waiting := map[string]int{}
	for _, m := range plan.Moves() {
		waiting[m.TargetPool]++
	}
	for _, p := range be.Missing {
		fmt.Fprintf(w, "  - target pool %s does not exist (%d move(s) into it)\n", p, waiting[p])
	}
	for _, p := range be.Empty {
		fmt.Fprintf(w, "  - target pool %s has no IPs (%d move(s) into it)\n", p, waiting[p])
	}
	poolsWriteWaysOut(w, be.Suggested)
}

// poolsWriteWaysOut prints the two ways out of blocked target pools, with
// suggested tiers when there are any.
func poolsWriteWaysOut(w io.Writer, suggested []pools.Tier) {
	fmt.Fprintln(w, "Either:")
	fmt.Fprintln(w, "  1. create the pools and add IPs to them in SendGrid (POST /v3/ips/pools, then POST /v3/ips/pools/{pool}/ips;")
	fmt.Fprintln(w, "     \"sgseq pools apply --create-pools\" creates missing pools, without IPs), then run apply again; or")
	fmt.Fprintln(w, "  2. map the tiers onto the account's own pools with pools.tiers[].pool in the config, then run \"sgseq pools plan\" again.")
	if len(suggested) > 0 {
		fmt.Fprintln(w, "     From the account's pools ranked by their senders' current median score:")
		for _, line := range strings.Split(strings.TrimRight(pools.TiersYAML(suggested), "\n"), "\n") {
			fmt.Fprintf(w, "       %s\n", line)
		}
	}
}
