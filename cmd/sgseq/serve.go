package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/web"
)

func newServeCmd() *cobra.Command {
	var configPath, addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the status pages from the store, read-only, without sweeping",
		Long: `Serve the status pages of the monitor (the same as "sgseq monitor" serves on
http.addr) from the store, read-only and without sweeping, until SIGINT or
SIGTERM: for setups that run "sgseq check" from cron.

  /                                   every account, worst first
  /accounts/{account}                 one account's whole stored history
  /pools                              the IP-pool plan (with pools.enabled)
  /api/v1/status                      the JSON of "sgseq status -o json"
  /api/v1/accounts/{account}/history  the JSON of "sgseq history ACCOUNT -o json" (?days=N)

--addr (default: the config's http.addr, 127.0.0.1:9464) sets where it
listens. With SGSEQ_HTTP_USER and SGSEQ_HTTP_PASSWORD set, every page asks
for those credentials (HTTP basic authentication; put TLS in front of it
beyond loopback). With pools.enabled, the pool layout is read from the IPs
and IP pools APIs (read-only calls) and needs SENDGRID_API_KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := monLoad(cmd, configPath, false)
			if err != nil {
				return err
			}
			listen := cfg.HTTP.Addr
			if cmd.Flags().Changed("addr") {
				listen = addr
			}
			if listen == "" {
				return errors.New("no address to listen on: http.addr is empty; give --addr HOST:PORT")
			}
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return fmt.Errorf("invalid --addr %q: want host:port", listen)
			}
			ctx := cmd.Context()
			st, err := monOpenStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			var load func(context.Context) (*pools.State, error)
			if cfg.Pools.Enabled {
				if cfg.SendGrid.APIKey.IsZero() {
					load = func(context.Context) (*pools.State, error) {
						return nil, fmt.Errorf("the pool layout is read from the IPs API: set %s", monitor.EnvAPIKey)
					}
				} else {
					c, err := monitor.NewClient(cfg, client.WithLogger(logger))
					if err != nil {
						return err
					}
					load = func(ctx context.Context) (*pools.State, error) { return pools.LoadState(ctx, c) }
				}
			}
			o := monitor.WebOptions(cfg, st, load, time.Now)
			o.Auth = monitor.WebAuthFromEnv(os.LookupEnv)
			o.Refresh = monitor.PageRefresh
			o.Logger = logger
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			srv := &http.Server{
				Handler:           web.Handler(st, o),
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      2 * time.Minute,
				IdleTimeout:       2 * time.Minute,
				ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sgseq serve: status pages at http://%s/ (read-only; Ctrl-C to stop)\n", ln.Addr())
			logger.Info("serving status pages", slog.String("addr", ln.Addr().String()), slog.Bool("basic_auth", o.Auth != nil), slog.Bool("pools", o.Plans != nil))
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return fmt.Errorf("serve: shutdown: %w", err)
			}
			return nil
		},
	}
	monAddConfigFlag(cmd, &configPath)
	cmd.Flags().StringVar(&addr, "addr", monitor.DefaultHTTP, "address to listen on (host:port); default: the config's http.addr")
	return cmd
}
