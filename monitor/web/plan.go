package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/pools"
)

// DefaultPlanTTL is how long a [PlanCache] keeps a plan when no sweep has
// finished since it was made.
const DefaultPlanTTL = 10 * time.Minute

// ErrNoSubuserHistory is returned by [PlanCache.Plan] while the store
// holds no subuser day to plan from.
var ErrNoSubuserHistory = errors.New("no subuser score stored yet")

// PlanCache is a [PlanSource] that makes the IP-pool plan from the store
// (pools.PlanFromStore, as of the newest stored subuser day) and the pool
// layout loaded by a function (usually pools.LoadState through the
// SendGrid client: two read-only API listings), and keeps it until a new
// sweep finishes or TTL passes. Concurrent callers share one computation.
type PlanCache struct {
	cfg  pools.Config
	src  Source
	load func(ctx context.Context) (*pools.State, error)
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	plan    *pools.Plan
	made    time.Time
	sweepID int64
	sweepAt time.Time
}

// NewPlanCache returns a cache planning with cfg from src and the layout
// from load; ttl 0 means [DefaultPlanTTL], now nil means time.Now.
func NewPlanCache(cfg pools.Config, src Source, load func(ctx context.Context) (*pools.State, error), ttl time.Duration, now func() time.Time) *PlanCache {
	if ttl <= 0 {
		ttl = DefaultPlanTTL
	}
	if now == nil {
		now = time.Now
	}
	return &PlanCache{cfg: cfg, src: src, load: load, ttl: ttl, now: now}
}

// Plan returns the current plan, made again when a sweep finished since
// the cached one or it is older than the TTL. Errors (the layout could not
// be loaded, the store could not be read, no subuser history) are not
// cached.
func (c *PlanCache) Plan(ctx context.Context) (*pools.Plan, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok, err := c.src.LastSweep(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("pools: last sweep: %w", err)
	}
	now := c.now()
	if c.plan != nil && ok && last.ID == c.sweepID && last.Finished.Equal(c.sweepAt) && now.Sub(c.made) < c.ttl {
		return c.plan, nil
	}
	asOf, err := pools.ResolveAsOf(ctx, c.src, client.Date{})
	if errors.Is(err, pools.ErrNoHistory) {
		return nil, ErrNoSubuserHistory
	}
	if err != nil {
		return nil, err
	}
	state, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := pools.PlanFromStore(ctx, c.cfg, c.src, state, asOf, now)
	if err != nil {
		return nil, err
	}
	c.plan, c.made, c.sweepID, c.sweepAt = plan, now, last.ID, last.Finished
	return plan, nil
}
