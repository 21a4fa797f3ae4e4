package monitor

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/web"
)

// Environment variables of the status pages' optional basic
// authentication (both must be set).
const (
	EnvHTTPUser     = "SGSEQ_HTTP_USER"
	EnvHTTPPassword = "SGSEQ_HTTP_PASSWORD"
)

// PageRefresh is how often the daemon's status pages reload themselves.
const PageRefresh = 5 * time.Minute

// WebAuthFromEnv returns the status pages' basic-auth credentials from
// SGSEQ_HTTP_USER and SGSEQ_HTTP_PASSWORD (looked up with getenv), or nil
// when either is unset or empty.
func WebAuthFromEnv(getenv func(string) (string, bool)) *web.BasicAuth {
	u, _ := getenv(EnvHTTPUser)
	p, _ := getenv(EnvHTTPPassword)
	if u == "" || p == "" {
		return nil
	}
	return &web.BasicAuth{Username: u, Password: p}
}

// WebOptions returns the status pages' options for cfg: the IP-pool plan
// (when pools.enabled) made from st and the pool layout that load reads,
// and the clock.
func WebOptions(cfg Config, st web.Source, load func(ctx context.Context) (*pools.State, error), now func() time.Time) web.Options {
	o := web.Options{Now: now, PoolsConfig: cfg.Pools}
	if cfg.Pools.Enabled && load != nil {
		o.Plans = web.NewPlanCache(cfg.Pools, st, load, 0, now)
	}
	return o
}

// poolRecorder is implemented by a store that keeps the pool history
// (monitor/store's SQLite).
type poolRecorder interface {
	RecordPools(ctx context.Context, at time.Time, pools map[string][]string) error
}

// pages is the daemon's status pages (package web), on its HTTP server
// beside /healthz, /readyz and /metrics. Each pool layout the pages read
// is recorded in the store's pool history, when the store keeps one.
func (d *Daemon) pages(getenv func(string) (string, bool)) http.Handler {
	o := WebOptions(d.cfg, d.store, func(ctx context.Context) (*pools.State, error) {
		st, err := pools.LoadState(ctx, d.client)
		if err != nil {
			return nil, err
		}
		if rec, ok := d.store.(poolRecorder); ok {
			if err := rec.RecordPools(ctx, d.now(), st.Subusers); err != nil {
				d.logger.WarnContext(ctx, "status page: recording the pool layout", slog.Any(logKeyError, err))
			}
		}
		return st, nil
	}, d.now)
	o.Auth = WebAuthFromEnv(getenv)
	o.Refresh = PageRefresh
	o.Logger = d.logger
	return web.Handler(d.store, o)
}
