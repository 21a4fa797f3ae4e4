package rating

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// evs is a small builder of one contact's events.
type evs struct {
	email string
	list  []Event
	n     int
}

func newEvs() *evs { return &evs{email: "a@example.com"} }

func (b *evs) add(at time.Time, k Kind, mod ...func(*Event)) *evs {
	b.n++
	ev := Event{Email: b.email, Timestamp: at, Kind: k, EventID: fmt.Sprintf("id-%d", b.n)}
	for _, m := range mod {
		m(&ev)
	}
	b.list = append(b.list, ev)
	return b
}

// mails adds n deliveries every gap starting at start, each followed by
// what(i, t) (may be nil).
func (b *evs) mails(start time.Time, n int, gap time.Duration, what func(i int, t time.Time)) *evs {
	for i := range n {
		t := start.Add(time.Duration(i) * gap)
		b.add(t, KindDelivered)
		if what != nil {
			what(i, t)
		}
	}
	return b
}

func machine(ev *Event) { ev.MachineOpen = true }
func hard(ev *Event)    { ev.BounceType = BounceHard }
func blocked(c Classification) func(*Event) {
	return func(ev *Event) { ev.BounceType = BounceBlocked; ev.Classification = c }
}
func sameID(id string) func(*Event) { return func(ev *Event) { ev.EventID = id } }

func rateEvents(t *testing.T, asOf time.Time, list []Event) (Rating, Summary) {
	t.Helper()
	e := New(Options{AsOf: asOf})
	for _, ev := range list {
		e.Add(ev)
	}
	res, err := e.Rate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ratings) != 1 {
		t.Fatalf("got %d ratings, want 1", len(res.Ratings))
	}
	return res.Ratings[0], res.Summary
}

const (
	day  = 24 * time.Hour
	week = 7 * day
)

func TestStarsAndRounding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v     float64
		score int
		stars int
	}{
		{-7, -5, 1}, {-5, -5, 1}, {-1, -1, 1}, {-0.5, -1, 1}, {-0.49, 0, 2}, {0, 0, 2}, {0.49, 0, 2},
		{0.5, 1, 3}, {1.49, 1, 3}, {1.5, 2, 4}, {5.49, 5, 4}, {5.5, 6, 5}, {10, 10, 5}, {12, 10, 5},
	} {
		t.Run(fmt.Sprint(tc.v), func(t *testing.T) {
			if got := RoundScore(tc.v); got != tc.score {
				t.Errorf("RoundScore(%v) = %d, want %d", tc.v, got, tc.score)
			}
			if got := Stars(RoundScore(tc.v)); got != tc.stars {
				t.Errorf("Stars = %d, want %d", got, tc.stars)
			}
		})
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	openEach := func(b *evs) func(int, time.Time) {
		return func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen) }
	}
	for _, tc := range []struct {
		name  string
		build func() *evs
		asOf  time.Time
		check func(t *testing.T, r Rating, s Summary)
	}{
		{"new contact starts at 0", func() *evs {
			return newEvs().mails(t0, 3, week, nil)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentNew)
			if r.Sends != 3 {
				t.Errorf("sends %d", r.Sends)
			}
		}},
		{"open raises the score", func() *evs {
			b := newEvs()
			return b.mails(t0, 1, week, openEach(b))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 1, 3, SegmentLow)
		}},
		{"click counts more than an open", func() *evs {
			b := newEvs()
			return b.mails(t0, 1, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindClick) })
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 2, 4, SegmentEngaged)
		}},
		{"open then click of one mail: 2 in total", func() *evs {
			b := newEvs()
			return b.mails(t0, 1, week, func(i int, at time.Time) {
				b.add(at.Add(time.Hour), KindOpen).add(at.Add(2*time.Hour), KindClick).add(at.Add(3*time.Hour), KindOpen)
			})
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 2, 4, SegmentEngaged)
			if r.HumanOpens != 2 || r.Clicks != 1 {
				t.Errorf("opens %d clicks %d", r.HumanOpens, r.Clicks)
			}
		}},
		{"consistent opener becomes a champion", func() *evs {
			b := newEvs()
			return b.mails(t0, 10, week, openEach(b))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 10, 5, SegmentChampions)
		}},
		{"machine opens never count", func() *evs {
			b := newEvs()
			return b.mails(t0, 8, week, func(i int, at time.Time) { b.add(at.Add(time.Minute), KindOpen, machine) })
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentNew)
			if r.MachineOpens != 8 || r.HumanOpens != 0 || !r.LastEngaged.IsZero() {
				t.Errorf("machine %d human %d last %v", r.MachineOpens, r.HumanOpens, r.LastEngaged)
			}
		}},
		{"duplicates count once", func() *evs {
			b := newEvs().add(t0, KindDelivered)
			for range 30 {
				b.add(t0.Add(time.Hour), KindClick, sameID("retried"))
			}
			return b
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 2, 4, SegmentEngaged)
			if r.Clicks != 1 || s.Duplicates != 29 || s.Used != 2 || s.Read != 31 {
				t.Errorf("clicks %d summary %+v", r.Clicks, s)
			}
		}},
		{"a retried event with another timestamp counts once, at the earliest", func() *evs {
			b := newEvs().add(t0, KindDelivered)
			b.add(t0.Add(3*time.Hour), KindOpen, sameID("o"))
			b.add(t0.Add(time.Hour), KindOpen, sameID("o"))
			return b.add(t0.Add(2*time.Hour), KindOpen, sameID("o"))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 1, 3, SegmentLow)
			if r.HumanOpens != 1 || s.Duplicates != 2 || !r.LastEngaged.Equal(t0.Add(time.Hour)) {
				t.Errorf("opens %d duplicates %d last %v", r.HumanOpens, s.Duplicates, r.LastEngaged)
			}
		}},
		{"events without sg_event_id are told apart by time and message", func() *evs {
			b := newEvs().add(t0, KindDelivered, sameID(""))
			b.add(t0.Add(time.Hour), KindOpen, sameID(""))
			b.add(t0.Add(time.Hour), KindOpen, sameID(""))
			return b.add(t0.Add(2*time.Hour), KindOpen, sameID(""))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			if r.HumanOpens != 2 || s.Duplicates != 1 {
				t.Errorf("opens %d duplicates %d", r.HumanOpens, s.Duplicates)
			}
		}},
		{"hard bounce of a high score resets to 0", func() *evs {
			b := newEvs()
			b.mails(t0, 8, week, openEach(b))
			return b.add(t0.Add(9*week), KindBounce, hard)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentDormant)
			if r.Bounces != 1 || r.Sunset == SunsetRemove {
				t.Errorf("bounces %d sunset %s", r.Bounces, r.Sunset)
			}
		}},
		{"hard bounce of a low score gives -5", func() *evs {
			b := newEvs()
			b.mails(t0, 2, week, openEach(b))
			return b.add(t0.Add(3*week), KindBounce, hard)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -5, 1, SegmentSuppress)
			if r.Sunset != SunsetRemove {
				t.Errorf("sunset %s", r.Sunset)
			}
		}},
		{"bounce without type is hard", func() *evs {
			return newEvs().add(t0, KindDelivered).add(t0.Add(time.Hour), KindBounce)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -5, 1, SegmentSuppress)
		}},
		{"spam complaint gives -5", func() *evs {
			b := newEvs()
			b.mails(t0, 8, week, openEach(b))
			return b.add(t0.Add(8*week), KindSpamReport)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -5, 1, SegmentSuppress)
			if r.Complaints != 1 || r.Sunset != SunsetRemove {
				t.Errorf("complaints %d sunset %s", r.Complaints, r.Sunset)
			}
		}},
		{"block gives -2", func() *evs {
			return newEvs().add(t0, KindBounce, blocked(ClassMailboxUnavailable))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -2, 1, SegmentAtRisk)
		}},
		{"sender-side block gives -1", func() *evs {
			return newEvs().add(t0, KindBounce, blocked(ClassReputation))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -1, 1, SegmentAtRisk)
		}},
		{"block of a champion goes negative (soft bounced: 1 star)", func() *evs {
			b := newEvs()
			b.mails(t0, 12, week, openEach(b))
			return b.add(t0.Add(12*week), KindBounce, blocked(ClassNone))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -2, 1, SegmentAtRisk)
		}},
		{"block of a moderate score goes negative", func() *evs {
			b := newEvs()
			b.mails(t0, 3, week, openEach(b))
			return b.add(t0.Add(3*week), KindBounce, blocked(ClassNone))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -2, 1, SegmentAtRisk)
		}},
		{"unsubscribe alone keeps the score", func() *evs {
			b := newEvs()
			b.mails(t0, 3, week, openEach(b))
			return b.add(t0.Add(3*week), KindGroupUnsubscribe)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 3, 4, SegmentEngaged)
			if r.Unsubscribes != 1 || r.Sunset != SunsetRemove {
				t.Errorf("unsubscribes %d sunset %s", r.Unsubscribes, r.Sunset)
			}
		}},
		{"unsubscribe then resubscribe gives -3", func() *evs {
			b := newEvs()
			b.mails(t0, 3, week, openEach(b))
			return b.add(t0.Add(3*week), KindUnsubscribe).add(t0.Add(4*week), KindGroupResubscribe)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -3, 1, SegmentAtRisk)
		}},
		{"resubscribe without unsubscribe does nothing", func() *evs {
			return newEvs().add(t0, KindDelivered).add(t0.Add(time.Hour), KindGroupResubscribe)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentNew)
		}},
		{"non-engagement decays to 0, never below", func() *evs {
			b := newEvs()
			b.mails(t0, 6, week, openEach(b))
			return b.mails(t0.Add(6*week), 60, week, nil)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentDormant)
			if r.Value != 0 {
				t.Errorf("value %v, want exactly 0", r.Value)
			}
		}},
		{"negative score recovers only by engagement", func() *evs {
			b := newEvs().add(t0, KindBounce, blocked(ClassNone))
			b.mails(t0.Add(day), 10, week, nil)
			return b
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -2, 1, SegmentAtRisk)
		}},
		{"as-of ignores later events", func() *evs {
			b := newEvs()
			b.mails(t0, 3, week, openEach(b))
			return b.add(t0.Add(3*week), KindSpamReport)
		}, t0.Add(3*week - time.Second), func(t *testing.T, r Rating, s Summary) {
			want(t, r, 3, 4, SegmentEngaged)
			if s.AfterAsOf != 1 || r.Complaints != 0 {
				t.Errorf("after as-of %d complaints %d", s.AfterAsOf, r.Complaints)
			}
		}},
		{"processed deferred dropped have no effect", func() *evs {
			return newEvs().add(t0, KindProcessed).add(t0, KindDeferred).add(t0, KindDropped).add(t0, KindAccountStatusChange)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentNew)
			if r.Sends != 0 {
				t.Errorf("sends %d", r.Sends)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, s := rateEvents(t, tc.asOf, tc.build().list)
			tc.check(t, r, s)
		})
	}
}

func want(t *testing.T, r Rating, score, stars int, seg Segment) {
	t.Helper()
	if r.Score != score || r.Stars != stars || r.Segment != seg {
		t.Errorf("score %d (%.3f) stars %d segment %s; want %d, %d, %s", r.Score, r.Value, r.Stars, r.Segment, score, stars, seg)
	}
}

// TestFrequencyWeighting: the same number of unanswered mails weighs more on
// a monthly list than on a weekly one.
func TestFrequencyWeighting(t *testing.T) {
	t.Parallel()
	score := func(gap time.Duration, misses int) float64 {
		b := newEvs()
		b.mails(t0, 6, gap, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen) })
		b.mails(t0.Add(6*gap), misses+1, gap, nil)
		r, _ := rateEvents(t, time.Time{}, b.list)
		return r.Value
	}
	for _, misses := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d misses", misses), func(t *testing.T) {
			daily, weekly, monthly := score(day, misses), score(week, misses), score(30*day, misses)
			if !(monthly < weekly && weekly < daily) {
				t.Errorf("monthly %.3f, weekly %.3f, daily %.3f: want monthly < weekly < daily", monthly, weekly, daily)
			}
			wantWeekly := 6 * math.Pow(MissRetention, float64(misses))
			if math.Abs(weekly-wantWeekly) > 1e-9 {
				t.Errorf("weekly %.6f, want %.6f", weekly, wantWeekly)
			}
		})
	}
}

func TestSunset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		idle  time.Duration
		extra func(b *evs, last time.Time)
		want  Sunset
	}{
		{"engaged recently", 10 * day, nil, SunsetKeep},
		{"a month", 40 * day, nil, SunsetSendLess},
		{"three months", 100 * day, nil, SunsetSendEvenLess},
		{"six months", 200 * day, nil, SunsetReengage},
		{"re-engagement mail just sent", 200 * day, func(b *evs, last time.Time) {
			b.add(last.Add(195*day), KindDelivered)
		}, SunsetReengage},
		{"re-engagement mail ignored", 220 * day, func(b *evs, last time.Time) {
			b.add(last.Add(190*day), KindDelivered)
		}, SunsetRemove},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newEvs().add(t0, KindDelivered).add(t0.Add(time.Hour), KindOpen)
			last := t0.Add(time.Hour)
			if tc.extra != nil {
				tc.extra(b, last)
			}
			r, _ := rateEvents(t, last.Add(tc.idle), b.list)
			if r.Sunset != tc.want {
				t.Errorf("sunset %s, want %s", r.Sunset, tc.want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	e := New(Options{})
	b := newEvs()
	b.mails(t0, 2, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen, sameID("dup")) })
	for _, ev := range b.list {
		e.Add(ev)
	}
	e.Add(Event{Email: "other@example.com", Timestamp: t0, Kind: KindDelivered})
	r, steps, err := e.Explain("  A@Example.com ")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 4 {
		t.Fatalf("%d steps, want 4: %+v", len(steps), steps)
	}
	if !steps[3].Ignored && !steps[2].Ignored {
		t.Errorf("the duplicate open is not marked ignored: %+v", steps)
	}
	if r.Score != 1 || r.HumanOpens != 1 {
		t.Errorf("rating %+v", r)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].Time.Before(steps[i-1].Time) {
			t.Errorf("steps out of order: %v", steps)
		}
	}
	if _, _, err := e.Explain("nobody@example.com"); !errors.Is(err, ErrUnknownContact) {
		t.Errorf("contact without events: %v, want ErrUnknownContact", err)
	}
	// Explain does not consume: Rate still sees both contacts.
	res, err := e.Rate(context.Background())
	if err != nil || len(res.Ratings) != 2 {
		t.Fatalf("Rate after Explain: %v, %d ratings", err, len(res.Ratings))
	}
	if _, err := e.Rate(context.Background()); err != ErrRated {
		t.Errorf("second Rate: %v, want ErrRated", err)
	}
}

// TestExplainErrors: Explain agrees with Rate about which contacts have a
// rating, and refuses to answer after Rate consumed the events.
func TestExplainErrors(t *testing.T) {
	t.Parallel()
	asOf := t0.Add(24 * time.Hour)
	newEngine := func() *Engine {
		e := New(Options{AsOf: asOf})
		e.Add(Event{Email: "early@example.com", Timestamp: t0, Kind: KindDelivered, EventID: "e1"})
		e.Add(Event{Email: "early@example.com", Timestamp: t0.Add(time.Hour), Kind: KindOpen, EventID: "e2"})
		e.Add(Event{Email: "late@example.com", Timestamp: asOf.Add(time.Hour), Kind: KindDelivered, EventID: "l1"})
		e.Add(Event{Email: "late@example.com", Timestamp: asOf.Add(2 * time.Hour), Kind: KindOpen, EventID: "l2"})
		return e
	}
	e := newEngine()
	r, steps, err := e.Explain("late@example.com")
	if !errors.Is(err, ErrNoEventsAsOf) {
		t.Fatalf("contact with only later events: %v, want ErrNoEventsAsOf", err)
	}
	if r != (Rating{}) {
		t.Errorf("rating %+v, want the zero Rating", r)
	}
	if len(steps) != 2 || !steps[0].Ignored || !steps[1].Ignored {
		t.Errorf("steps %+v, want the 2 later events, ignored", steps)
	}
	if r, _, err := e.Explain("early@example.com"); err != nil || r.Score != 1 {
		t.Errorf("early contact: %v, rating %+v", err, r)
	}
	// Rate agrees: the late contact has no rating.
	res, err := e.Rate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ratings) != 1 || res.Ratings[0].Email != "early@example.com" {
		t.Errorf("ratings %+v, want early@example.com only", res.Ratings)
	}

	// After Rate the events are gone: every contact, known or not, gets
	// ErrRated instead of a wrong "unknown contact".
	for _, email := range []string{"early@example.com", "late@example.com", "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			r, steps, err := e.Explain(email)
			if !errors.Is(err, ErrRated) || r != (Rating{}) || steps != nil {
				t.Errorf("Explain after Rate: %v, %+v, %v; want ErrRated", err, r, steps)
			}
		})
	}
	e.Add(Event{Email: "new@example.com", Timestamp: t0, Kind: KindDelivered}) // ignored, no panic
	if _, _, err := e.Explain("new@example.com"); !errors.Is(err, ErrRated) {
		t.Errorf("Explain of a contact added after Rate: %v, want ErrRated", err)
	}
	if err := e.Read(context.Background(), "x.ndjson", strings.NewReader("")); !errors.Is(err, ErrRated) {
		t.Errorf("Read after Rate: %v, want ErrRated", err)
	}
}

// TestHighScoreBoundary: the "high score" test of a hard bounce uses the
// same rounding as the displayed score, so a contact shown with 6 (5 stars)
// is reset to 0 and one shown with 5 is not. A block never resets: it
// always goes negative.
func TestHighScoreBoundary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		s     float64
		btype BounceType
		want  float64
	}{
		{"hard bounce at 5.5 (shown 6)", 5.5, BounceHard, 0},
		{"hard bounce at 5.49 (shown 5)", 5.49, BounceHard, -5},
		{"hard bounce at 10", 10, BounceHard, 0},
		{"hard bounce at 0", 0, BounceHard, -5},
		{"block at 10", 10, BounceBlocked, -BlockPenalty},
		{"block at 5.5 (shown 6)", 5.5, BounceBlocked, -BlockPenalty},
		{"block at 5.49 (shown 5)", 5.49, BounceBlocked, -BlockPenalty},
		{"block at -4", -4, BounceBlocked, MinScore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown := RoundScore(tc.s)
			m := model{s: tc.s}
			var r Rating
			m.apply(record{ts: 1, key: packInfo(KindBounce, false, tc.btype, ClassInvalidAddress)}, &r)
			if m.s != tc.want {
				t.Errorf("score %v (shown %d) after %s: %v, want %v", tc.s, shown, tc.btype, m.s, tc.want)
			}
			if tc.btype == BounceHard && (tc.want == 0) != (Stars(shown) == 5) {
				t.Errorf("reset %v but shown %d (%d stars)", tc.want == 0, shown, Stars(shown))
			}
		})
	}
}

// TestSameSecondOrder: events of one second, with retries and mixed kinds,
// give the same rating in any input order and on any number of workers.
func TestSameSecondOrder(t *testing.T) {
	t.Parallel()
	kinds := []Kind{KindDelivered, KindOpen, KindClick, KindBounce, KindDelivered, KindOpen,
		KindUnsubscribe, KindGroupResubscribe, KindDelivered, KindOpen, KindSpamReport}
	var list []Event
	for i := range 80 {
		list = append(list, Event{Email: "a@x.com", Timestamp: t0.Add(time.Duration(i/9) * time.Second),
			Kind: kinds[i%len(kinds)], EventID: fmt.Sprintf("id-%d", i%29), MachineOpen: i%5 == 0,
			BounceType: BounceBlocked})
	}
	var first *Rating
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 7))
		r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		e := New(Options{Workers: 1 + int(seed%3)})
		for _, ev := range list {
			e.Add(ev)
		}
		res, err := e.Rate(context.Background())
		if err != nil || len(res.Ratings) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
		got := res.Ratings[0]
		if first == nil {
			first = &got
			continue
		}
		if got != *first {
			t.Fatalf("order %d: %+v\nfirst: %+v", seed, got, *first)
		}
	}
}
