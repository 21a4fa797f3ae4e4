package pools

import (
	"errors"
	"fmt"
	"math"
)

// Tier is one reputation tier: subusers whose trailing median score is at
// least MinScore (and below the next higher tier's MinScore) belong in Pool.
//
// Its field names are part of the plan JSON contract and the `pools:`
// section of the monitor configuration.
type Tier struct {
	// Name is the tier's name, such as "high".
	Name string `yaml:"name" json:"name"`
	// MinScore is the lowest trailing median score (1–5) that belongs in
	// this tier. The lowest tier also takes every score below its MinScore.
	MinScore float64 `yaml:"min_score" json:"min_score"`
	// Pool is the IP pool that senders of this tier send through.
	Pool string `yaml:"pool" json:"pool"`
}

// Config is the configuration of the IP-pool planner and of the monitor's
// outlier rule. The monitor embeds it as the `pools:` section of its YAML
// configuration; start from [DefaultConfig].
type Config struct {
	// Enabled turns the pool detector on in the monitor daemon (outlier
	// alerts and the tier changes listed in the digest). "sgseq pools plan"
	// works whatever its value.
	Enabled bool `yaml:"enabled"`
	// Tiers, ordered from the best (highest MinScore) to the worst, with
	// strictly decreasing MinScore and distinct names and pools.
	Tiers []Tier `yaml:"tiers"`
	// WindowDays is the length of the trailing window, in days, whose
	// median score places a subuser in a tier.
	WindowDays int `yaml:"window_days"`
	// HoldDays is the hysteresis: a subuser changes tier only after its
	// daily median has stayed in the new tier this many consecutive days.
	HoldDays int `yaml:"hold_days"`
	// OutlierGap is how far below the median of its pool a subuser's
	// median must be to be reported as an underperforming sender.
	OutlierGap float64 `yaml:"outlier_gap"`
	// OutlierMinMembers is the number of scored subusers a pool needs
	// before its members are compared with its median.
	OutlierMinMembers int `yaml:"outlier_min_members"`
	// MinScoredDays is the number of scored days a subuser needs in its
	// history before it is placed in a tier; newer subusers stay where
	// they are and are flagged "too_new".
	MinScoredDays int `yaml:"min_scored_days"`
}

// Defaults of [DefaultConfig].
const (
	defaultWindowDays        = 7
	defaultHoldDays          = 3
	defaultOutlierGap        = 2.0
	defaultOutlierMinMembers = 3
	defaultMinScoredDays     = 7
)

// maxDays bounds WindowDays, HoldDays and MinScoredDays: the planner
// replays at most this many days of history.
const maxDays = ReplayDays

// defaultTiers returns the three default tiers: high (median ≥ 4) in pool
// "high-reputation", mid (≥ 3) in "mid-reputation", low (below 3) in
// "low-reputation".
func defaultTiers() []Tier {
	return []Tier{
		{Name: "high", MinScore: 4, Pool: "high-reputation"},
		{Name: "mid", MinScore: 3, Pool: "mid-reputation"},
		{Name: "low", MinScore: 1, Pool: "low-reputation"},
	}
}

// DefaultConfig returns the default configuration: enabled, three tiers
// (high ≥ 4 in pool "high-reputation", mid ≥ 3 in "mid-reputation", low below in
// "low-reputation"), a 7-day median window, 3 days of hysteresis, an outlier
// gap of 2 in pools of at least 3 scored subusers, and 7 scored days (a full
// window) before a subuser is placed.
func DefaultConfig() Config {
	return Config{
		Enabled:           true,
		Tiers:             defaultTiers(),
		WindowDays:        defaultWindowDays,
		HoldDays:          defaultHoldDays,
		OutlierGap:        defaultOutlierGap,
		OutlierMinMembers: defaultOutlierMinMembers,
		MinScoredDays:     defaultMinScoredDays,
	}
}

// FieldError is one invalid configuration value. Field is the path of the
// value from the top of the monitor configuration, such as
// "pools.tiers[1].min_score".
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks the configuration and returns every problem found,
// joined with [errors.Join]; each is a *[FieldError] whose Field is a path
// such as "pools.tiers[1].min_score". It returns nil for a valid Config.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: "pools." + field, Reason: fmt.Sprintf(format, args...)})
	}
	if len(c.Tiers) == 0 {
		bad("tiers", "at least one tier is required")
	}
	names := map[string]int{}
	pools := map[string]int{}
	for i, t := range c.Tiers {
		p := fmt.Sprintf("tiers[%d]", i)
		if t.Name == "" {
			bad(p+".name", "must not be empty")
		} else if j, ok := names[t.Name]; ok {
			bad(p+".name", "%q is already the name of tiers[%d]", t.Name, j)
		} else {
			names[t.Name] = i
		}
		if t.Pool == "" {
			bad(p+".pool", "must not be empty")
		} else if len(t.Pool) > 64 {
			bad(p+".pool", "%q is longer than 64 characters", t.Pool)
		} else if j, ok := pools[t.Pool]; ok {
			bad(p+".pool", "%q is already the pool of tiers[%d]", t.Pool, j)
		} else {
			pools[t.Pool] = i
		}
		switch {
		case math.IsNaN(t.MinScore) || t.MinScore < 0 || t.MinScore > 5:
			bad(p+".min_score", "%v is outside 0–5", t.MinScore)
		case i > 0 && t.MinScore >= c.Tiers[i-1].MinScore:
			bad(p+".min_score", "%v must be below tiers[%d].min_score (%v): list tiers from best to worst",
				t.MinScore, i-1, c.Tiers[i-1].MinScore)
		}
	}
	if c.WindowDays < 1 || c.WindowDays > maxDays {
		bad("window_days", "%d is outside 1–%d", c.WindowDays, maxDays)
	}
	if c.HoldDays < 1 || c.HoldDays > maxDays {
		bad("hold_days", "%d is outside 1–%d", c.HoldDays, maxDays)
	}
	if math.IsNaN(c.OutlierGap) || c.OutlierGap <= 0 || c.OutlierGap > 4 {
		bad("outlier_gap", "%v is outside (0, 4]", c.OutlierGap)
	}
	if c.OutlierMinMembers < 2 {
		bad("outlier_min_members", "%d is below 2", c.OutlierMinMembers)
	}
	if c.MinScoredDays < 1 || c.MinScoredDays > maxDays {
		bad("min_scored_days", "%d is outside 1–%d", c.MinScoredDays, maxDays)
	}
	return errors.Join(errs...)
}

// tierFor returns the index of the tier a median score belongs in: the
// first (best) tier whose MinScore it reaches, else the last tier.
func (c Config) tierFor(score float64) int {
	for i, t := range c.Tiers {
		if score >= t.MinScore-eps {
			return i
		}
	}
	return len(c.Tiers) - 1
}
