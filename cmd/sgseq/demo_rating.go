package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sgseq/sgseq/rating"
	"github.com/sgseq/sgseq/rating/gen"
)

// rateDemoContacts is the size of the demo's generated event file.
const (
	rateDemoContacts = 2000
	rateDemoDays     = 400
)

// demoRating generates a small Event Webhook file, rates it, prints the
// summary and explains a few contacts.
func demoRating(ctx context.Context, env *demoEnv) error {
	w := env.Out
	path := filepath.Join(env.Dir, "events.ndjson")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	end := env.Now.UTC().Truncate(24 * time.Hour)
	st, err := gen.Write(ctx, f, gen.Config{Seed: 1, Contacts: rateDemoContacts, Days: rateDemoDays, End: end})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("generate events: %w", err)
	}
	fmt.Fprintf(w, "$ go run ./rating/gen/cmd/sggen -contacts %d -days %d -o events.ndjson\n", rateDemoContacts, rateDemoDays)
	fmt.Fprintf(w, "  %d events (%d webhook retries), %s, %d days, daily/weekly/monthly lists\n\n", st.Events, st.Duplicates, rateBytes(st.Bytes), rateDemoDays)

	fmt.Fprintln(w, "$ sgseq rate events.ndjson --out ratings.csv")
	started := time.Now()
	e := rating.New(rating.Options{})
	if err := e.ReadFile(ctx, path); err != nil {
		return err
	}
	res, err := e.Rate(ctx)
	if err != nil {
		return err
	}
	took := time.Since(started)
	out := filepath.Join(env.Dir, "ratings.csv")
	if err := rateWriteFile(out, func(fw io.Writer) error { return rating.WriteRatings(fw, rating.OutputCSV, res.Ratings) }); err != nil {
		return err
	}
	rateWriteSummary(w, &res.Summary, took, 5)

	// One example per segment, then the explain output of a few.
	fmt.Fprintln(w, "\n$ head ratings.csv   # one contact per segment")
	fmt.Fprintln(w, strings.Join(rating.Columns, ","))
	picked := map[rating.Segment]rating.Rating{}
	for _, r := range res.Ratings {
		if _, ok := picked[r.Segment]; !ok {
			picked[r.Segment] = r
		}
	}
	for _, seg := range rating.Segments {
		if r, ok := picked[seg]; ok {
			fmt.Fprint(w, string(rating.AppendCSV(nil, &r)))
		}
	}
	// Explain the shortest history of a few segments, leaving out the
	// events that cannot move a score.
	short := map[rating.Segment]rating.Rating{}
	for _, r := range res.Ratings {
		if cur, ok := short[r.Segment]; !ok || (r.Sends >= 3 && (cur.Sends < 3 || r.Sends < cur.Sends)) {
			short[r.Segment] = r
		}
	}
	for _, seg := range []rating.Segment{rating.SegmentEngaged, rating.SegmentSuppress, rating.SegmentAtRisk} {
		r, ok := short[seg]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\n$ sgseq rate explain %s events.ndjson   # %s (processed/deferred/dropped lines left out here)\n", r.Email, seg)
		ex := rating.New(rating.Options{Contact: r.Email})
		if err := ex.ReadFile(ctx, path); err != nil {
			return err
		}
		rr, steps, _ := ex.Explain(r.Email)
		var shown []rating.Step
		for _, s := range steps {
			switch s.Kind {
			case rating.KindProcessed, rating.KindDeferred, rating.KindDropped:
				continue
			}
			shown = append(shown, s)
		}
		if len(shown) > 16 {
			head, tail := shown[:6], shown[len(shown)-10:]
			rateWriteExplain(w, rr, head)
			fmt.Fprintf(w, "  ... %d more ...\n", len(shown)-len(head)-len(tail))
			rateWriteExplainSteps(w, tail)
			continue
		}
		rateWriteExplain(w, rr, shown)
	}
	return nil
}
