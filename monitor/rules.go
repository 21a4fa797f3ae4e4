package monitor

import "github.com/sgseq/sgseq/monitor/rules"

// RulesConfig is the "rules" section: the detection rules and their
// thresholds (see package rules).
type RulesConfig = rules.Config

func defaultRules() RulesConfig { return rules.DefaultConfig() }

func validateRules(c RulesConfig) error { return c.Validate() }
