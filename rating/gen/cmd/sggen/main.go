// Command sggen writes a reproducible, realistic SendGrid Event Webhook data
// set (see package github.com/sgseq/sgseq/rating/gen) for benchmarks and
// demos of "sgseq rate".
//
// Usage:
//
//	go run ./rating/gen/cmd/sggen -contacts 100000 -o bench/data/events.ndjson
//
// Flags: -contacts N (default 1000), -days N (default 180), -seed N
// (default 1), -format ndjson|webhook|csv (default from the -o extension,
// else ndjson), -dups RATE (default 0.015), -disorder RATE (default 0.02),
// -end YYYY-MM-DD (default 2026-11-01), -o FILE (default stdout; a .gz name
// is compressed). It prints what it wrote to stderr.
package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sgseq/sgseq/rating/gen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sggen:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sggen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg gen.Config
	var format, out, end string
	fs.IntVar(&cfg.Contacts, "contacts", 1000, "number of contacts")
	fs.IntVar(&cfg.Days, "days", 180, "days of history")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.StringVar(&format, "format", "", "ndjson, webhook or csv (default: from -o, else ndjson)")
	fs.Float64Var(&cfg.DupRate, "dups", 0.015, "share of events delivered more than once (negative: none)")
	fs.Float64Var(&cfg.Disorder, "disorder", 0.02, "share of events delivered out of order (negative: none)")
	fs.StringVar(&end, "end", "2026-11-01", "end of the history, YYYY-MM-DD (UTC)")
	fs.StringVar(&out, "o", "", "output file (default stdout; .gz is compressed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := time.Parse("2006-01-02", end)
	if err != nil {
		return fmt.Errorf("-end: %w", err)
	}
	cfg.End = t
	base := strings.TrimSuffix(out, ".gz")
	switch {
	case format != "":
		cfg.Format = gen.Format(format)
	case strings.HasSuffix(base, ".csv"):
		cfg.Format = gen.CSV
	case strings.HasSuffix(base, ".json"):
		cfg.Format = gen.Webhook
	}
	switch cfg.Format {
	case "", gen.NDJSON, gen.Webhook, gen.CSV:
	default:
		return fmt.Errorf("-format %q: want ndjson, webhook or csv", format)
	}
	w := stdout
	if out != "" && out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
		if strings.HasSuffix(out, ".gz") {
			zw := gzip.NewWriter(f)
			defer zw.Close()
			w = zw
		}
	}
	started := time.Now()
	st, err := gen.Write(ctx, w, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sggen: %d contacts, %d events (%d duplicates), %d bytes (%.0f B/event) in %s\n",
		cfg.Contacts, st.Events, st.Duplicates, st.Bytes, float64(st.Bytes)/float64(max(1, st.Events)), time.Since(started).Round(time.Millisecond))
	return nil
}
