// Package status assembles what "sgseq status" and the status page show:
// every stored account's latest score, its trend over the last days and
// its firing alerts ([Read]), and one account's stored daily history
// ([History]). It reads the store only (no API call).
//
// The JSON forms of [Account] and [Day] are the documented output
// contracts of "sgseq status -o json" and "sgseq history ACCOUNT -o json",
// which the status page's /api/v1 routes serve byte for byte ([WriteJSON]).
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
)

// TrendDays is the length of [Account].Trend.
const TrendDays = 7

// Source is what [Read] reads: the score history and the stored alert
// states. monitor/store's SQLite implements it.
type Source interface {
	history.Reader
	// Alerts returns every stored alert state, sorted by key.
	Alerts(ctx context.Context) ([]alert.Record, error)
}

// Account is one account in "sgseq status -o json".
//
// Its JSON field names are a documented contract; do not rename them.
type Account struct {
	// Account is the subuser's username, or alert.ParentAccount.
	Account string `json:"account"`
	// Date is the account's newest stored day.
	Date client.Date `json:"date"`
	// Score is the score of Date; nil when ineligible that day.
	Score *float64 `json:"score"`
	// Eligible is Score != nil.
	Eligible bool `json:"eligible"`
	// Trend holds the scores of the TrendDays days ending at the newest
	// day stored for any account, oldest first; nil for a day without a
	// score (ineligible or not stored).
	Trend []*float64 `json:"trend"`
	// Alerts are the account's firing alerts, sorted by key; empty, never
	// nil.
	Alerts []alert.Alert `json:"alerts"`
}

// Read returns the status of every stored account, sorted by account, in
// three bulk reads (latest days, alerts, the trend window) whatever the
// number of accounts.
func Read(ctx context.Context, src Source) ([]Account, error) {
	latest, err := src.Latest(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := src.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	end := NewestDate(latest)
	all, err := src.HistoryAll(ctx, end.AddDays(-(TrendDays - 1)), end)
	if err != nil {
		return nil, err
	}
	return Assemble(latest, recs, all, end), nil
}

// NewestDate returns the newest Date of days (zero when empty).
func NewestDate(days []history.DayScore) client.Date {
	var end client.Date
	for _, l := range days {
		if l.Date.After(end) {
			end = l.Date
		}
	}
	return end
}

// Assemble builds the rows of [Read] from what it read: the latest day of
// every account, the stored alert states, the history of at least the
// TrendDays days ending at end (more is ignored), and end, the newest day
// stored for any account.
func Assemble(latest []history.DayScore, recs []alert.Record, all map[string][]history.DayScore, end client.Date) []Account {
	firing := FiringByAccount(recs)
	start := end.AddDays(-(TrendDays - 1))
	out := make([]Account, 0, len(latest))
	for _, l := range latest {
		trend := make([]*float64, TrendDays)
		for _, h := range all[l.Account] {
			if i := h.Date.DaysSince(start); i >= 0 && i < TrendDays {
				trend[i] = h.Score
			}
		}
		as := firing[l.Account]
		if as == nil {
			as = []alert.Alert{}
		}
		out = append(out, Account{Account: l.Account, Date: l.Date, Score: l.Score, Eligible: l.Score != nil, Trend: trend, Alerts: as})
	}
	return out
}

// FiringByAccount groups the firing alerts of recs by account, keeping
// their order.
func FiringByAccount(recs []alert.Record) map[string][]alert.Alert {
	firing := map[string][]alert.Alert{}
	for _, r := range recs {
		if r.State == alert.Firing {
			firing[r.Account] = append(firing[r.Account], r.Alert)
		}
	}
	return firing
}

// Day is one day in "sgseq history ACCOUNT -o json".
//
// Its JSON field names are a documented contract; do not rename them.
type Day struct {
	// Account is the subuser's username, or alert.ParentAccount.
	Account string `json:"account"`
	// Date is the scored UTC day.
	Date client.Date `json:"date"`
	// Score is nil when the account was ineligible that day.
	Score *float64 `json:"score"`
	// Eligible is Score != nil.
	Eligible bool `json:"eligible"`
	// Metrics holds the five metrics; nil when ineligible.
	Metrics *client.Metrics `json:"metrics"`
}

// Days converts stored days of account into [Day]s.
func Days(account string, hist []history.DayScore) []Day {
	out := make([]Day, 0, len(hist))
	for _, h := range hist {
		out = append(out, Day{Account: account, Date: h.Date, Score: h.Score, Eligible: h.Score != nil, Metrics: h.Metrics})
	}
	return out
}

// ErrNoHistory is wrapped by the error of [History] for an account without
// stored days.
var ErrNoHistory = errors.New("no stored history")

// History returns the stored days of account in the last days days ending
// at its newest stored day (all of them when days < 1), ascending. An
// account without stored days gives an error wrapping [ErrNoHistory] that
// says how to name the parent when account looks like a mistyped one.
func History(ctx context.Context, r history.Reader, account string, days int) ([]history.DayScore, error) {
	all, err := r.History(ctx, account, client.Date{}, client.Date{})
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		if strings.EqualFold(strings.Trim(account, "()"), "parent") && account != alert.ParentAccount {
			return nil, fmt.Errorf("%w for %q: the parent account is %q (quote it in a shell: sgseq history '%s')", ErrNoHistory, account, alert.ParentAccount, alert.ParentAccount)
		}
		return nil, fmt.Errorf("%w for %q (see \"sgseq status\" for the accounts)", ErrNoHistory, account)
	}
	if days < 1 {
		return all, nil
	}
	from := all[len(all)-1].Date.AddDays(-(days - 1))
	i := 0
	for i < len(all) && all[i].Date.Before(from) {
		i++
	}
	return all[i:], nil
}

// WriteJSON writes v as the CLI's "-o json" does: indented by two spaces,
// HTML characters escaped, one trailing newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
