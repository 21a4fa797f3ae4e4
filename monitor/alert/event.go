package alert

import (
	"time"

	"github.com/sgseq/sgseq/client"
)

// EventKind names a step in an alert's life, as the store records it.
type EventKind string

// The recorded steps of an alert's life.
const (
	// EventFired: the alert started firing (a new episode).
	EventFired EventKind = "fired"
	// EventReminded: a still-firing alert was notified again after the
	// repeat interval.
	EventReminded EventKind = "reminded"
	// EventEscalated: a still-firing alert was notified again because its
	// severity rose above the one last notified.
	EventEscalated EventKind = "escalated"
	// EventResolved: the condition no longer holds (or the account is no
	// longer monitored).
	EventResolved EventKind = "resolved"
)

// Event is one recorded step in the life of an alert: the history the
// status page shows for an account. The store records events as it saves
// alert states ([Record]), so every notifier and detector gets them.
type Event struct {
	// ID orders the events: it grows with each recorded event.
	ID int64
	// Kind is what happened.
	Kind EventKind
	// Key, Account, Rule, Metric and Severity are the alert's.
	Key      string
	Account  string
	Rule     Rule
	Metric   client.Metric
	Severity Severity
	// Date is the alert's scored day when the step was recorded (for a
	// resolution: the last day the condition was seen to hold).
	Date client.Date
	// At is when the step happened: the first firing or the delivery of a
	// reminder (the monitor's clock), or when a resolution was stored.
	At time.Time
	// Message and Advice are the alert's text at that step.
	Message string
	Advice  string
}
