package alert

import "time"

// Record is the stored lifecycle state of one alert.
type Record struct {
	// Alert is the alert's latest evaluated content (Key, Account, Rule,
	// Metric, Severity, State, Date, From, To, Since, Message, Advice). A
	// record in State Resolved is a resolution waiting to be delivered.
	Alert
	// FirstFired is when the alert first fired in its current episode.
	FirstFired time.Time
	// LastNotified is when the alert was last delivered in its current
	// state; zero means never.
	LastNotified time.Time
	// NotifiedSeverity is the severity of the last delivered notification,
	// so that an escalation can be notified again; "" when never notified.
	NotifiedSeverity Severity
}
