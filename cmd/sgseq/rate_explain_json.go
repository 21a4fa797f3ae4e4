package main

import (
	"io"
	"strings"
	"time"

	"github.com/sgseq/sgseq/rating"
)

// rateExplainJSON is the output of "sgseq rate explain -o json".
type rateExplainJSON struct {
	Email string `json:"email"`
	// Rating is the contact's rating, as one object of "sgseq rate -o
	// json"; null when no event is at or before --as-of.
	Rating *rating.Rating `json:"rating"`
	// Steps are the contact's events in time order.
	Steps []rateStepJSON `json:"steps"`
}

// rateStepJSON is one event and how it moved the score.
type rateStepJSON struct {
	Time           time.Time `json:"time"`
	Event          string    `json:"event"`
	BounceType     string    `json:"bounce_type,omitempty"`
	Classification string    `json:"bounce_classification,omitempty"`
	MachineOpen    bool      `json:"machine_open,omitempty"`
	Before         float64   `json:"before"`
	After          float64   `json:"after"`
	Note           string    `json:"note"`
	Ignored        bool      `json:"ignored,omitempty"`
}

// rateWriteExplainJSON writes the explain document of email; r is nil
// when the contact has no rating.
func rateWriteExplainJSON(w io.Writer, email string, r *rating.Rating, steps []rating.Step) error {
	doc := rateExplainJSON{Email: strings.ToLower(strings.TrimSpace(email)), Rating: r, Steps: make([]rateStepJSON, 0, len(steps))}
	if r != nil {
		doc.Email = r.Email
	}
	for _, s := range steps {
		j := rateStepJSON{Time: s.Time.UTC(), Event: s.Kind.String(), MachineOpen: s.MachineOpen,
			Before: s.Before, After: s.After, Note: s.Note, Ignored: s.Ignored}
		if s.Kind == rating.KindBounce {
			j.BounceType = s.BounceType.String()
			if s.Classification != rating.ClassNone {
				j.Classification = s.Classification.String()
			}
		}
		doc.Steps = append(doc.Steps, j)
	}
	return writeJSON(w, doc)
}
