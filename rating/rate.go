package rating

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate merges what was read, rates every contact and returns the ratings
// sorted by email with the summary. It consumes the stored events: call it
// once.
func (e *Engine) Rate(ctx context.Context) (*Result, error) {
	if e.rated {
		return nil, ErrRated
	}
	e.rated = true
	sum := e.baseSummary()
	asOf := e.asOf()
	sum.AsOf = time.Unix(int64(asOf), 0).UTC()

	// The workers' contact tables are not needed any more. With a large
	// data set, collect them (and the reading garbage) now, before the
	// ratings are allocated, to keep the peak down.
	records := 0
	for _, w := range e.workers {
		w.tab = internTable{}
		for p := range w.parts {
			records += w.parts[p].len()
		}
	}
	if records > 1<<22 {
		runtime.GC()
	}
	// Phase 1: merge each partition's contacts across workers.
	merged := make([]mergedPart, numParts)
	e.parallel(ctx, func(p int, _ *[]record) { merged[p] = e.merge(p, true) })
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Phase 2: rate each partition into its place in one slice and sort it
	// by email. Partitions are in email order, so the whole slice is.
	offsets := make([]int, numParts+1)
	for p, m := range merged {
		offsets[p+1] = offsets[p] + len(m.emails)
	}
	all := make([]Rating, offsets[numParts])
	dups := make([]int64, numParts)
	after := make([]int64, numParts)
	used := make([]int64, numParts)
	kept := make([]int, numParts)
	blocks := make([][numClasses]int64, numParts)
	e.parallel(ctx, func(p int, buf *[]record) {
		kept[p], dups[p], after[p], used[p] = e.ratePart(p, &merged[p], all[offsets[p]:offsets[p+1]], asOf, buf, &blocks[p])
		merged[p] = mergedPart{}
	})
	for _, w := range e.workers {
		for p := range w.parts {
			w.parts[p] = part{}
		}
		w.arena.release()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for p := range numParts {
		sum.Duplicates += dups[p]
		for c, n := range blocks[p] {
			if n == 0 {
				continue
			}
			sum.Blocks += n
			sum.BlocksBy[classOrNone(Classification(c))] += n
			if Classification(c).SenderSide() {
				sum.SenderBlocks += n
			}
		}
		sum.AfterAsOf += after[p]
		sum.Used += used[p]
	}
	// Used is counted from the records the model replayed, not derived
	// from the other counts, so Read = Used + Duplicates + AfterAsOf +
	// Skipped + Filtered checks that no event was lost on the way.
	if lost := sum.Read - sum.Used - sum.Duplicates - sum.AfterAsOf - sum.Skipped - sum.Filtered; lost != 0 {
		e.log.Error("rating: event counts do not add up", "read", sum.Read, "used", sum.Used, "lost", lost)
	}
	// Drop the gaps left by contacts with no event at or before the as-of
	// time (they did not exist yet).
	n := 0
	for p := range numParts {
		n += copy(all[n:], all[offsets[p]:offsets[p]+kept[p]])
	}
	clear(all[n:])
	all = all[:n:n]
	sum.Contacts = len(all)
	for i := range all {
		r := &all[i]
		sum.Stars[r.Stars]++
		sum.Segments[r.Segment]++
		sum.Sunsets[r.Sunset]++
	}
	return &Result{Ratings: all, Summary: sum}, nil
}

// parallel runs fn for every partition on Options.Workers goroutines; each
// goroutine has its own reusable record buffer.
func (e *Engine) parallel(ctx context.Context, fn func(p int, buf *[]record)) {
	var next atomic.Int32
	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []record
			for {
				p := int(next.Add(1) - 1)
				if p >= numParts || ctx.Err() != nil {
					return
				}
				fn(p, &buf)
			}
		}()
	}
	wg.Wait()
}

// mergedPart is partition p's contacts merged across workers: emails and
// keys by merged index, and per worker the map from its local index.
type mergedPart struct {
	emails []string
	keys   []contactKey
	remap  [][]uint32
}

// merge merges partition p's contacts of all workers. Without consume it
// copies instead of taking over the first worker's slices.
func (e *Engine) merge(p int, consume bool) mergedPart {
	var m mergedPart
	var ids map[contactKey]uint32
	m.remap = make([][]uint32, len(e.workers))
	for wi, w := range e.workers {
		pt := &w.parts[p]
		if len(pt.emails) == 0 {
			continue
		}
		if m.emails == nil {
			m.emails, m.keys = pt.emails, pt.keys
			if !consume {
				m.emails, m.keys = slices.Clone(pt.emails), slices.Clone(pt.keys)
			}
			rm := make([]uint32, len(pt.emails))
			for i := range rm {
				rm[i] = uint32(i)
			}
			m.remap[wi] = rm
			continue
		}
		if ids == nil {
			ids = make(map[contactKey]uint32, len(m.emails))
			for i, k := range m.keys {
				ids[k] = uint32(i)
			}
		}
		rm := make([]uint32, len(pt.emails))
		for i, k := range pt.keys {
			id, ok := ids[k]
			if !ok {
				id = uint32(len(m.emails))
				ids[k] = id
				m.emails = append(m.emails, pt.emails[i])
				m.keys = append(m.keys, k)
			}
			rm[i] = id
		}
		m.remap[wi] = rm
		if consume {
			pt.emails, pt.keys = nil, nil
		}
	}
	return m
}

// scatter groups partition p's records by merged contact: the records of
// contact c are recs[offsets[c]:offsets[c+1]]. buf is reused when large
// enough. With consume the workers' chunks are dropped as they are copied.
func (e *Engine) scatter(p int, m *mergedPart, consume bool, buf []record) (recs []record, offsets []int) {
	total := 0
	for _, w := range e.workers {
		total += w.parts[p].len()
	}
	offsets = make([]int, len(m.emails)+1)
	for wi, w := range e.workers {
		pt := &w.parts[p]
		rm := m.remap[wi]
		for _, c := range pt.chunks {
			for _, r := range c {
				offsets[rm[r.cid]+1]++
			}
		}
		for _, r := range pt.cur {
			offsets[rm[r.cid]+1]++
		}
	}
	for i := 1; i < len(offsets); i++ {
		offsets[i] += offsets[i-1]
	}
	if cap(buf) >= total {
		recs = buf[:total]
	} else {
		recs = make([]record, total, total+total/4)
	}
	pos := slices.Clone(offsets[:len(m.emails)])
	for wi, w := range e.workers {
		pt := &w.parts[p]
		rm := m.remap[wi]
		put := func(c []record) {
			for _, r := range c {
				id := rm[r.cid]
				r.cid = id
				recs[pos[id]] = r
				pos[id]++
			}
		}
		for i, c := range pt.chunks {
			put(c)
			if consume {
				pt.chunks[i] = nil
			}
		}
		put(pt.cur)
		if consume {
			pt.chunks, pt.cur = nil, nil
		}
	}
	return recs, offsets
}

// ratePart rates partition p into out (len(m.emails) long) and sorts out by
// email. A contact whose every event is after asOf did not exist then: it
// gets no rating. ratePart returns how many ratings it put at the start of
// out, and how many records were duplicates, after asOf and used; blocks
// counts the blocks used by classification.
func (e *Engine) ratePart(p int, m *mergedPart, out []Rating, asOf uint32, buf *[]record, blocks *[numClasses]int64) (kept int, dups, after, used int64) {
	recs, offsets := e.scatter(p, m, true, *buf)
	*buf = recs
	var set []uint64
	for c, email := range m.emails {
		own := recs[offsets[c]:offsets[c+1]]
		r, d, a := rateContactBuf(email, own, asOf, nil, &set, blocks)
		dups += int64(d)
		after += int64(a)
		if u := len(own) - d - a; u > 0 {
			used += int64(u)
			out[kept] = r
			kept++
		}
	}
	out = out[:kept]
	slices.SortFunc(out, func(a, b Rating) int { return strings.Compare(a.Email, b.Email) })
	return kept, dups, after, used
}

// Explain rates one contact and returns every event of it in time order
// with how it moved the score (duplicates and events after the as-of time
// are listed as ignored), exactly as [Engine.Rate] would rate it. It does
// not consume the engine and may be called any number of times, but only
// before Rate: Rate consumes the stored events, so Explain after Rate
// returns [ErrRated].
//
// Explain returns [ErrUnknownContact] if no event of email was read, and
// [ErrNoEventsAsOf] if every event of it is after the as-of time (Rate
// gives such a contact no rating); steps then still lists those events,
// all ignored. r is the zero Rating whenever err is not nil.
func (e *Engine) Explain(email string) (r Rating, steps []Step, err error) {
	if e.rated {
		return Rating{}, nil, ErrRated
	}
	email = strings.ToLower(strings.TrimSpace(email))
	k := keyOf([]byte(email))
	p := partOf([]byte(email))
	m := e.merge(p, false)
	c := slices.Index(m.keys, k)
	if c < 0 {
		return Rating{}, nil, ErrUnknownContact
	}
	recs, offsets := e.scatter(p, &m, false, nil)
	own := recs[offsets[c]:offsets[c+1]]
	r, dups, after := rateContact(email, own, e.asOf(), func(s Step) { steps = append(steps, s) })
	if len(own)-dups-after <= 0 {
		return Rating{}, steps, ErrNoEventsAsOf
	}
	return r, steps, nil
}
