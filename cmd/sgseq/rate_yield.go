package main

import (
	"fmt"

	"github.com/sgseq/sgseq/rating"
)

// rateNothingRated returns the error of a run that rated nobody, with the
// reason, or nil when it rated someone. Nothing is written then: an empty
// ratings file would read as "no contacts" to whatever reads it next.
func rateNothingRated(s *rating.Summary) error {
	if s.Contacts > 0 {
		return nil
	}
	switch {
	case s.Read == 0:
		return fmt.Errorf("rate: no contacts rated: the input holds no events")
	case s.Skipped == s.Read:
		return fmt.Errorf("rate: no contacts rated: all %d lines were skipped as malformed%s", s.Skipped, rateFirstError(s))
	case s.AfterAsOf > 0 && s.Used == 0:
		return fmt.Errorf("rate: no contacts rated: all %d usable events are after --as-of", s.AfterAsOf)
	}
	return fmt.Errorf("rate: no contacts rated from %d events (%d skipped as malformed, %d duplicates, %d after --as-of)",
		s.Read, s.Skipped, s.Duplicates, s.AfterAsOf)
}

// rateMostlySkipped returns the exitPartial error of a run that skipped
// more than half of its lines as malformed (ratings were written), or nil.
// It is printed even with -q.
func rateMostlySkipped(s *rating.Summary) error {
	if s.Read == 0 || 2*s.Skipped <= s.Read {
		return nil
	}
	return &exitError{code: exitPartial, err: fmt.Errorf("rate: warning: %d of %d lines were skipped as malformed%s; %d contacts rated from the rest",
		s.Skipped, s.Read, rateFirstError(s), s.Contacts)}
}

// rateFirstError quotes the first malformed line, when there is one.
func rateFirstError(s *rating.Summary) string {
	if len(s.Errors) == 0 {
		return ""
	}
	return fmt.Sprintf(" (first: %v)", s.Errors[0])
}
