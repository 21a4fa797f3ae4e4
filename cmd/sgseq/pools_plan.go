package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/atomicfile"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/store"
	"github.com/spf13/cobra"
)

// poolsSetup is what the pools commands read from --config, --db and the
// environment.
type poolsSetup struct {
	cfg    pools.Config
	dbPath string
	client *client.Client
}

// poolsLoad resolves the pools settings, the store path and the client.
//
// Without --config: the default pools settings, the store at --db, else
// $SGSEQ_DB, else the default path, and the client of cliClient. With
// --config FILE: the monitor config file (its "pools:" section,
// store.path and sendgrid section, with the usual environment overrides,
// $SGSEQ_DB included; --api-key-file counts as $SENDGRID_API_KEY), --db
// still overriding the store path and --base-url / --region the API
// settings.
func poolsLoad(cmd *cobra.Command, configPath, dbPath string, needStore bool) (*poolsSetup, error) {
	s := &poolsSetup{cfg: pools.DefaultConfig(), dbPath: dbPath}
	configPath = cliConfigPath(configPath)
	if configPath == "" {
		c, err := cliClient(cmd)
		if err != nil {
			return nil, err
		}
		s.client = c
		if s.dbPath == "" {
			s.dbPath = os.Getenv(monitor.EnvStorePath)
		}
	} else {
		var fileKey secret.Secret
		if cliPersistent(cmd, "api-key-file") != "" {
			k, err := cliAPIKey(cmd)
			if err != nil {
				return nil, err
			}
			fileKey = k
		}
		env := monitor.Env(func(key string) (string, bool) {
			if key == monitor.EnvAPIKey && !fileKey.IsZero() {
				return fileKey.Reveal(), true
			}
			return os.LookupEnv(key)
		})
		mc, err := monitor.Load(configPath, env)
		if err != nil {
			return nil, err
		}
		s.cfg = mc.Pools
		if s.dbPath == "" {
			s.dbPath = mc.Store.Path
		}
		logger, err := cliLoggerE(cmd)
		if err != nil {
			return nil, err
		}
		region := client.Region(cliPersistent(cmd, "region"))
		if !cmd.Root().PersistentFlags().Changed("region") && mc.SendGrid.Region != "" {
			region = mc.SendGrid.Region
		}
		if region != client.Global && region != client.EU {
			return nil, fmt.Errorf("invalid --region %q: want global or eu", region)
		}
		opts := []client.Option{client.WithRegion(region), client.WithLogger(logger)}
		base := cliPersistent(cmd, "base-url")
		if base == "" {
			base = mc.SendGrid.BaseURL
		}
		if base != "" {
			opts = append(opts, client.WithBaseURL(base))
		}
		key := mc.SendGrid.APIKey
		c, err := client.New(key.Reveal(), opts...)
		if err != nil {
			return nil, secret.ScrubError(err, key)
		}
		s.client = c
	}
	if err := s.cfg.Validate(); err != nil {
		return nil, err
	}
	if needStore && s.dbPath == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		s.dbPath = p
	}
	return s, nil
}

// poolsOpenStore opens an existing store; it refuses to create one, since
// a plan needs the history "sgseq backfill" or the monitor stores.
func poolsOpenStore(ctx context.Context, path string) (*store.SQLite, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no score history at %s: run \"sgseq backfill\" (or the monitor) first, or pass --db", path)
	}
	return store.Open(ctx, path)
}

// poolsMakePlan reads the current layout through c and the history in st
// and plans as of asOf (zero: the latest stored subuser day).
func poolsMakePlan(ctx context.Context, cfg pools.Config, c *client.Client, st history.Store, asOf client.Date) (*pools.Plan, error) {
	asOf, err := pools.ResolveAsOf(ctx, st, asOf)
	if err != nil {
		return nil, err
	}
	state, err := pools.LoadState(ctx, c)
	if err != nil {
		return nil, err
	}
	return pools.PlanFromStore(ctx, cfg, st, state, asOf, cliNow())
}

func newPoolsPlanCmd() *cobra.Command {
	var (
		configPath, dbPath, format, outPath, asOfFlag string
		all                                           bool
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Propose a pool for every subuser from its stored SEQ scores (reads only)",
		Long: `Propose the IP pool of every subuser from the score history the monitor
stores: each subuser's trailing median score places it in a tier (default
high ≥4, mid ≥3, low below), with hysteresis so that tiers do not flap.
Ineligible, too-new subusers and those outside exactly one pool stay where
they are and are flagged. Underperforming senders in a shared pool are
flagged as outliers.

The plan only reads (the IPs and pools APIs and the store). Save it with
--out plan.json and carry it out with "sgseq pools apply --plan plan.json".
-o json prints the same documented JSON.`,
		Example: `  sgseq pools plan
  sgseq pools plan --config sgseq.yaml --out plan.json
  sgseq pools plan -o csv --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			if err := cliCheckOutPath("out", outPath); err != nil {
				return err
			}
			var asOf client.Date
			if asOfFlag != "" {
				d, err := cliDateFlag("as-of", asOfFlag)
				if err != nil {
					return err
				}
				asOf = d
			}
			s, err := poolsLoad(cmd, configPath, dbPath, true)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := poolsOpenStore(ctx, s.dbPath)
			if err != nil {
				return err
			}
			defer st.Close()
			plan, err := poolsMakePlan(ctx, s.cfg, s.client, st, asOf)
			if err != nil {
				return err
			}
			if outPath != "" {
				if err := poolsSavePlan(outPath, plan); err != nil {
					return err
				}
			}
			if err := poolsWritePlan(cliOut(cmd), format, plan, all); err != nil {
				return err
			}
			if outPath != "" {
				if len(plan.Blockers) > 0 {
					var blocked []string
					for _, b := range plan.Blockers {
						blocked = append(blocked, b.Pool)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "Plan saved to %s, but \"sgseq pools apply\" refuses it while its target pool(s) %s are missing or have no IPs.\n",
						outPath, strings.Join(blocked, ", "))
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "Plan saved to %s; apply it with: sgseq pools apply --plan %s\n", outPath, outPath)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "monitor config file (YAML) whose pools: section, store and API settings to use")
	f.StringVar(&dbPath, "db", "", "score history store (default: $"+monitor.EnvStorePath+", else store.path of --config, else the default location)")
	f.StringVar(&outPath, "out", "", "also write the plan as JSON to this file, for \"sgseq pools apply\"")
	f.StringVar(&asOfFlag, "as-of", "", "plan as of this day, YYYY-MM-DD (default: the latest stored day)")
	f.BoolVar(&all, "all", false, "table: list every subuser, not only moves and flagged ones")
	cliAddOutputFlag(cmd, &format)
	return cmd
}

// poolsSavePlan writes the plan's JSON to path with [atomicfile.Write]:
// replaced atomically, synced before the rename.
func poolsSavePlan(path string, plan *pools.Plan) error {
	if err := atomicfile.Write(path, plan.WriteJSON); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

// poolsCSVHeader is the header of "sgseq pools plan -o csv".
var poolsCSVHeader = []string{"username", "current_pools", "median_score", "tier", "target_pool", "move", "reason", "flags",
	"current_tier", "latest_score", "trend", "days_held"}

// poolsWritePlan prints the plan in format: the JSON contract, one CSV row
// per subuser, or the table (moves, tiers, flagged; every subuser with all).
func poolsWritePlan(w io.Writer, format string, p *pools.Plan, all bool) error {
	switch format {
	case outputJSON:
		return p.WriteJSON(w)
	case outputCSV:
		t := tableData{Header: poolsCSVHeader}
		for _, s := range p.Subusers {
			t.Rows = append(t.Rows, []string{
				s.Username, strings.Join(s.CurrentPools, " "), poolsOptFloat(s.MedianScore), s.Tier, s.TargetPool,
				strconv.FormatBool(s.Move), s.Reason, strings.Join(s.Flags, " "),
				s.CurrentTier, poolsOptFloat(s.LatestScore), poolsOptFloat(s.Trend), strconv.Itoa(s.DaysHeld),
			})
		}
		return writeOutput(w, outputCSV, t)
	}
	return poolsWritePlanTable(w, p, all, 0)
}

// poolsWritePlanTable prints the plan for people. maxFlagged > 0 limits
// the flagged list (the demo's short form).
func poolsWritePlanTable(w io.Writer, p *pools.Plan, all bool, maxFlagged int) error {
	fmt.Fprintf(w, "IP-pool plan as of %s: %d-day median, tier changes after %d days, generated %s\n",
		p.AsOf, p.WindowDays, p.HoldDays, p.GeneratedAt.UTC().Format("2006-01-02 15:04 MST"))
	if err := poolsWritePlanBlockers(w, p); err != nil {
		return err
	}
	moves := p.Moves()
	fmt.Fprintf(w, "\nMoves (%d):\n", len(moves))
	if len(moves) == 0 {
		fmt.Fprintln(w, "  none: every placed subuser already sends through its tier's pool")
	} else {
		tw := newTableWriter(w)
		fmt.Fprintln(tw, "  SUBUSER\tFROM\tTO\tTIER\tMEDIAN\tREASON")
		for _, s := range moves {
			tier := s.Tier
			if s.CurrentTier != "" && s.CurrentTier != s.Tier {
				tier = s.CurrentTier + " → " + s.Tier
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.Username, poolsList(s.CurrentPools), s.TargetPool, tier,
				poolsOptFloat(s.MedianScore), s.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "\nTiers after the moves:\n")
	tw := newTableWriter(w)
	fmt.Fprintln(tw, "  TIER\tMEDIAN SCORES\tPOOL\tPOOL IPS\tSUBUSERS\tIN\tOUT\tMEDIAN")
	for i, t := range p.Summary {
		ips := "missing"
		if i < len(p.Tiers) && p.Tiers[i].PoolExists {
			ips = strconv.Itoa(p.Tiers[i].PoolIPs)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", t.Tier, poolsTierRange(p.Tiers, i), t.Pool, ips, t.Subusers, t.MovesIn, t.MovesOut,
			poolsOptFloat(t.MedianScore))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var flagged []pools.SubuserPlan
	for _, s := range p.Subusers {
		if len(s.Flags) > 0 {
			flagged = append(flagged, s)
		}
	}
	fmt.Fprintf(w, "\nFlagged (%d):\n", len(flagged))
	shown := flagged
	if maxFlagged > 0 && len(shown) > maxFlagged {
		shown = shown[:maxFlagged]
	}
	if len(flagged) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw = newTableWriter(w)
		fmt.Fprintln(tw, "  SUBUSER\tFLAGS\tPOOLS\tREASON")
		for _, s := range shown {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Username, strings.Join(s.Flags, ","), poolsList(s.CurrentPools), s.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(shown) < len(flagged) {
			fmt.Fprintf(w, "  … and %d more\n", len(flagged)-len(shown))
		}
	}

	if all {
		fmt.Fprintf(w, "\nAll subusers (%d):\n", len(p.Subusers))
		tw = newTableWriter(w)
		fmt.Fprintln(tw, "  SUBUSER\tPOOLS\tMEDIAN\tTREND\tTIER\tTARGET\tMOVE\tFLAGS")
		for _, s := range p.Subusers {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Username, poolsList(s.CurrentPools), poolsOptFloat(s.MedianScore),
				poolsOptFloat(s.Trend), poolsDash(s.Tier), poolsDash(s.TargetPool), poolsYesNo(s.Move), poolsDash(strings.Join(s.Flags, ",")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// poolsWritePlanBlockers prints, under the plan's header, that none of the
// tiers' pools exists (with the account's pools ranked by their senders'
// median and a suggested mapping) and the target pools that stop "sgseq
// pools apply".
func poolsWritePlanBlockers(w io.Writer, p *pools.Plan) error {
	if p.NoTierPool() {
		names := make([]string, len(p.Tiers))
		for i, t := range p.Tiers {
			names[i] = t.Pool
		}
		fmt.Fprintf(w, "\nNone of the tiers' pools exists in this account (%s).\n", strings.Join(names, ", "))
		if len(p.PoolRanking) > 0 {
			fmt.Fprintln(w, "The account's pools, ranked by their senders' current median score:")
			tw := newTableWriter(w)
			fmt.Fprintln(tw, "  POOL\tIPS\tSENDERS\tMEDIAN\tSUGGESTED TIER")
			for _, r := range p.PoolRanking {
				tier := "-"
				for i, t := range p.SuggestedTiers {
					if t.Pool == r.Pool {
						tier = t.Name + " (" + poolsTierRange(poolsPlanTiers(p.SuggestedTiers), i) + ")"
					}
				}
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\n", r.Pool, r.IPs, r.Senders, poolsDash(poolsOptFloat(r.MedianScore)), tier)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if len(p.SuggestedTiers) > 0 {
			fmt.Fprintln(w, "Suggested mapping of the tiers onto them (the pools: section of the config, then plan again):")
			for _, line := range strings.Split(strings.TrimRight(pools.TiersYAML(p.SuggestedTiers), "\n"), "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
		} else {
			fmt.Fprintln(w, "No mapping to suggest: fewer than two of the account's pools hold IPs and senders with scores.")
		}
	}
	if len(p.Blockers) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nBlocked: \"sgseq pools apply\" would refuse this plan and make no call:\n")
	for _, b := range p.Blockers {
		fmt.Fprintf(w, "  - %s\n", b)
	}
	poolsWriteWaysOut(w, nil)
	return nil
}

// poolsPlanTiers wraps tiers for poolsTierRange.
func poolsPlanTiers(tiers []pools.Tier) []pools.PlanTier {
	out := make([]pools.PlanTier, len(tiers))
	for i, t := range tiers {
		out[i] = pools.PlanTier{Tier: t}
	}
	return out
}

// poolsTierRange describes tier i's median scores: "≥4", "3–4", "<3".
func poolsTierRange(tiers []pools.PlanTier, i int) string {
	switch {
	case len(tiers) == 1:
		return "any"
	case i == 0:
		return "≥" + cliFloat(tiers[0].MinScore)
	case i == len(tiers)-1:
		return "<" + cliFloat(tiers[i-1].MinScore)
	}
	return cliFloat(tiers[i].MinScore) + "–" + cliFloat(tiers[i-1].MinScore)
}

func poolsOptFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return cliFloat(*v)
}

func poolsList(p []string) string {
	if len(p) == 0 {
		return "-"
	}
	return strings.Join(p, ",")
}

func poolsDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func poolsYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
