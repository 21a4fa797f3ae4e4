package client

// Metric names one of the five SEQ component metrics, spelled as in the API.
type Metric string

// The five SEQ metrics, each rated 1 (worst) to 5 (best).
const (
	MetricEngagementRecency    Metric = "engagement_recency"
	MetricOpenRate             Metric = "open_rate"
	MetricBounceClassification Metric = "bounce_classification"
	MetricBounceRate           Metric = "bounce_rate"
	MetricSpamRate             Metric = "spam_rate"
)

// AllMetrics lists the five metrics in the order SendGrid documents them.
var AllMetrics = []Metric{
	MetricEngagementRecency,
	MetricOpenRate,
	MetricBounceClassification,
	MetricBounceRate,
	MetricSpamRate,
}

// Metrics holds the five component ratings of an SEQ score, each 1–5.
type Metrics struct {
	// EngagementRecency rates how recently recipients engaged.
	EngagementRecency float64 `json:"engagement_recency"`
	// OpenRate rates the unique open rate.
	OpenRate float64 `json:"open_rate"`
	// BounceClassification rates the kinds of bounces received.
	BounceClassification float64 `json:"bounce_classification"`
	// BounceRate rates the bounce rate.
	BounceRate float64 `json:"bounce_rate"`
	// SpamRate rates the spam report rate.
	SpamRate float64 `json:"spam_rate"`
}

// Get returns the value of metric m, and false for an unknown metric.
func (m Metrics) Get(metric Metric) (float64, bool) {
	switch metric {
	case MetricEngagementRecency:
		return m.EngagementRecency, true
	case MetricOpenRate:
		return m.OpenRate, true
	case MetricBounceClassification:
		return m.BounceClassification, true
	case MetricBounceRate:
		return m.BounceRate, true
	case MetricSpamRate:
		return m.SpamRate, true
	}
	return 0, false
}

// Score is one account's SEQ result for one day.
//
// SendGrid omits score and metrics on days the account is not eligible (open
// tracking off, or fewer than 1,000 messages in the previous 30 days). Such a
// day has a nil Score and nil Metrics; use [Score.Eligible] rather than
// comparing with zero.
type Score struct {
	// UserID is the account's user id (the only field SendGrid always sends).
	UserID string `json:"user_id"`
	// Username is the account's username.
	Username string `json:"username,omitempty"`
	// Date is the UTC day the score is for.
	Date Date `json:"date"`
	// Score is the overall score, 1 (worst) to 5 (best); nil on an
	// ineligible day.
	Score *float64 `json:"score,omitempty"`
	// Metrics are the five component ratings; nil on an ineligible day.
	Metrics *Metrics `json:"metrics,omitempty"`
}

// Eligible reports whether the day carries a score.
func (s Score) Eligible() bool { return s.Score != nil }

// Value returns the overall score and whether the day was eligible.
func (s Score) Value() (float64, bool) {
	if s.Score == nil {
		return 0, false
	}
	return *s.Score, true
}

// Float returns a pointer to v, for building a [Score] literal.
func Float(v float64) *float64 { return &v }
