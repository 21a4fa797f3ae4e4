package rules_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/rules"
)

var day0 = client.MustParseDate("2026-11-10")

// day returns day0 + n (day(1) is the first day of a spec).
func day(n int) client.Date { return day0.AddDays(n - 1) }

// hist builds one account's history from a spec of space-separated days
// starting at day(1): "5" is a score of 5 with every metric 5, "-" an
// ineligible day, "." a missing day, "4/er=2,or=3" a score of 4 with
// engagement recency 2 and open rate 3 (bc, br, sr for the other metrics),
// "4/none" a score without metrics.
func hist(t testing.TB, spec string) []history.DayScore {
	t.Helper()
	var out []history.DayScore
	for i, tok := range strings.Fields(spec) {
		d := day(i + 1)
		switch tok {
		case ".":
			continue
		case "-":
			out = append(out, history.DayScore{Account: "acme", Date: d})
			continue
		}
		scoreText, metricText, _ := strings.Cut(tok, "/")
		v, err := strconv.ParseFloat(scoreText, 64)
		if err != nil {
			t.Fatalf("spec %q: %v", tok, err)
		}
		ds := history.DayScore{Account: "acme", Date: d, Score: client.Float(v)}
		if metricText != "none" {
			m := client.Metrics{EngagementRecency: 5, OpenRate: 5, BounceClassification: 5, BounceRate: 5, SpamRate: 5}
			for _, kv := range strings.Split(metricText, ",") {
				if kv == "" {
					continue
				}
				k, val, _ := strings.Cut(kv, "=")
				f, err := strconv.ParseFloat(val, 64)
				if err != nil {
					t.Fatalf("spec %q: %v", tok, err)
				}
				switch k {
				case "er":
					m.EngagementRecency = f
				case "or":
					m.OpenRate = f
				case "bc":
					m.BounceClassification = f
				case "br":
					m.BounceRate = f
				case "sr":
					m.SpamRate = f
				default:
					t.Fatalf("spec %q: unknown metric %q", tok, k)
				}
			}
			ds.Metrics = &m
		}
		out = append(out, ds)
	}
	return out
}

// want describes one expected alert compactly.
type want struct {
	key      string // after "acme/"
	severity alert.Severity
	from, to string // "" = nil
	since    int
	date     int
}

func ptr(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

func describe(a alert.Alert) want {
	return want{strings.TrimPrefix(a.Key, "acme/"), a.Severity, ptr(a.From), ptr(a.To), a.Since.DaysSince(day0) + 1, a.Date.DaysSince(day0) + 1}
}

func only(mod func(*rules.Config), enable ...alert.Rule) rules.Config {
	c := rules.DefaultConfig()
	on := map[alert.Rule]bool{}
	for _, r := range enable {
		on[r] = true
	}
	c.Drop.Enabled = on[alert.RuleDrop]
	c.Baseline.Enabled = on[alert.RuleBaseline]
	c.Floor.Enabled = on[alert.RuleFloor]
	c.Metric.Enabled = on[alert.RuleMetric]
	c.Eligibility.Enabled = on[alert.RuleEligibility]
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	def := rules.DefaultConfig()
	drop := only(nil, alert.RuleDrop)
	cases := []struct {
		name string
		cfg  rules.Config
		spec string
		asOf int // 0 = newest day of history
		want []want
	}{
		// drop
		{"drop of 2 is critical", drop, "5 5 3", 0, []want{{"drop", alert.Critical, "5", "3", 3, 3}}},
		{"drop of 1 is warning", drop, "5 4", 0, []want{{"drop", alert.Warning, "5", "4", 2, 2}}},
		{"fall under min_drop", drop, "5 5 5 4.5", 0, nil},
		{"float noise 4.6 to 3.6 is a drop of 1", drop, "4.6 3.6", 0, []want{{"drop", alert.Warning, "4.6", "3.6", 2, 2}}},
		{"drop to 1 is critical", drop, "2 1", 0, []want{{"drop", alert.Critical, "2", "1", 2, 2}}},
		{"ineligible day skipped for previous scored day", drop, "5 - 4", 0, []want{{"drop", alert.Warning, "5", "4", 3, 3}}},
		{"gap of missing days", drop, "5 . . 3", 0, []want{{"drop", alert.Critical, "5", "3", 4, 4}}},
		{"holds until recovery, severity follows current fall", drop, "5 3 4", 0, []want{{"drop", alert.Warning, "5", "4", 2, 3}}},
		{"recovery to pre-drop value resolves", drop, "5 3 5", 0, nil},
		{"recovery above pre-drop value resolves", drop, "4 3 4.5", 0, nil},
		{"further fall keeps the first reference", drop, "5 4 3", 0, []want{{"drop", alert.Critical, "5", "3", 2, 3}}},
		{"new drop after recovery", drop, "5 3 5 4", 0, []want{{"drop", alert.Warning, "5", "4", 4, 4}}},
		{"rise is not a drop", drop, "2 4 5", 0, nil},
		{"single day", drop, "1", 0, nil},
		{"newest day ineligible carries the drop", drop, "5 3 -", 0, []want{{"drop", alert.Critical, "5", "3", 2, 2}}},
		{"min_drop 2: a slow slide is not a drop", only(func(c *rules.Config) { c.Drop.MinDrop = 2 }, alert.RuleDrop), "5 4 3", 0, nil},
		{"min_drop 2", only(func(c *rules.Config) { c.Drop.MinDrop = 2 }, alert.RuleDrop), "5 3", 0,
			[]want{{"drop", alert.Warning, "5", "3", 2, 2}}},
		{"min_drop 2, fall of 3 critical", only(func(c *rules.Config) { c.Drop.MinDrop = 2 }, alert.RuleDrop), "5 2", 0,
			[]want{{"drop", alert.Critical, "5", "2", 2, 2}}},

		// for_days
		{"for_days 2 not yet", only(func(c *rules.Config) { c.Drop.ForDays = 2 }, alert.RuleDrop), "5 3", 0, nil},
		{"for_days 2 reached, since = first day", only(func(c *rules.Config) { c.Drop.ForDays = 2 }, alert.RuleDrop), "5 3 3", 0,
			[]want{{"drop", alert.Critical, "5", "3", 2, 3}}},
		{"for_days 2 broken by recovery", only(func(c *rules.Config) { c.Drop.ForDays = 2 }, alert.RuleDrop), "5 3 5 3", 0, nil},
		{"for_days counts scored days across ineligible ones", only(func(c *rules.Config) { c.Drop.ForDays = 2 }, alert.RuleDrop), "5 3 - 3", 0,
			[]want{{"drop", alert.Critical, "5", "3", 2, 4}}},
		{"for_days 3 floor", only(func(c *rules.Config) { c.Floor.ForDays = 3 }, alert.RuleFloor), "4 2 2 1", 0,
			[]want{{"floor", alert.Critical, "4", "1", 2, 4}}},

		// baseline
		{"baseline below 7-day median", only(nil, alert.RuleBaseline), "5 5 5 4.5 4", 0,
			[]want{{"baseline", alert.Warning, "5", "4", 5, 5}}},
		{"baseline needs 3 prior scored days", only(nil, alert.RuleBaseline), "5 5 3", 0, nil},
		{"baseline counts scored days only", only(nil, alert.RuleBaseline), "5 - 5 - 3", 0, nil},
		{"baseline 3 prior scored days across gaps", only(nil, alert.RuleBaseline), "5 - 5 . 5 3", 0,
			[]want{{"baseline", alert.Critical, "5", "3", 6, 6}}},
		{"baseline median of even window", only(nil, alert.RuleBaseline), "4 5 4 5 3.5", 0,
			[]want{{"baseline", alert.Warning, "4.5", "3.5", 5, 5}}},
		{"baseline window 7 takes the old days", only(nil, alert.RuleBaseline), "1 1 1 5 5 5 4", 0, nil},
		{"baseline window 3 forgets them", only(func(c *rules.Config) { c.Baseline.WindowDays = 3 }, alert.RuleBaseline), "1 1 1 5 5 5 4", 0,
			[]want{{"baseline", alert.Warning, "5", "4", 7, 7}}},
		{"baseline run continues while below", only(nil, alert.RuleBaseline), "5 5 5 3 3", 0,
			[]want{{"baseline", alert.Critical, "5", "3", 4, 5}}},

		// floor
		{"floor at the floor", only(nil, alert.RuleFloor), "3 2", 0, []want{{"floor", alert.Warning, "3", "2", 2, 2}}},
		{"floor at 1 critical", only(nil, alert.RuleFloor), "2 1", 0, []want{{"floor", alert.Critical, "", "1", 1, 2}}},
		{"floor first day has no from", only(nil, alert.RuleFloor), "2", 0, []want{{"floor", alert.Warning, "", "2", 1, 1}}},
		{"above the floor", only(nil, alert.RuleFloor), "2 3", 0, nil},

		// metric
		{"metric low", only(nil, alert.RuleMetric), "4/er=3 4/er=2", 0, []want{{"metric/engagement_recency", alert.Warning, "3", "2", 2, 2}}},
		{"metric fell by 3 to 2 is a critical drop", only(nil, alert.RuleMetric), "4 4/er=2", 0, []want{{"metric/engagement_recency", alert.Critical, "5", "2", 2, 2}}},
		{"metric fell by 2 is a drop", only(nil, alert.RuleMetric), "4 4/or=3", 0, []want{{"metric/open_rate", alert.Warning, "5", "3", 2, 2}}},
		{"metric fell by 3 critical", only(nil, alert.RuleMetric), "4 4/sr=2", 0, []want{{"metric/spam_rate", alert.Critical, "5", "2", 2, 2}}},
		{"metric at 1 critical", only(nil, alert.RuleMetric), "4/br=2 4/br=1", 0, []want{{"metric/bounce_rate", alert.Critical, "", "1", 1, 2}}},
		{"metric drop holds until recovery", only(nil, alert.RuleMetric), "4 4/bc=3 4/bc=4", 0,
			[]want{{"metric/bounce_classification", alert.Warning, "5", "4", 2, 3}}},
		{"metric recovered", only(nil, alert.RuleMetric), "4 4/bc=3 4/bc=5", 0, nil},
		{"one alert per metric", only(nil, alert.RuleMetric), "4 3/er=1,sr=2", 0, []want{
			{"metric/engagement_recency", alert.Critical, "5", "1", 2, 2},
			{"metric/spam_rate", alert.Critical, "5", "2", 2, 2}}},
		{"metric skips days without metrics", only(nil, alert.RuleMetric), "4/or=5 4/none 4/or=3", 0,
			[]want{{"metric/open_rate", alert.Warning, "5", "3", 3, 3}}},
		{"metric max_value off", only(func(c *rules.Config) { c.Metric.MaxValue = 0 }, alert.RuleMetric), "4/or=2 4/or=2", 0, nil},

		// eligibility
		{"eligibility after 3 unscored days", def, "5 4 - - -", 0, []want{{"eligibility", alert.Info, "4", "", 3, 5}}},
		{"eligibility not yet at 2 days, score alerts carried", def, "5 4 - -", 0, []want{{"drop", alert.Warning, "5", "4", 2, 2}}},
		{"eligibility warning after twice the days", def, "4 - - - - - -", 0, []want{{"eligibility", alert.Warning, "4", "", 2, 7}}},
		{"eligibility with missing rows and asOf", def, "4 4", 5, []want{{"eligibility", alert.Info, "4", "", 3, 5}}},
		{"never scored: no alert", def, "- - - - -", 0, nil},
		{"no history: no alert", def, "", 0, nil},
		{"eligibility disabled silences the account", only(nil, alert.RuleDrop), "5 3 - - -", 0, nil},
		{"scored again resolves eligibility", def, "4 - - - 4", 0, nil},
		{"asOf ignores later days", drop, "5 3 5", 2, []want{{"drop", alert.Critical, "5", "3", 2, 2}}},

		// all rules together
		{"drop, baseline, floor and metric together", def, "5 5 5 2/er=1", 0, []want{
			{"drop", alert.Critical, "5", "2", 4, 4},
			{"baseline", alert.Critical, "5", "2", 4, 4},
			{"floor", alert.Warning, "5", "2", 4, 4},
			{"metric/engagement_recency", alert.Critical, "5", "1", 4, 4}}},
		{"steady good account", def, "5 5 5 5 5 5 5 5", 0, nil},
		{"everything disabled", only(nil), "5 1/er=1", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var asOf client.Date
			if tc.asOf > 0 {
				asOf = day(tc.asOf)
			}
			got := rules.EvaluateAt(tc.cfg, "acme", hist(t, tc.spec), asOf)
			var desc []want
			for _, a := range got {
				desc = append(desc, describe(a))
				checkAlert(t, a)
			}
			if fmt.Sprint(desc) != fmt.Sprint(tc.want) {
				t.Errorf("alerts:\n got %+v\nwant %+v", desc, tc.want)
				for _, a := range got {
					t.Logf("  %s", a.Message)
				}
			}
		})
	}
}

// checkAlert asserts the invariants every alert from Evaluate keeps.
func checkAlert(t *testing.T, a alert.Alert) {
	t.Helper()
	if a.Key != alert.Key(a.Account, a.Rule, a.Metric) || a.Account != "acme" {
		t.Errorf("key %q for %s/%s/%s", a.Key, a.Account, a.Rule, a.Metric)
	}
	if a.State != alert.Firing || a.Reminder {
		t.Errorf("%s: state %s reminder %v", a.Key, a.State, a.Reminder)
	}
	if a.Severity.Rank() == 0 || a.Message == "" || a.Advice == "" {
		t.Errorf("%s: incomplete: %+v", a.Key, a)
	}
	if !strings.HasPrefix(a.Message, "acme: ") || strings.Contains(a.Message, "\n") {
		t.Errorf("%s: message %q is not one line about the account", a.Key, a.Message)
	}
	if a.Since.After(a.Date) {
		t.Errorf("%s: since %s after date %s", a.Key, a.Since, a.Date)
	}
	if a.Rule == alert.RuleMetric && a.Advice != rules.Advice(a.Metric) {
		t.Errorf("%s: advice is not the metric's", a.Key)
	}
}

func TestEvaluateMessagesAndAdvice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		cfg         rules.Config
		spec        string
		msg, advice string
	}{
		{"drop names the metrics that fell", only(nil, alert.RuleDrop), "5 3/er=2,or=4",
			"acme: score fell 5 → 3 on 2026-11-11 (drop of 2; engagement recency 5 → 2, unique open rate 5 → 4)",
			rules.Advice(client.MetricEngagementRecency)},
		{"drop still holding reads since", only(nil, alert.RuleDrop), "5 3 4",
			"acme: score fell 5 → 4 since 2026-11-11 (drop of 1)", rules.AdviceFor(alert.RuleDrop)},
		{"drop without metrics", only(nil, alert.RuleDrop), "5/none 3.25/none",
			"acme: score fell 5 → 3.25 on 2026-11-11 (drop of 1.75)", rules.AdviceFor(alert.RuleDrop)},
		{"baseline", only(nil, alert.RuleBaseline), "5 5 5 3/sr=3",
			"acme: score 3 is 2 below its 7-day median of 5 since 2026-11-13 (spam rate 5 → 3)", rules.Advice(client.MetricSpamRate)},
		{"floor", only(nil, alert.RuleFloor), "4 2 2/br=4",
			"acme: score 2 at or below the floor of 2 since 2026-11-11 (was 4; bounce rate 5 → 4)", rules.Advice(client.MetricBounceRate)},
		{"metric drop", only(nil, alert.RuleMetric), "4 4/or=3",
			"acme: unique open rate fell 5 → 3 on 2026-11-11 (drop of 2)", rules.Advice(client.MetricOpenRate)},
		{"metric low", only(nil, alert.RuleMetric), "4/bc=3 4/bc=2 4/bc=2",
			"acme: bounce classification 2 at or below 2 since 2026-11-11 (was 3)", rules.Advice(client.MetricBounceClassification)},
		{"eligibility", rules.DefaultConfig(), "4 - - -",
			"acme: no score for 3 days since 2026-11-11 (last score 4 on 2026-11-10); open tracking off or under 1,000 messages in 30 days?",
			rules.AdviceFor(alert.RuleEligibility)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := rules.Evaluate(tc.cfg, "acme", hist(t, tc.spec))
			if len(got) != 1 {
				t.Fatalf("got %d alerts, want 1: %+v", len(got), got)
			}
			if got[0].Message != tc.msg {
				t.Errorf("message\n got %q\nwant %q", got[0].Message, tc.msg)
			}
			if got[0].Advice != tc.advice {
				t.Errorf("advice\n got %q\nwant %q", got[0].Advice, tc.advice)
			}
		})
	}
}

func TestEvaluateRobustInput(t *testing.T) {
	t.Parallel()
	nan := 0.0
	nan /= nan
	h := hist(t, "5 5 3")
	// Unsorted input, a duplicate date (the last wins), a NaN score and a
	// zero date must not panic nor change the verdict.
	messy := []history.DayScore{h[2], h[0], {Account: "acme", Date: day(2), Score: client.Float(1)}, h[1],
		{Account: "acme", Date: day(1), Score: &nan}, {Account: "acme"}}
	messy[4].Date = day(0)
	got := rules.Evaluate(only(nil, alert.RuleDrop), "acme", messy)
	if len(got) != 1 || ptr(got[0].From) != "5" || ptr(got[0].To) != "3" {
		t.Errorf("got %+v", got)
	}
	// A zero or invalid config evaluates without panicking.
	for _, cfg := range []rules.Config{{}, {Baseline: rules.BaselineConfig{Enabled: true, BelowMedian: 1, WindowDays: 1}},
		{Drop: rules.DropConfig{Enabled: true, MinDrop: -1, ForDays: -3}}} {
		_ = rules.Evaluate(cfg, "acme", hist(t, "5 4 3 2 1 - - 5"))
	}
}

func TestAdvice(t *testing.T) {
	t.Parallel()
	for _, m := range client.AllMetrics {
		if rules.Advice(m) == "" {
			t.Errorf("no advice for %s", m)
		}
	}
	if !strings.Contains(rules.Advice(client.MetricEngagementRecency), "sunset policy") ||
		!strings.Contains(rules.Advice(client.MetricEngagementRecency), "confirmed opt-in") {
		t.Error("engagement recency advice lacks the sunset policy and confirmed opt-in")
	}
	for _, r := range []alert.Rule{alert.RuleDrop, alert.RuleBaseline, alert.RuleFloor, alert.RuleMetric, alert.RuleEligibility, alert.RuleOutlier} {
		if rules.AdviceFor(r) == "" {
			t.Errorf("no advice for rule %s", r)
		}
	}
	if !strings.Contains(rules.AdviceFor(alert.RuleEligibility), "1,000 messages") {
		t.Error("eligibility advice lacks the volume condition")
	}
	if rules.Advice("nope") != "" || rules.AdviceFor("nope") != "" {
		t.Error("advice for unknown names")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := rules.DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	cases := []struct {
		name  string
		mod   func(*rules.Config)
		field string
	}{
		{"drop min_drop zero", func(c *rules.Config) { c.Drop.MinDrop = 0 }, "rules.drop.min_drop: must be > 0"},
		{"drop for_days zero", func(c *rules.Config) { c.Drop.ForDays = 0 }, "rules.drop.for_days: must be between 1"},
		{"baseline below_median negative", func(c *rules.Config) { c.Baseline.BelowMedian = -1 }, "rules.baseline.below_median: must be > 0"},
		{"baseline window too small", func(c *rules.Config) { c.Baseline.WindowDays = 2 }, "rules.baseline.window_days: must be between 3"},
		{"baseline for_days", func(c *rules.Config) { c.Baseline.ForDays = 1000 }, "rules.baseline.for_days"},
		{"floor above 5", func(c *rules.Config) { c.Floor.MaxScore = 6 }, "rules.floor.max_score: must be between 1 and 5"},
		{"floor for_days", func(c *rules.Config) { c.Floor.ForDays = -1 }, "rules.floor.for_days"},
		{"metric max_value negative", func(c *rules.Config) { c.Metric.MaxValue = -0.5 }, "rules.metric.max_value"},
		{"metric min_drop too big", func(c *rules.Config) { c.Metric.MinDrop = 5 }, "rules.metric.min_drop: must be > 0 and <= 4"},
		{"metric for_days", func(c *rules.Config) { c.Metric.ForDays = 0 }, "rules.metric.for_days"},
		{"eligibility days", func(c *rules.Config) { c.Eligibility.Days = 0 }, "rules.eligibility.days: must be between 1 and 90"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := rules.DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.field)
			}
			var fe *rules.FieldError
			if !errorsAs(err, &fe) || !strings.HasPrefix(tc.field, fe.Field) {
				t.Errorf("error is not a *FieldError for %s: %#v", tc.field, err)
			}
		})
	}
	// Several problems are all reported, and a disabled rule is still checked.
	c := rules.DefaultConfig()
	c.Drop.Enabled, c.Drop.MinDrop, c.Eligibility.Days = false, 0, 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "rules.drop.min_drop") ||
		!strings.Contains(err.Error(), "rules.eligibility.days") {
		t.Errorf("Validate() = %v, want both fields", err)
	}
	// NaN is refused.
	c = rules.DefaultConfig()
	c.Floor.MaxScore = c.Floor.MaxScore * 0 / 0
	if err := c.Validate(); err == nil {
		t.Error("NaN floor accepted")
	}
}
