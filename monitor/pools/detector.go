package pools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// logKeyAsOf is the log key of the day a detection is made for.
const logKeyAsOf = "as_of"

// loadHistory reads, for each username, its stored days in the ReplayDays
// ending at asOf, in the form [NewPlan] takes, with one streaming read of
// the store. A username without stored days maps to an empty history.
func loadHistory(ctx context.Context, st history.Reader, usernames []string, asOf client.Date) (map[string][]Day, error) {
	out := make(map[string][]Day, len(usernames))
	for _, u := range usernames {
		out[u] = []Day{}
	}
	err := st.EachDay(ctx, asOf.AddDays(-(ReplayDays - 1)), asOf, func(r history.DayScore) error {
		if h, ok := out[r.Account]; ok {
			out[r.Account] = append(h, Day{Date: r.Date, Score: r.Score, Metrics: r.Metrics})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pools: history: %w", err)
	}
	return out, nil
}

// latestDate returns the newest date stored for any subuser (the parent
// account is ignored), and false when the store holds no subuser day.
func latestDate(ctx context.Context, st history.Reader) (client.Date, bool, error) {
	latest, err := st.Latest(ctx)
	if err != nil {
		return client.Date{}, false, fmt.Errorf("pools: latest stored days: %w", err)
	}
	var d client.Date
	for _, l := range latest {
		if l.Account != alert.ParentAccount && l.Date.After(d) {
			d = l.Date
		}
	}
	return d, !d.IsZero(), nil
}

// ErrNoHistory is returned by [ResolveAsOf] when the store holds no
// subuser day to plan from.
var ErrNoHistory = errors.New(`the store holds no subuser scores: run "sgseq backfill" first`)

// AsOfError is returned by [ResolveAsOf] for an as-of day after the newest
// stored subuser day: planning on a day not stored yet would read every
// subuser as ineligible.
type AsOfError struct {
	// AsOf is the day asked for; Latest the newest stored subuser day.
	AsOf, Latest client.Date
}

func (e *AsOfError) Error() string {
	return fmt.Sprintf("--as-of %s is after the newest stored day, %s: run \"sgseq check\" or \"sgseq backfill\" first, or plan as of an earlier day",
		e.AsOf, e.Latest)
}

// ResolveAsOf returns the day to plan as of: asOf itself, or the newest
// stored subuser day when asOf is zero. It returns [ErrNoHistory] when the
// store holds no subuser day, and an *[AsOfError] for an asOf after the
// newest stored day. Store errors are returned wrapped.
func ResolveAsOf(ctx context.Context, st history.Reader, asOf client.Date) (client.Date, error) {
	latest, ok, err := latestDate(ctx, st)
	switch {
	case err != nil:
		return client.Date{}, err
	case !ok:
		return client.Date{}, ErrNoHistory
	case asOf.IsZero():
		return latest, nil
	case asOf.After(latest):
		return client.Date{}, &AsOfError{AsOf: asOf, Latest: latest}
	}
	return asOf, nil
}

// PlanFromStore makes the plan as of asOf for the subusers of state and
// those with stored days, from the history in st. now fills GeneratedAt.
func PlanFromStore(ctx context.Context, cfg Config, st history.Reader, state *State, asOf client.Date, now time.Time) (*Plan, error) {
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("pools: stored accounts: %w", err)
	}
	users := map[string]bool{}
	for _, a := range accounts {
		users[a] = true
	}
	for u := range state.Subusers {
		users[u] = true
	}
	delete(users, alert.ParentAccount)
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	hist, err := loadHistory(ctx, st, names, asOf)
	if err != nil {
		return nil, err
	}
	return NewPlan(cfg, state, hist, asOf, now)
}

// Detector is the monitor's IP-pool step: at each sweep it reads the pool
// layout from the API and the history from the store, reports every
// underperforming sender as an [alert.RuleOutlier] alert and lists the
// plan's tier changes for the digest. It implements the monitor's
// Detector interface.
type Detector struct {
	client *client.Client
	cfg    Config
	logger *slog.Logger
	now    func() time.Time
}

// DetectorOption configures a [Detector].
type DetectorOption func(*Detector)

// WithLogger sets the detector's logger (default: discard).
func WithLogger(l *slog.Logger) DetectorOption {
	return func(d *Detector) {
		if l != nil {
			d.logger = l
		}
	}
}

// WithNow sets the detector's clock (default time.Now).
func WithNow(now func() time.Time) DetectorOption {
	return func(d *Detector) {
		if now != nil {
			d.now = now
		}
	}
}

// NewDetector returns a detector that reads pools through c with cfg.
func NewDetector(c *client.Client, cfg Config, opts ...DetectorOption) *Detector {
	d := &Detector{client: c, cfg: cfg, logger: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Detect returns a firing outlier alert for each underperforming sender on
// asOf and the plan's tier changes. It returns nothing when the config is
// disabled. When the API key may not read IPs (403), it logs a warning and
// returns nothing rather than failing every sweep. Other API and store
// errors are returned, wrapped.
func (d *Detector) Detect(ctx context.Context, st history.Reader, asOf client.Date) ([]alert.Alert, []alert.TierChange, error) {
	if !d.cfg.Enabled {
		return nil, nil, nil
	}
	if d.client == nil {
		return nil, nil, errors.New("pools: detector has no client")
	}
	state, err := LoadState(ctx, d.client)
	if errors.Is(err, client.ErrForbidden) {
		d.logger.WarnContext(ctx, "pools: the API key may not read IPs or pools; outlier detection and tier changes skipped",
			"err", err)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := PlanFromStore(ctx, d.cfg, st, state, asOf, d.now())
	if err != nil {
		return nil, nil, err
	}
	as := p.Alerts()
	tcs := p.TierChanges()
	d.logger.DebugContext(ctx, "pools: detected", logKeyAsOf, asOf.String(), "outliers", len(as), "tier_changes", len(tcs))
	return as, tcs, nil
}

// Alerts returns one firing [alert.RuleOutlier] alert per outlier of the
// plan, with key alert.Key(username, alert.RuleOutlier, "").
func (p *Plan) Alerts() []alert.Alert {
	out := make([]alert.Alert, 0, len(p.Outliers))
	for _, o := range p.Outliers {
		out = append(out, outlierAlert(o))
	}
	return out
}

// outlierAlert turns an outlier into a firing warning alert: From is the
// pool's median score, To the subuser's score.
func outlierAlert(o Outlier) alert.Alert {
	msg := fmt.Sprintf("underperforming sender in pool %s: score %s vs pool median %s (%d scored senders)",
		o.Pool, fmtScore(o.Score), fmtScore(o.PoolMedian), o.Members)
	advice := "Senders sharing IPs share their reputation: "
	if weak := weakest(o.Metrics, o.Score); weak != "" {
		advice += "fix this sender's weakest metrics (" + weak + ") or "
	}
	advice += "move it to a pool of senders with a similar reputation (sgseq pools plan) until its score recovers."
	return alert.Alert{
		Key:      alert.Key(o.Username, alert.RuleOutlier, ""),
		Account:  o.Username,
		Rule:     alert.RuleOutlier,
		Severity: alert.Warning,
		State:    alert.Firing,
		Date:     o.Date,
		From:     client.Float(o.PoolMedian),
		To:       client.Float(o.Score),
		Since:    o.Since,
		Message:  msg,
		Advice:   advice,
	}
}

// weakest lists the metrics of m below score or at or below 2, lowest
// first, as "spam_rate 1, open_rate 3"; "" when none.
func weakest(m *client.Metrics, score float64) string {
	if m == nil {
		return ""
	}
	return metricList(weakMetrics(*m, score))
}
