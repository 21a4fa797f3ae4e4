package rating

import (
	"cmp"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Options configure an [Engine]. The zero value is usable.
type Options struct {
	// AsOf is the time ratings are computed at: later events are ignored
	// and contacts with no event at or before it are not rated. Zero means
	// the newest event read.
	AsOf time.Time
	// Strict makes the first malformed line an error instead of a skip.
	Strict bool
	// Workers is the number of parsing goroutines; 0 means GOMAXPROCS.
	Workers int
	// MaxErrors is how many *ParseError values Summary.Errors keeps
	// (every one is counted); 0 means 100.
	MaxErrors int
	// Contact, if set, keeps only the events of this email address (used
	// by explain); it is trimmed and lower-cased.
	Contact string
	// BlockSize is the read size for line input; 0 means 4 MiB.
	BlockSize int
	// MaxRecordSize caps one record: a line of line-oriented JSON, an
	// object of JSON that spans lines, a CSV record. A longer one is
	// skipped (reason ErrRecordTooLarge, with its file and line) without
	// being held in memory, so memory stays bounded whatever the input.
	// 0 means DefaultMaxRecordSize.
	MaxRecordSize int
	// Progress, if set, is called after each block with the bytes of the
	// current input consumed so far (compressed bytes for .gz).
	Progress func(name string, done int64)
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// DefaultMaxRecordSize is the default Options.MaxRecordSize: 16 MiB, far
// above any Event Webhook POST body.
const DefaultMaxRecordSize = 16 << 20

// Summary counts what an [Engine] read and rated.
type Summary struct {
	Inputs     int              `json:"inputs"`      // inputs read
	Bytes      int64            `json:"bytes"`       // input bytes read (decompressed)
	Read       int64            `json:"read"`        // event objects / CSV rows seen
	Used       int64            `json:"used"`        // events the model applied
	Duplicates int64            `json:"duplicates"`  // repeated sg_event_id (or fingerprint), ignored
	AfterAsOf  int64            `json:"after_as_of"` // events after the as-of time, ignored
	Filtered   int64            `json:"filtered"`    // events of other contacts when Options.Contact is set
	Skipped    int64            `json:"skipped"`     // malformed, not used
	SkippedBy  map[string]int64 `json:"skipped_by"`  // reason → count
	Contacts   int              `json:"contacts"`    // contacts rated
	// Blocks counts the blocks (bounces of type "blocked") used, by
	// bounce_classification ("no classification" when none was given);
	// SenderBlocks those of them the sender caused (Reputation, Content,
	// Frequency or Volume Too High, Technical): they do not lower any
	// contact's rating, but they are what SEQ's bounce-classification
	// metric holds against the sender.
	Blocks       int64            `json:"blocks"`
	BlocksBy     map[string]int64 `json:"blocks_by"`
	SenderBlocks int64            `json:"sender_blocks"`
	Stars        [6]int           `json:"stars"`    // index 1..5
	Segments     map[Segment]int  `json:"segments"` // contacts by segment
	Sunsets      map[Sunset]int   `json:"sunsets"`  // contacts by sunset recommendation
	AsOf         time.Time        `json:"as_of"`    // the time the ratings are as of
	Errors       []*ParseError    `json:"-"`        // the first MaxErrors, in file and line order
}

// Result is the output of [Engine.Rate]: one Rating per contact, sorted by
// email, and the summary.
type Result struct {
	Ratings []Rating // one per contact, sorted by email
	Summary Summary  // counts of events and contacts
}

// Engine reads Event Webhook data and rates contacts. Feed it with
// [Engine.ReadFile], [Engine.Read] or [Engine.Add], then call
// [Engine.Rate] once. An Engine is not safe for concurrent use; it uses
// Options.Workers goroutines internally.
type Engine struct {
	opts    Options
	log     *slog.Logger
	only    string
	workers []*worker
	inputs  int
	bytes   int64
	rated   bool
	stdin   io.Reader
	open    func(string) (io.ReadCloser, error)
}

// Errors of [Engine] methods; test with errors.Is.
var (
	// ErrRated is returned by [Engine.Read], [Engine.ReadFile],
	// [Engine.Rate] and [Engine.Explain] after Rate, which consumes the
	// stored events.
	ErrRated = errors.New("rating: engine already rated (Rate consumes the events; read and explain before it)")
	// ErrUnknownContact is returned by [Engine.Explain] when no event of
	// the contact was read.
	ErrUnknownContact = errors.New("rating: no events for this contact")
	// ErrNoEventsAsOf is returned by [Engine.Explain] when every event of
	// the contact is after the as-of time, so it has no rating.
	ErrNoEventsAsOf = errors.New("rating: no events of this contact at or before the as-of time")
)

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	if opts.BlockSize <= 0 {
		opts.BlockSize = 4 << 20
	}
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = DefaultMaxRecordSize
	}
	e := &Engine{opts: opts, log: opts.Logger, stdin: os.Stdin,
		open: func(p string) (io.ReadCloser, error) { return os.Open(p) }}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if opts.Contact != "" {
		e.only = strings.ToLower(strings.TrimSpace(opts.Contact))
	}
	arenas := make([]*recordArena, opts.Workers)
	for i := range opts.Workers {
		arenas[i] = new(recordArena)
		e.workers = append(e.workers, &worker{e: e, skipped: map[string]int64{}, arena: arenas[i]})
	}
	// Record memory lives outside the Go heap: give it back when Rate is
	// never called.
	runtime.AddCleanup(e, func(as []*recordArena) {
		for _, a := range as {
			a.release()
		}
	}, arenas)
	return e
}

func (e *Engine) baseSummary() Summary {
	sum := Summary{Inputs: e.inputs, Bytes: e.bytes, SkippedBy: map[string]int64{}, BlocksBy: map[string]int64{},
		Segments: map[Segment]int{}, Sunsets: map[Sunset]int{}}
	for _, w := range e.workers {
		sum.Read += w.read
		sum.Filtered += w.other
		for k, v := range w.skipped {
			sum.SkippedBy[k] += v
			sum.Skipped += v
		}
		sum.Errors = append(sum.Errors, w.errs...)
	}
	slices.SortStableFunc(sum.Errors, func(a, b *ParseError) int {
		if c := cmp.Compare(a.File, b.File); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	if len(sum.Errors) > e.opts.MaxErrors {
		sum.Errors = sum.Errors[:e.opts.MaxErrors]
	}
	return sum
}

func (e *Engine) asOf() uint32 {
	if !e.opts.AsOf.IsZero() {
		u := e.opts.AsOf.Unix()
		return uint32(max(0, min(u, maxUnixSeconds)))
	}
	var m uint32
	for _, w := range e.workers {
		m = max(m, w.maxTS)
	}
	return m
}
