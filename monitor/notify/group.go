package notify

import (
	"cmp"
	"math"
	"slices"

	"github.com/sgseq/sgseq/monitor/alert"
)

// ---- ordering and grouping ----

// fall is how far the value fell (From - To); 0 when unknown.
func fall(a alert.Alert) float64 {
	if a.From == nil || a.To == nil {
		return 0
	}
	d := *a.From - *a.To
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return 0
	}
	return d
}

// rankAlerts sorts a copy: firing before resolved, most severe first, then
// the biggest fall, then account, rule, metric and key for stability.
func rankAlerts(as []alert.Alert) []alert.Alert {
	out := slices.Clone(as)
	slices.SortStableFunc(out, func(x, y alert.Alert) int {
		xr, yr := x.State == alert.Resolved, y.State == alert.Resolved
		if xr != yr {
			if xr {
				return 1
			}
			return -1
		}
		return cmp.Or(
			cmp.Compare(y.Severity.Rank(), x.Severity.Rank()),
			cmp.Compare(fall(y), fall(x)),
			cmp.Compare(x.Account, y.Account),
			cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Metric, y.Metric),
			cmp.Compare(x.Key, y.Key),
		)
	})
	return out
}

type accountGroup struct {
	account string
	alerts  []alert.Alert
}

// worst is the group's most urgent alert (groups are built from ranked
// alerts, so it is the first).
func (g accountGroup) worst() alert.Alert { return g.alerts[0] }

// byAccount groups ranked alerts by account, accounts in order of first
// appearance (so the account with the worst alert comes first).
func byAccount(as []alert.Alert) []accountGroup {
	var out []accountGroup
	idx := map[string]int{}
	for _, a := range as {
		i, ok := idx[a.Account]
		if !ok {
			i = len(out)
			idx[a.Account] = i
			out = append(out, accountGroup{account: a.Account})
		}
		out[i].alerts = append(out[i].alerts, a)
	}
	return out
}

type sevGroup struct {
	title    string
	severity alert.Severity // "" for resolved
	resolved bool
	alerts   []alert.Alert
}

// sevGroups is the order of a digest's (and Text's) groups: critical,
// warning, info, other, resolved.
func sevGroups() []sevGroup {
	return []sevGroup{
		{title: "Critical", severity: alert.Critical},
		{title: "Warning", severity: alert.Warning},
		{title: "Info", severity: alert.Info},
		{title: "Other"},
		{title: "Resolved", resolved: true},
	}
}

func groupIndex(a alert.Alert) int {
	switch {
	case a.State == alert.Resolved:
		return 4
	case a.Severity == alert.Critical:
		return 0
	case a.Severity == alert.Warning:
		return 1
	case a.Severity == alert.Info:
		return 2
	}
	return 3
}

// groups splits alerts into critical, warning, info, other, resolved (empty
// groups left out), each ranked.
func groups(as []alert.Alert) []sevGroup {
	gs := sevGroups()
	for _, a := range rankAlerts(as) {
		i := groupIndex(a)
		gs[i].alerts = append(gs[i].alerts, a)
	}
	return slices.DeleteFunc(gs, func(g sevGroup) bool { return len(g.alerts) == 0 })
}

// accountSevGroup is a digest's severity group of accounts: each account
// sits in the group of its worst alert, with all its alerts.
type accountSevGroup struct {
	sevGroup
	accounts []accountGroup
}

// accountGroups groups the accounts of as (ranked, worst first) by their
// worst alert's group; empty groups are left out.
func accountGroups(as []alert.Alert) []accountSevGroup {
	base := sevGroups()
	gs := make([]accountSevGroup, len(base))
	for i, g := range base {
		gs[i].sevGroup = g
	}
	for _, ag := range byAccount(rankAlerts(as)) {
		i := groupIndex(ag.worst())
		gs[i].accounts = append(gs[i].accounts, ag)
		gs[i].alerts = append(gs[i].alerts, ag.alerts...)
	}
	return slices.DeleteFunc(gs, func(g accountSevGroup) bool { return len(g.accounts) == 0 })
}
