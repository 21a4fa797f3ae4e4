package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/internal/errjoin"
	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/store"
)

func newMonitorCmd() *cobra.Command {
	var configPath string
	var lockWait time.Duration
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Run the monitoring daemon: sweep on a schedule, alert on score drops, serve /metrics",
		Long: `Run the monitoring daemon until SIGINT or SIGTERM.

On the config's cron schedule (default "0 6 * * *", daily at 06:00 UTC) it
fetches every missing day of SEQ scores for the parent and its subusers,
stores them, runs the detection rules and notifies Slack (or prints to
stdout without Slack settings). It sweeps at start-up when the last
successful sweep is older than one schedule period. It serves /healthz,
/readyz, /metrics and the status page (/, /accounts/{account}, /pools,
/api/v1/...) on http.addr (default 127.0.0.1:9464).

Without --config it runs from the environment: SENDGRID_API_KEY,
SENDGRID_BASE_URL, SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN + SLACK_CHANNEL
(+ SLACK_API_URL for another Slack API base), SGSEQ_DB.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, lease, err := monLoadLocked(cmd, configPath, lockWait)
			if err != nil {
				return err
			}
			defer lease.Release()
			// A lease that ends without Release (one that can expire)
			// stops the daemon.
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() {
				select {
				case <-lease.Lost():
					if ctx.Err() == nil { // not our own Release at exit
						logger.Error("store write lease lost: stopping", slog.String("store", cfg.Store.Path))
						cancel()
					}
				case <-ctx.Done():
				}
			}()
			d, err := monDaemon(ctx, cfg, logger, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer d.Close()
			attrs := []any{slog.String("schedule", cfg.Schedule), slog.String("http", cfg.HTTP.Addr)}
			if sched, err := cfg.ParseSchedule(); err == nil {
				attrs = append(attrs, slog.String("next_sweep", sched.Next(time.Now()).UTC().Format(time.RFC3339)))
			}
			logger.Info("monitor starting", attrs...)
			return d.Run(ctx)
		},
	}
	monAddConfigFlag(cmd, &configPath)
	monAddLockFlag(cmd, &lockWait)
	return cmd
}

// monAddConfigFlag adds --config.
func monAddConfigFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVarP(path, "config", "c", "", "YAML config file (default: $"+envConfig+", else $XDG_CONFIG_HOME/sgseq/sgseq.yaml or ~/.config/sgseq/sgseq.yaml if it exists, else defaults plus environment)")
}

// monLoad loads the monitor config (file or environment), then applies the
// global flags: --api-key-file, --base-url, --region and --log-level /
// --log-format when given. needKey false tolerates a missing API key (for
// the store-only commands). The logger writes to the command's stderr.
func monLoad(cmd *cobra.Command, path string, needKey bool) (monitor.Config, *slog.Logger, error) {
	var fileKey secret.Secret
	if cliPersistent(cmd, "api-key-file") != "" {
		k, err := cliAPIKey(cmd)
		if err != nil {
			return monitor.Config{}, nil, err
		}
		fileKey = k
	}
	env := monitor.Env(func(key string) (string, bool) {
		if key == monitor.EnvAPIKey && !fileKey.IsZero() {
			return fileKey.Reveal(), true
		}
		return os.LookupEnv(key)
	})
	cfg, err := monitor.Load(cliConfigPath(path), env)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(cmd.ErrOrStderr(), "sgseq: warning: %s\n", w)
	}
	pf := cmd.Root().PersistentFlags()
	if pf.Changed("base-url") {
		cfg.SendGrid.BaseURL = cliPersistent(cmd, "base-url")
	}
	if pf.Changed("region") {
		cfg.SendGrid.Region = client.Region(cliPersistent(cmd, "region"))
	}
	if pf.Changed("log-level") {
		cfg.Log.Level = cliPersistent(cmd, "log-level")
	}
	if pf.Changed("log-format") {
		cfg.Log.Format = cliPersistent(cmd, "log-format")
	}
	if err == nil && (pf.Changed("base-url") || pf.Changed("region") || pf.Changed("log-level") || pf.Changed("log-format")) {
		err = cfg.Validate()
	}
	if err != nil && !needKey {
		err = monWithoutKeyError(err)
	}
	if err != nil {
		return cfg, nil, err
	}
	// The level of an interactive run (warn on a terminal, --quiet); the
	// config's level for the daemon. cfg keeps the configured level.
	level, err := cliLevel(cmd, cfg.Log.Level)
	if err != nil {
		return cfg, nil, err
	}
	lc := cfg
	lc.Log.Level = strings.ToLower(level.String())
	return cfg, cliWrapLogger(cmd, lc.Logger(cmd.ErrOrStderr())), nil
}

// monWithoutKeyError drops the problems of a missing API key from a joined
// validation error: "sendgrid.api_key: required", and an unset ${VAR} in
// sendgrid.api_key (the example config's ${SENDGRID_API_KEY}), for the
// commands that read only the store.
func monWithoutKeyError(err error) error {
	var keep []error
	for _, e := range errjoin.Split(err) {
		var fe *monitor.FieldError
		if errors.As(e, &fe) && fe.Field == "sendgrid.api_key" && (errors.Is(e, monitor.ErrRequired) || errors.Is(e, monitor.ErrEnvUnset)) {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

// monDaemon builds the daemon for cfg: its client, store, notifier (the
// log sink writes to stdout).
func monDaemon(ctx context.Context, cfg monitor.Config, logger *slog.Logger, stdout io.Writer, opts ...monitor.Option) (*monitor.Daemon, error) {
	base := []monitor.Option{monitor.WithLogger(logger), monitor.WithStdout(stdout)}
	d, err := monitor.New(ctx, cfg, append(base, opts...)...)
	if err != nil {
		return nil, secret.ScrubError(err, cfg.SendGrid.APIKey, cfg.Notify.Slack.WebhookURL, cfg.Notify.Slack.BotToken)
	}
	return d, nil
}

// monStorePath is the store file of cfg: store.path or the default.
func monStorePath(cfg monitor.Config) (string, error) {
	if cfg.Store.Path != "" {
		return cfg.Store.Path, nil
	}
	return store.DefaultPath()
}

// monAddLockFlag adds --lock-wait to a command that writes the store.
func monAddLockFlag(cmd *cobra.Command, wait *time.Duration) {
	cmd.Flags().DurationVar(wait, "lock-wait", 0, "wait this long for another check, backfill or monitor on the same store to finish (0: exit 2 at once)")
}

// monLoadLocked loads the configuration at configPath (monLoad, with its
// logger) and takes its store's write lease (monLock).
func monLoadLocked(cmd *cobra.Command, configPath string, wait time.Duration) (monitor.Config, *slog.Logger, store.Lease, error) {
	cfg, logger, err := monLoad(cmd, configPath, true)
	if err != nil {
		return cfg, nil, nil, err
	}
	lease, err := monLock(cmd.Context(), &cfg, wait, logger)
	return cfg, logger, lease, err
}

// monLock takes the write lease of cfg's store (one check, backfill or
// monitor per store), waiting up to wait, and sets cfg.Store.Path to the
// file it locked. The error of a held store names the holder: "store …
// is in use by pid N on HOST since T".
func monLock(ctx context.Context, cfg *monitor.Config, wait time.Duration, logger *slog.Logger) (store.Lease, error) {
	p, err := monStorePath(*cfg)
	if err != nil {
		return nil, err
	}
	cfg.Store.Path = p
	lease, err := store.Acquire(ctx, p, store.LockOptions{Wait: wait, OnWait: func(h store.Holder) {
		logger.Info("store in use, waiting", slog.String("store", p), slog.String("holder", h.String()), slog.Duration("lock_wait", wait))
	}})
	if err != nil {
		if errors.Is(err, store.ErrLocked) && wait == 0 {
			return nil, fmt.Errorf("%w (wait for it with --lock-wait)", err)
		}
		return nil, err
	}
	return lease, nil
}

// monOpenConfigStore loads the configuration at configPath (or of the
// environment) and opens its store with monOpenStore.
func monOpenConfigStore(cmd *cobra.Command, configPath string) (*store.SQLite, error) {
	cfg, _, err := monLoad(cmd, configPath, false)
	if err != nil {
		return nil, err
	}
	return monOpenStore(cmd.Context(), cfg)
}

// monOpenStore opens the store of cfg for the read-only commands; it
// refuses to create an empty one.
func monOpenStore(ctx context.Context, cfg monitor.Config) (*store.SQLite, error) {
	p, err := monStorePath(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("no score history at %s: run \"sgseq backfill\" or \"sgseq check\" first (or set %s / store.path)", p, monitor.EnvStorePath)
	}
	return store.Open(ctx, p)
}
