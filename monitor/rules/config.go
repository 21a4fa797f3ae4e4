package rules

import (
	"errors"
	"fmt"
)

// Config holds the detection rules and their thresholds. It is embedded in
// the monitor's YAML config under "rules:"; start from [DefaultConfig] and
// decode over it so that absent keys keep their defaults.
type Config struct {
	// Drop alerts when the score falls against the previous scored day.
	Drop DropConfig `yaml:"drop"`
	// Baseline alerts when the score sits below its trailing median.
	Baseline BaselineConfig `yaml:"baseline"`
	// Floor alerts when the score is at or below an absolute floor.
	Floor FloorConfig `yaml:"floor"`
	// Metric alerts when one of the five metrics is low or fell.
	Metric MetricConfig `yaml:"metric"`
	// Eligibility alerts when an account that had scores has none.
	Eligibility EligibilityConfig `yaml:"eligibility"`
}

// DropConfig configures the drop rule.
type DropConfig struct {
	// Enabled turns the rule on (default true).
	Enabled bool `yaml:"enabled"`
	// MinDrop is the smallest fall against the previous scored day that
	// fires (default 1).
	MinDrop float64 `yaml:"min_drop"`
	// ForDays is how many consecutive scored days the condition must hold
	// before it fires (default 1).
	ForDays int `yaml:"for_days"`
}

// BaselineConfig configures the baseline rule.
type BaselineConfig struct {
	// Enabled turns the rule on (default true).
	Enabled bool `yaml:"enabled"`
	// BelowMedian is how far below the trailing median the score must be
	// (default 1).
	BelowMedian float64 `yaml:"below_median"`
	// WindowDays is the number of previous scored days the median is taken
	// over (default 7); at least 3 are needed.
	WindowDays int `yaml:"window_days"`
	// ForDays is how many consecutive scored days the condition must hold
	// before it fires (default 1).
	ForDays int `yaml:"for_days"`
}

// FloorConfig configures the floor rule.
type FloorConfig struct {
	// Enabled turns the rule on (default true).
	Enabled bool `yaml:"enabled"`
	// MaxScore fires when the score is at or below it (default 2).
	MaxScore float64 `yaml:"max_score"`
	// ForDays is how many consecutive scored days the condition must hold
	// before it fires (default 1).
	ForDays int `yaml:"for_days"`
}

// MetricConfig configures the per-metric rule.
type MetricConfig struct {
	// Enabled turns the rule on (default true).
	Enabled bool `yaml:"enabled"`
	// MaxValue fires when a metric is at or below it (default 2; 0 turns
	// this half of the rule off).
	MaxValue float64 `yaml:"max_value"`
	// MinDrop fires when a metric fell by at least this much against the
	// previous scored day (default 2).
	MinDrop float64 `yaml:"min_drop"`
	// ForDays is how many consecutive scored days the condition must hold
	// before it fires (default 1).
	ForDays int `yaml:"for_days"`
}

// EligibilityConfig configures the eligibility rule.
type EligibilityConfig struct {
	// Enabled turns the rule on (default true).
	Enabled bool `yaml:"enabled"`
	// Days is how many trailing days without a score fire the rule
	// (default 3). It also bounds how long score alerts are carried across
	// unscored days.
	Days int `yaml:"days"`
}

// DefaultConfig returns the default rules: every rule enabled, drop of 1,
// 1 below the 7-day median, floor 2, metric at or below 2 or fallen by 2,
// 3 days without a score, each firing on the first day it holds.
func DefaultConfig() Config {
	return Config{
		Drop:        DropConfig{Enabled: true, MinDrop: 1, ForDays: 1},
		Baseline:    BaselineConfig{Enabled: true, BelowMedian: 1, WindowDays: 7, ForDays: 1},
		Floor:       FloorConfig{Enabled: true, MaxScore: 2, ForDays: 1},
		Metric:      MetricConfig{Enabled: true, MaxValue: 2, MinDrop: 2, ForDays: 1},
		Eligibility: EligibilityConfig{Enabled: true, Days: 3},
	}
}

// FieldError is one invalid setting; Field is its YAML path, such as
// "rules.drop.min_drop".
type FieldError struct {
	// Field is the setting's YAML path, such as "rules.drop.min_drop".
	Field string
	// Reason says what is wrong, such as "must be > 0 and <= 4, got 0".
	Reason string
}

// Error returns "field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Limits on settings.
const (
	minScore     = 1
	maxScore     = 5
	maxDays      = 365
	minBaseline  = 3
	maxEligDays  = 90
	scoreMaxDrop = maxScore - minScore
)

// Validate checks every setting, enabled or not, and returns all problems
// joined (each a *[FieldError] naming the field's YAML path under "rules.").
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: "rules." + field, Reason: fmt.Sprintf(format, args...)})
	}
	drop := func(field string, v float64) {
		if !(v > 0 && v <= scoreMaxDrop) {
			bad(field, "must be > 0 and <= %d, got %v", scoreMaxDrop, v)
		}
	}
	forDays := func(field string, v int) {
		if v < 1 || v > maxDays {
			bad(field, "must be between 1 and %d, got %d", maxDays, v)
		}
	}
	drop("drop.min_drop", c.Drop.MinDrop)
	forDays("drop.for_days", c.Drop.ForDays)

	drop("baseline.below_median", c.Baseline.BelowMedian)
	if c.Baseline.WindowDays < minBaseline || c.Baseline.WindowDays > maxDays {
		bad("baseline.window_days", "must be between %d and %d, got %d", minBaseline, maxDays, c.Baseline.WindowDays)
	}
	forDays("baseline.for_days", c.Baseline.ForDays)

	if !(c.Floor.MaxScore >= minScore && c.Floor.MaxScore <= maxScore) {
		bad("floor.max_score", "must be between %d and %d, got %v", minScore, maxScore, c.Floor.MaxScore)
	}
	forDays("floor.for_days", c.Floor.ForDays)

	if !(c.Metric.MaxValue >= 0 && c.Metric.MaxValue <= maxScore) {
		bad("metric.max_value", "must be between 0 (off) and %d, got %v", maxScore, c.Metric.MaxValue)
	}
	drop("metric.min_drop", c.Metric.MinDrop)
	forDays("metric.for_days", c.Metric.ForDays)

	if c.Eligibility.Days < 1 || c.Eligibility.Days > maxEligDays {
		bad("eligibility.days", "must be between 1 and %d, got %d", maxEligDays, c.Eligibility.Days)
	}
	return errors.Join(errs...)
}
