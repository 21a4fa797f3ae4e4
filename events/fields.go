package events

import (
	"bytes"
	"strings"

	"github.com/sgseq/sgseq/internal/jsonval"
	"github.com/sgseq/sgseq/rating"
)

// infoFromObject reads from one event object (valid JSON, as splitBatch
// and splitStream check) what rating's scanner reads from it, by the same
// rules (rating/scan.go: the last of repeated keys wins; a string is its
// unescaped contents, a number or literal its text, null, an object or an
// array absent; email trimmed and lower-cased; timestamp in seconds or
// milliseconds; event, type, bounce_classification, sg_machine_open,
// sg_event_id, sg_message_id). It is rating.Decode without a second full
// parse and without allocating an Event; FuzzInfo checks that both agree.
// ok is false for an object nested deeper than rating reads, or with an
// escaped key (then the caller asks rating.Decode).
func infoFromObject(obj []byte) (Info, bool) {
	var rf rawFields
	if _, _, err := scanObject(obj, 0, &rf); err != nil {
		return Info{}, false
	}
	return infoFromRaw(obj, &rf)
}

// infoFromRaw is infoFromObject on the raw values scanObject found in obj.
func infoFromRaw(obj []byte, rf *rawFields) (in Info, ok bool) {
	if rf.escKey || bytes.Count(obj, []byte{'{'})+bytes.Count(obj, []byte{'['}) >= 200 {
		return Info{}, false
	}
	val := func(k int) ([]byte, bool) {
		if rf.v[k] == nil {
			return nil, false
		}
		return scalar(rf.v[k])
	}
	email, hasEmail := val(rfEmail)
	kind, hasKind := val(rfEvent)
	ts, hasTS := val(rfTimestamp)
	eventID, _ := val(rfEventID)
	messageID, _ := val(rfMessageID)
	btype, _ := val(rfType)
	class, _ := val(rfClass)
	machine, _ := val(rfMachine)
	// rating's check: email, a valid timestamp and a known event.
	if !hasEmail {
		return Info{}, true
	}
	email = bytes.ToLower(bytes.TrimSpace(email))
	if len(email) == 0 || !hasTS {
		return Info{}, true
	}
	sec, good := jsonval.Timestamp(ts)
	if !good || !hasKind || len(kind) == 0 {
		return Info{}, true
	}
	k, known := rating.ParseKind(string(kind))
	if !known {
		return Info{}, true
	}
	in = Info{Valid: true, Kind: k, Time: sec, Email: email, Classification: rating.ParseClassification(string(class))}
	if k == rating.KindBounce {
		in.BounceType = bounceTypeOf(btype)
		if in.BounceType == rating.BounceNone {
			in.BounceType = rating.BounceHard
		}
	}
	if k == rating.KindOpen {
		switch string(machine) {
		case "true", "True", "TRUE", "1":
			in.MachineOpen = true
		}
	}
	if len(eventID) == 0 {
		in.MessageID = messageID
	}
	return in, true
}

// scalar is rating's reading of a value: a string's unescaped contents, a
// number's or literal's text; null, objects and arrays are absent.
func scalar(v []byte) ([]byte, bool) {
	switch v[0] {
	case '"':
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			s = unescape(s)
		}
		return s, true
	case 'n', '{', '[':
		return nil, false
	}
	return v, true
}

// bounceTypeOf is rating's reading of a bounce "type".
func bounceTypeOf(b []byte) rating.BounceType {
	switch string(b) {
	case "bounce", "Bounce", "BOUNCE", "hard":
		return rating.BounceHard
	case "blocked", "Blocked", "BLOCKED", "block", "soft":
		return rating.BounceBlocked
	}
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return bounceTypeOf([]byte(strings.ToLower(string(b))))
		}
	}
	return rating.BounceNone
}

// unescape is rating's lenient unescaping of a string's contents.
func unescape(b []byte) []byte {
	return jsonval.AppendUnescaped(make([]byte, 0, len(b)), b)
}
