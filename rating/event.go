package rating

import (
	"strings"
	"time"
)

// Kind is the type of an Event Webhook event (the "event" field).
//
// The numeric order of the kinds is also the tie-break order when two
// events of one contact carry the same timestamp: a delivery is applied
// before an open of the same second, an open before a click.
type Kind uint8

// The Event Webhook event types. KindUnknown is never produced by the
// decoders: an unknown "event" value is reported as [ErrUnknownEvent].
const (
	KindUnknown Kind = iota
	KindProcessed
	KindDeferred
	KindDelivered
	KindOpen
	KindClick
	KindBounce
	KindDropped
	KindSpamReport
	KindUnsubscribe
	KindGroupUnsubscribe
	KindGroupResubscribe
	KindAccountStatusChange
	numKinds
)

var kindNames = [numKinds]string{
	KindUnknown:             "unknown",
	KindProcessed:           "processed",
	KindDeferred:            "deferred",
	KindDelivered:           "delivered",
	KindOpen:                "open",
	KindClick:               "click",
	KindBounce:              "bounce",
	KindDropped:             "dropped",
	KindSpamReport:          "spamreport",
	KindUnsubscribe:         "unsubscribe",
	KindGroupUnsubscribe:    "group_unsubscribe",
	KindGroupResubscribe:    "group_resubscribe",
	KindAccountStatusChange: "account_status_change",
}

// String returns the Event Webhook name of k, for example "group_unsubscribe".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind maps an Event Webhook "event" value to its Kind. The match is
// case-insensitive; ok is false for anything else.
func ParseKind(s string) (k Kind, ok bool) {
	k = kindOf([]byte(s))
	return k, k != KindUnknown
}

// kindOf is ParseKind on bytes without allocating.
func kindOf(b []byte) Kind {
	switch string(b) {
	case "processed":
		return KindProcessed
	case "deferred":
		return KindDeferred
	case "delivered":
		return KindDelivered
	case "open":
		return KindOpen
	case "click":
		return KindClick
	case "bounce":
		return KindBounce
	case "dropped":
		return KindDropped
	case "spamreport":
		return KindSpamReport
	case "unsubscribe":
		return KindUnsubscribe
	case "group_unsubscribe":
		return KindGroupUnsubscribe
	case "group_resubscribe":
		return KindGroupResubscribe
	case "account_status_change":
		return KindAccountStatusChange
	}
	if hasUpper(b) {
		return kindOf([]byte(strings.ToLower(string(b))))
	}
	return KindUnknown
}

// BounceType is the "type" field of a bounce event.
type BounceType uint8

// Bounce types. A bounce event without a "type" (or with an unknown one) is
// treated as a hard bounce, the meaning of the "bounce" event itself.
const (
	BounceNone    BounceType = iota // not a bounce event, or no type given
	BounceHard                      // "type": "bounce"
	BounceBlocked                   // "type": "blocked" (a block or soft bounce)
)

// String returns "bounce", "blocked" or "".
func (t BounceType) String() string {
	switch t {
	case BounceHard:
		return "bounce"
	case BounceBlocked:
		return "blocked"
	}
	return ""
}

func bounceTypeOf(b []byte) BounceType {
	switch string(b) {
	case "bounce", "Bounce", "BOUNCE", "hard":
		return BounceHard
	case "blocked", "Blocked", "BLOCKED", "block", "soft":
		return BounceBlocked
	}
	if hasUpper(b) {
		return bounceTypeOf([]byte(strings.ToLower(string(b))))
	}
	return BounceNone
}

// Classification is the "bounce_classification" of a bounce or block, one of
// SendGrid's seven categories.
type Classification uint8

// Bounce classifications. ClassNone means the field was absent or empty; an
// unrecognised value is ClassUnclassified.
const (
	ClassNone Classification = iota
	ClassInvalidAddress
	ClassTechnical
	ClassContent
	ClassReputation
	ClassFrequency
	ClassMailboxUnavailable
	ClassUnclassified
	numClasses
)

var classNames = [numClasses]string{
	ClassNone:               "",
	ClassInvalidAddress:     "Invalid Address",
	ClassTechnical:          "Technical",
	ClassContent:            "Content",
	ClassReputation:         "Reputation",
	ClassFrequency:          "Frequency or Volume Too High",
	ClassMailboxUnavailable: "Mailbox Unavailable",
	ClassUnclassified:       "Unclassified",
}

// String returns SendGrid's spelling of c, for example "Invalid Address".
func (c Classification) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return ""
}

// SenderSide reports whether c blames the sender (content, reputation,
// volume) or the technical path between (Technical) rather than the
// recipient's mailbox. A block with a sender-side classification does not
// lower the contact's rating (it is counted in Rating.SenderBlocks); see
// the package doc.
func (c Classification) SenderSide() bool {
	switch c {
	case ClassTechnical, ClassContent, ClassReputation, ClassFrequency:
		return true
	}
	return false
}

// ParseClassification maps a bounce_classification value, case-insensitively
// and ignoring surrounding space, to a Classification. "" gives ClassNone and
// any unrecognised text ClassUnclassified.
func ParseClassification(s string) Classification {
	return classOf([]byte(s))
}

func classOf(b []byte) Classification {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	switch s {
	case "":
		return ClassNone
	case "invalid address", "invalid":
		return ClassInvalidAddress
	case "technical", "technical failure":
		return ClassTechnical
	case "content":
		return ClassContent
	case "reputation":
		return ClassReputation
	case "frequency or volume too high", "frequency", "volume too high":
		return ClassFrequency
	case "mailbox unavailable":
		return ClassMailboxUnavailable
	}
	return ClassUnclassified
}

func hasUpper(b []byte) bool {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// Event is one decoded Event Webhook event. Only the fields the model or
// "sgseq rate explain" use are kept; custom arguments and any other fields
// are ignored.
type Event struct {
	Email          string         // trimmed and lower-cased
	Timestamp      time.Time      // UTC, second precision
	Kind           Kind           // event
	EventID        string         // sg_event_id; "" when absent
	MessageID      string         // sg_message_id
	BounceType     BounceType     // type of a bounce; BounceHard when a bounce has none
	Classification Classification // bounce_classification
	MachineOpen    bool           // sg_machine_open (Apple Mail Privacy Protection)
	Categories     []string       // category, a string or an array of strings
	ASMGroupID     int64          // asm_group_id; 0 when absent
	URL            string         // url of a click
	UserAgent      string         // useragent
	IP             string         // ip
}
