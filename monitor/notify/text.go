package notify

import (
	"fmt"
	"strings"

	"github.com/sgseq/sgseq/monitor/alert"
)

// Text renders m as plain text: a summary line (and the first check's
// note), then the alerts grouped by severity (critical, warning, info,
// resolved) and by account, each with its values, message and advice, then
// the proposed IP-pool moves. Nothing is left out or truncated. An empty
// Message renders as its summary line.
func Text(m Message) string {
	var b strings.Builder
	b.WriteString(summary(m))
	b.WriteString("\n")
	if fc := firstCheckText(m); fc != "" {
		b.WriteString(strings.ToUpper(fc[:1]) + fc[1:] + "\n")
	}
	for _, g := range groups(m.Alerts) {
		fmt.Fprintf(&b, "\n%s (%d)\n", strings.ToUpper(g.title), len(g.alerts))
		for _, ag := range byAccount(g.alerts) {
			fmt.Fprintf(&b, "  %s\n", oneLine(ag.account))
			for _, a := range ag.alerts {
				if a.State == alert.Resolved {
					fmt.Fprintf(&b, "    - %s\n", oneLine(resolvedLine(a)))
					continue
				}
				fmt.Fprintf(&b, "    - %s\n", oneLine(alertLine(a)))
				if a.Message != "" {
					fmt.Fprintf(&b, "      %s\n", oneLine(a.Message))
				}
				if a.Advice != "" {
					fmt.Fprintf(&b, "      Advice: %s\n", oneLine(a.Advice))
				}
			}
		}
	}
	if len(m.TierChanges) > 0 {
		fmt.Fprintf(&b, "\nPROPOSED IP-POOL MOVES (%d)\n", len(m.TierChanges))
		for _, tc := range m.TierChanges {
			fmt.Fprintf(&b, "  - %s\n", oneLine(tierLine(tc)))
		}
	}
	return b.String()
}
