package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/events"
	"github.com/sgseq/sgseq/rating"
)

// rateEvents is "sgseq rate --events DIR": ratings of every contact in the
// event store, incremental through the store's rating checkpoint. With
// --as-of or --strict it rates every stored event from scratch (and leaves
// the checkpoint alone).
func rateEvents(cmd *cobra.Command, dir string, f *rateFlags, of rating.OutputFormat, out string, quiet bool, maxErrors int) error {
	d, err := eventsExisting(dir)
	if err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	started := time.Now()
	var res *rating.Result
	var st *events.RateStats
	if !opts.AsOf.IsZero() || opts.Strict {
		res, err = events.RateFrom(cmd.Context(), d, opts)
	} else {
		res, st, err = events.Rate(cmd.Context(), d, events.RateOptions{Workers: f.workers, Logger: cliLogger(cmd)})
	}
	if err != nil {
		return fmt.Errorf("rate --events: %w", err)
	}
	if err := rateWriteRatings(cmd, out, of, res.Ratings); err != nil {
		return err
	}
	if quiet {
		return nil
	}
	w := cmd.ErrOrStderr()
	if st == nil {
		rateWriteSummary(w, &res.Summary, time.Since(started), maxErrors)
		return nil
	}
	s := &res.Summary
	asOf := "(no events)"
	if len(res.Ratings) > 0 {
		asOf = s.AsOf.Format(time.RFC3339)
	}
	how := fmt.Sprintf("full: %s", st.Reason)
	if st.Incremental {
		how = fmt.Sprintf("incremental, %d contacts whose rating the newer as-of time changes", st.Stepped)
	}
	fmt.Fprintf(w, "rated %d contacts as of %s from the event store %s in %s (%s; %d new events read, %d contacts rated, checkpoint saved: %v)\n",
		len(res.Ratings), asOf, d, time.Since(started).Round(time.Millisecond), how, st.NewEvents, st.Rerated, st.Saved)
	fmt.Fprintf(w, "events: stored %d, rating cannot read %d\n", st.Events, st.Unrated)
	rateWriteHistograms(w, s)
	return nil
}

// rateWriteHistograms prints the stars, segments and sunset bars.
func rateWriteHistograms(w io.Writer, s *rating.Summary) {
	total := max(1, s.Contacts)
	fmt.Fprintln(w, "stars:")
	for st := 5; st >= 1; st-- {
		rateBar(w, rateStars(st), s.Stars[st], total)
	}
	fmt.Fprintln(w, "segments:")
	for _, seg := range rating.Segments {
		rateBar(w, string(seg), s.Segments[seg], total)
	}
	fmt.Fprintln(w, "sunset:")
	for _, sn := range rating.Sunsets {
		rateBar(w, string(sn), s.Sunsets[sn], total)
	}
}
