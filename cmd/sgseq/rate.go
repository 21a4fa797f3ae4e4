package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sgseq/sgseq/internal/atomicfile"
	"github.com/sgseq/sgseq/rating"
)

// rateFlags are the flags shared by "rate" and "rate explain".
type rateFlags struct {
	asOf          string
	strict        bool
	workers       int
	maxRecordSize string
}

func (f *rateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.asOf, "as-of", "", "rate as of this time (RFC 3339, YYYY-MM-DD or Unix seconds or milliseconds); later events are ignored (default: the newest event)")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "stop at the first malformed line instead of skipping it")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "parsing goroutines (default: GOMAXPROCS)")
	cmd.Flags().StringVar(&f.maxRecordSize, "max-record-size", "16MiB", "skip a line, JSON object or CSV record longer than this (bytes, or with k, KiB, M, MiB, G, GiB...); memory stays bounded whatever the input")
}

func (f *rateFlags) options() (rating.Options, error) {
	opts := rating.Options{Strict: f.strict, Workers: f.workers}
	n, err := rateParseSize(f.maxRecordSize)
	if err != nil {
		return opts, fmt.Errorf("--max-record-size: %w", err)
	}
	opts.MaxRecordSize = n
	if f.asOf != "" {
		t, err := rateParseTime(f.asOf)
		if err != nil {
			return opts, fmt.Errorf("--as-of: %w", err)
		}
		opts.AsOf = t
	}
	return opts, nil
}

// rateParseTime accepts RFC 3339, YYYY-MM-DD (end of that day, UTC) or
// Unix seconds; like event timestamps (rating.UnixSeconds), a number of
// 1e11 or more is taken as milliseconds.
func rateParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(rating.UnixSeconds(n), 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339, YYYY-MM-DD or Unix seconds", s)
}

// rateParseSize parses a byte size: a whole number, optionally followed by
// k/K/KB/KiB, M/MB/MiB or G/GB/GiB (all powers of 1024).
func rateParseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (for example 16MiB, 512k, 1048576)", s)
	}
	shift, ok := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20, "g": 30, "gb": 30, "gib": 30}[unit]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (want k, KiB, M, MiB, G or GiB)", s, strings.TrimSpace(t[i:]))
	}
	if n > (1<<40)>>shift {
		return 0, fmt.Errorf("%q is too large (at most 1 TiB)", s)
	}
	return int(n << shift), nil
}

func newRateCmd() *cobra.Command {
	var f rateFlags
	var format, out string
	var quiet bool
	var maxErrors int
	var eventsFrom string
	cmd := &cobra.Command{
		Use:   "rate [flags] FILE... | rate --events DIR",
		Short: "Rate contacts (-5..10, 1-5 stars) from Event Webhook data",
		Long: `Rate reads SendGrid Event Webhook data (JSON arrays as posted, NDJSON or CSV
with a header; .gz by extension; - for stdin) and writes one rating per
contact: email, score, stars, segment, last_engaged, sends, human_opens,
machine_opens, clicks, bounces, complaints, unsubscribes, sunset,
sender_blocks.

A summary (events read/used/duplicates/skipped, blocks by classification,
contacts by stars, segment and sunset recommendation) goes to stderr.
Malformed lines, and records over --max-record-size, are skipped and listed
with file:line; an input that breaks off (a truncated .gz) keeps the events
before the break and says where it stopped; --strict stops at the first
problem (exit status 2). An input that yields no event is an error (exit
status 2); when more than half of the lines were skipped the ratings are
written, a warning is printed even with -q, and the exit status is 3.`,
		Example: `  sgseq rate events.ndjson > ratings.csv
  sgseq rate -o json --out ratings.json webhook-*.json.gz
  sgseq rate --as-of 2026-10-01 events.csv
  sgseq rate explain alice@example.com events.ndjson`,
		Args: func(cmd *cobra.Command, args []string) error {
			if eventsFrom != "" && len(args) > 0 {
				return fmt.Errorf("rate: --events and FILE arguments exclude each other")
			}
			if eventsFrom != "" {
				return nil
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			of, err := rating.ParseOutputFormat(format)
			if err != nil {
				return cliFormatError(format, "csv, json or ndjson")
			}
			if err := cliCheckOutPath("out", out); err != nil {
				return err
			}
			if eventsFrom != "" {
				return rateEvents(cmd, eventsFrom, &f, of, out, quiet, maxErrors)
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			bar := rateNewProgress(stderr, args)
			if bar != nil {
				opts.Progress = bar.update
			}
			started := time.Now()
			e := rating.New(opts)
			if err := rateReadAll(cmd, e, "rate", args); err != nil {
				bar.done()
				return err
			}
			res, err := e.Rate(cmd.Context())
			bar.done()
			if err != nil {
				return fmt.Errorf("rate: %w", err)
			}
			if err := rateNothingRated(&res.Summary); err != nil {
				if !quiet {
					rateWriteSummary(stderr, &res.Summary, time.Since(started), maxErrors)
				}
				return err
			}
			if err := rateWriteRatings(cmd, out, of, res.Ratings); err != nil {
				return err
			}
			if !quiet {
				rateWriteSummary(stderr, &res.Summary, time.Since(started), maxErrors)
			}
			return rateMostlySkipped(&res.Summary)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "csv", "output format: csv, json or ndjson")
	cmd.Flags().StringVar(&out, "out", "", "write ratings to this file (default stdout)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no summary on stderr")
	cmd.Flags().IntVar(&maxErrors, "max-errors", 20, "malformed lines to list in the summary (all are counted)")
	cmd.Flags().StringVar(&eventsFrom, "events", "", "rate every contact of the event store in DIR (sgseq events), incrementally; see docs/events.md")
	cmd.AddCommand(newRateExplainCmd())
	return cmd
}

func newRateExplainCmd() *cobra.Command {
	var f rateFlags
	var format string
	cmd := &cobra.Command{
		Use:   "explain EMAIL FILE...",
		Short: "Show one contact's events in time order and how each moved the score",
		Long: `Show one contact's events in time order and how each moved the score.

-o json prints {"email","rating","steps"}: rating as one object of
"sgseq rate -o json" (null when every event is after --as-of), steps
[{"time","event","bounce_type","bounce_classification","machine_open",
"before","after","note","ignored"}].`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != outputJSON {
				return cliFormatError(format, "text or json")
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			opts.Contact = args[0]
			e := rating.New(opts)
			if err := rateReadAll(cmd, e, "rate explain", args[1:]); err != nil {
				return err
			}
			r, steps, err := e.Explain(args[0])
			switch {
			case errors.Is(err, rating.ErrUnknownContact):
				return fmt.Errorf("rate explain: no events for %q", args[0])
			case errors.Is(err, rating.ErrNoEventsAsOf):
				// As `sgseq rate` would: no rating. Show what was ignored.
				asOf := "--as-of"
				if !opts.AsOf.IsZero() {
					asOf = opts.AsOf.UTC().Format(time.RFC3339)
				}
				w := cmd.OutOrStdout()
				if format == outputJSON {
					if err := rateWriteExplainJSON(w, args[0], nil, steps); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(w, "%s: no rating: no events at or before %s; %d later events, all ignored:\n",
						strings.ToLower(strings.TrimSpace(args[0])), asOf, len(steps))
					rateWriteExplainSteps(w, steps)
				}
				return fmt.Errorf("rate explain: no events for %q at or before %s", args[0], asOf)
			case err != nil:
				return fmt.Errorf("rate explain: %w", err)
			}
			if format == outputJSON {
				return rateWriteExplainJSON(cmd.OutOrStdout(), args[0], &r, steps)
			}
			rateWriteExplain(cmd.OutOrStdout(), r, steps)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	return cmd
}

// rateReadAll reads every input into e. A malformed line in --strict mode
// is reported as file:line; other errors (a missing file, an I/O error)
// name the input.
func rateReadAll(cmd *cobra.Command, e *rating.Engine, what string, paths []string) error {
	for _, path := range paths {
		if err := e.ReadFile(cmd.Context(), path); err != nil {
			var pe *rating.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("%s: %w", what, err)
			}
			return fmt.Errorf("%s %s: %w", what, path, err)
		}
	}
	return nil
}

// rateWriteRatings writes the ratings in format of to the --out file
// (rateWriteFile) or, with none or "-", to stdout.
func rateWriteRatings(cmd *cobra.Command, out string, of rating.OutputFormat, rs []rating.Rating) error {
	var err error
	if out != "" && out != "-" {
		err = rateWriteFile(out, func(w io.Writer) error { return rating.WriteRatings(w, of, rs) })
	} else {
		err = rating.WriteRatings(cmd.OutOrStdout(), of, rs)
	}
	if err != nil {
		return fmt.Errorf("rate: write output: %w", err)
	}
	return nil
}

// rateWriteFile writes the --out file with [atomicfile.Write]: a regular
// file is replaced atomically (synced before the rename), a device or pipe
// is written in place.
func rateWriteFile(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}

// rateWriteExplain prints a contact's rating and its steps.
func rateWriteExplain(w io.Writer, r rating.Rating, steps []rating.Step) {
	last := "never"
	if !r.LastEngaged.IsZero() {
		last = r.LastEngaged.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "%s: score %d (%s, %s), sunset %s, last engaged %s\n", r.Email, r.Score,
		rateStars(r.Stars), r.Segment, r.Sunset, last)
	fmt.Fprintf(w, "  sends %d, human opens %d, machine opens %d, clicks %d, bounces %d, complaints %d, unsubscribes %d, sender blocks %d\n",
		r.Sends, r.HumanOpens, r.MachineOpens, r.Clicks, r.Bounces, r.Complaints, r.Unsubscribes, r.SenderBlocks)
	rateWriteExplainSteps(w, steps)
}

// rateWriteExplainSteps prints one line per step: time, event, score
// before and after, and what the event did.
func rateWriteExplainSteps(w io.Writer, steps []rating.Step) {
	for _, s := range steps {
		ev := s.Kind.String()
		switch {
		case s.Kind == rating.KindBounce && s.Classification != rating.ClassNone:
			ev += " (" + s.BounceType.String() + ", " + s.Classification.String() + ")"
		case s.Kind == rating.KindBounce:
			ev += " (" + s.BounceType.String() + ")"
		case s.Kind == rating.KindOpen && s.MachineOpen:
			ev += " (machine)"
		case s.Kind == rating.KindGroupUnsubscribe || s.Kind == rating.KindGroupResubscribe:
			ev += fmt.Sprintf(" (group %d)", s.Group)
		case s.Kind == rating.KindUnknown:
			ev = "(as of)"
		}
		fmt.Fprintf(w, "  %s  %-40s %6.2f → %6.2f  %s\n", s.Time.Format(time.RFC3339), ev, s.Before, s.After, s.Note)
	}
}

func rateStars(n int) string {
	return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
}

// rateWriteSummary prints the counts and histograms.
func rateWriteSummary(w io.Writer, s *rating.Summary, took time.Duration, maxErrors int) {
	for i, pe := range s.Errors {
		if i >= maxErrors {
			break
		}
		fmt.Fprintf(w, "skipped %v\n", pe)
	}
	if s.Skipped > int64(min(len(s.Errors), maxErrors)) {
		fmt.Fprintf(w, "skipped lines not listed: %d\n", s.Skipped-int64(min(len(s.Errors), maxErrors)))
	}
	secs := took.Seconds()
	asOf := "(no events)"
	if !s.AsOf.IsZero() && s.AsOf.Unix() != 0 { // no events and no --as-of: Unix time 0
		asOf = s.AsOf.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "rated %d contacts as of %s from %d events (%s in %d inputs) in %s: %.0f MB/s, %.0f events/s\n",
		s.Contacts, asOf, s.Read, rateBytes(s.Bytes), s.Inputs, took.Round(time.Millisecond),
		float64(s.Bytes)/1e6/secs, float64(s.Read)/secs)
	fmt.Fprintf(w, "events: read %d, used %d, duplicates %d, after as-of %d, skipped %d", s.Read, s.Used, s.Duplicates, s.AfterAsOf, s.Skipped)
	if len(s.SkippedBy) > 0 {
		var parts []string
		for _, k := range rateSortedKeys(s.SkippedBy) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.SkippedBy[k]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if s.Blocks > 0 {
		var parts []string
		for _, k := range rateSortedKeys(s.BlocksBy) {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.BlocksBy[k]))
		}
		fmt.Fprintf(w, "blocks: %d (%s); %d of them the sender's side (Reputation, Content, Frequency or Volume Too High, Technical): not held against contacts, but counted against the sender by SEQ's bounce classification\n",
			s.Blocks, strings.Join(parts, ", "), s.SenderBlocks)
	}
	rateWriteHistograms(w, s)
}

func rateBar(w io.Writer, label string, n, total int) {
	const width = 40
	frac := float64(n) / float64(total)
	full := int(frac*width + 0.5)
	if n > 0 && full == 0 {
		full = 1
	}
	fmt.Fprintf(w, "  %-15s %-40s %9d %5.1f%%\n", label, strings.Repeat("█", full), n, 100*frac)
}

func rateSortedKeys(m map[string]int64) []string {
	return slices.Sorted(maps.Keys(m))
}

func rateBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// rateProgress draws a progress bar on a terminal stderr.
type rateProgress struct {
	mu    sync.Mutex
	w     io.Writer
	sizes map[string]int64
	total int64
	prev  int64 // bytes of finished inputs
	cur   string
	last  time.Time
	shown bool
}

// rateNewProgress returns a progress bar if stderr is a terminal and the
// inputs are regular files, else nil (all methods accept a nil receiver).
func rateNewProgress(stderr io.Writer, paths []string) *rateProgress {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	p := &rateProgress{w: stderr, sizes: map[string]int64{}}
	for _, path := range paths {
		if path == "-" {
			continue
		}
		if fi, err := os.Stat(path); err == nil {
			p.sizes[path] = fi.Size()
			p.total += fi.Size()
		}
	}
	if p.total < 64<<20 {
		return nil // small inputs finish before a bar helps
	}
	return p
}

func (p *rateProgress) update(name string, done int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if name != p.cur {
		if p.cur != "" {
			p.prev += p.sizes[p.cur]
		}
		p.cur = name
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	frac := min(1, float64(p.prev+done)/float64(max(1, p.total)))
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r  reading [%s%s] %3.0f%% %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, rateBytes(p.prev+done))
	p.shown = true
}

func (p *rateProgress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
