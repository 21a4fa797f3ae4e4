package rating

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
		{"a first open is 3 stars: not on the list long enough for more", func() *evs {
			b := newEvs()
			return b.mails(t0, 1, week, openEach(b))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 1, 3, SegmentLow)
		}},
		{"a click alone counts as an engaged mail", func() *evs {
			b := newEvs()
			return b.mails(t0, 4, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindClick) })
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			if r.Stars != 4 || r.Clicks != 4 {
				t.Errorf("stars %d (%.2f) clicks %d, want 4 stars", r.Stars, r.Value, r.Clicks)
			}
		}},
		{"open then click of one mail: one engaged mail", func() *evs {
			b := newEvs()
			return b.mails(t0, 1, week, func(i int, at time.Time) {
				b.add(at.Add(time.Hour), KindOpen).add(at.Add(2*time.Hour), KindClick).add(at.Add(3*time.Hour), KindOpen)
			})
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 1, 3, SegmentLow)
			if r.HumanOpens != 2 || r.Clicks != 1 {
				t.Errorf("opens %d clicks %d", r.HumanOpens, r.Clicks)
			}
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
			want(t, r, 1, 3, SegmentLow)
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
			b.mails(t0, 20, week, openEach(b))
			return b.add(t0.Add(20*week), KindBounce, hard)
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
		{"hard bounce, then engagement: at risk, lifted by 1 a mail", func() *evs {
			b := newEvs()
			b.mails(t0, 2, week, openEach(b))
			b.add(t0.Add(2*week), KindBounce, hard)
			return b.mails(t0.Add(3*week), 2, week, openEach(b))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -3, 1, SegmentAtRisk)
		}},
		{"bounce without type is hard", func() *evs {
			return newEvs().add(t0, KindDelivered).add(t0.Add(time.Hour), KindBounce)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -5, 1, SegmentSuppress)
		}},
		{"spam complaint gives -5, lasting", func() *evs {
			b := newEvs()
			b.mails(t0, 8, week, openEach(b))
			b.add(t0.Add(8*week), KindSpamReport)
			return b.mails(t0.Add(60*week), 10, week, openEach(b))
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, -1, 1, SegmentSuppress)
			if r.Complaints != 1 || r.Sunset != SunsetRemove {
				t.Errorf("complaints %d sunset %s", r.Complaints, r.Sunset)
			}
		}},
		{"resubscribe without unsubscribe does nothing", func() *evs {
			return newEvs().add(t0, KindDelivered).add(t0.Add(time.Hour), KindGroupResubscribe)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentNew)
		}},
		{"as-of ignores later events", func() *evs {
			b := newEvs()
			b.mails(t0, 3, week, openEach(b))
			return b.add(t0.Add(3*week), KindSpamReport)
		}, t0.Add(3*week - time.Second), func(t *testing.T, r Rating, s Summary) {
			if r.Stars != 4 || s.AfterAsOf != 1 || r.Complaints != 0 {
				t.Errorf("stars %d after as-of %d complaints %d", r.Stars, s.AfterAsOf, r.Complaints)
			}
		}},
		{"processed deferred dropped have no effect", func() *evs {
			return newEvs().add(t0, KindProcessed).add(t0, KindDeferred).add(t0, KindDropped).add(t0, KindAccountStatusChange)
		}, time.Time{}, func(t *testing.T, r Rating, s Summary) {
			want(t, r, 0, 2, SegmentNew)
			if r.Sends != 0 || r.Sunset != SunsetKeep {
				t.Errorf("sends %d sunset %s", r.Sends, r.Sunset)
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

// cadences are the list cadences the principle tests run on.
var cadences = []struct {
	name string
	gap  time.Duration
}{{"daily", day}, {"weekly", week}, {"monthly", 30 * day}}

// engageEvery builds n mails every gap where every k-th mail (counted from
// the end, so the last one is engaged) is opened.
func engageEvery(n, k int, gap time.Duration) *evs {
	b := newEvs()
	return b.mails(t0, n, gap, func(i int, at time.Time) {
		if (n-1-i)%k == 0 {
			b.add(at.Add(time.Hour), KindOpen)
		}
	})
}

// TestSameShareAnyCadence: the same share of mail engaged with gives the
// same stars on a daily, a weekly and a monthly list, once the contact has
// been on the list a while (a year).
func TestSameShareAnyCadence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		every int // engages with one mail in every
		stars int
		seg   Segment
	}{
		{1, 5, SegmentChampions}, // every mail: very consistently
		{2, 4, SegmentEngaged},   // one in two: often
		{6, 3, SegmentLow},       // one in six: not consistently
	} {
		t.Run(fmt.Sprintf("1 in %d", tc.every), func(t *testing.T) {
			t.Parallel()
			var scores []float64
			for _, c := range cadences {
				n := int(365 * day / c.gap)
				r, _ := rateEvents(t, time.Time{}, engageEvery(n, tc.every, c.gap).list)
				scores = append(scores, r.Value)
				if r.Stars != tc.stars || r.Segment != tc.seg {
					t.Errorf("%s: %d stars (%.2f), %s; want %d, %s", c.name, r.Stars, r.Value, r.Segment, tc.stars, tc.seg)
				}
			}
			if spread := slices.Max(scores) - slices.Min(scores); spread > 1.5 {
				t.Errorf("scores %.2f differ by %.2f across cadences", scores, spread)
			}
		})
	}
}

// TestMissWeighsByCadence: one unanswered monthly mail costs more than one
// unanswered weekly mail, which costs more than a daily one.
func TestMissWeighsByCadence(t *testing.T) {
	t.Parallel()
	var drops []float64
	for _, c := range cadences {
		n := int(365 * day / c.gap)
		b := engageEvery(n, 1, c.gap)
		before, _ := rateEvents(t, time.Time{}, b.list)
		b.mails(t0.Add(time.Duration(n)*c.gap), 2, c.gap, nil) // the first of them unanswered, the second just delivered
		after, _ := rateEvents(t, time.Time{}, b.list)
		drops = append(drops, before.Value-after.Value)
	}
	if !(drops[2] > drops[1] && drops[1] > drops[0] && drops[0] > 0) {
		t.Errorf("score lost to one miss: daily %.3f, weekly %.3f, monthly %.3f; want daily < weekly < monthly", drops[0], drops[1], drops[2])
	}
}

// TestConsistentAndOccasional: on one list, a contact that opens every mail
// is a champion and one that opens one in six is low.
func TestConsistentAndOccasional(t *testing.T) {
	t.Parallel()
	for _, c := range cadences {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := int(365 * day / c.gap)
			cons, _ := rateEvents(t, time.Time{}, engageEvery(n, 1, c.gap).list)
			occ, _ := rateEvents(t, time.Time{}, engageEvery(n, 6, c.gap).list)
			if cons.Stars != 5 || occ.Stars != 3 {
				t.Errorf("consistent %d stars (%.2f), occasional %d stars (%.2f); want 5 and 3", cons.Stars, cons.Value, occ.Stars, occ.Value)
			}
		})
	}
}

// TestDormant: a champion whose mail goes unanswered while it is still
// mailed falls to 2 stars (dormant) once the silence lasts DormantAfter and
// DormantMails mails, and its sunset agrees.
func TestDormant(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cadence string
		gap     time.Duration
		misses  int // mails delivered after the last engaged one
		dormant bool
	}{
		{"daily", day, 20, false},
		{"daily", day, 31, true},
		{"weekly", week, 2, false},
		{"weekly", week, 4, false}, // 3 weeks since the first unanswered mail
		{"weekly", week, 6, true},
		{"monthly", 30 * day, 2, false}, // a month, but only two mails
		{"monthly", 30 * day, 3, true},
	} {
		t.Run(fmt.Sprintf("%s %d unanswered", tc.cadence, tc.misses), func(t *testing.T) {
			t.Parallel()
			n := int(365 * day / tc.gap)
			b := engageEvery(n, 1, tc.gap)
			b.mails(t0.Add(time.Duration(n)*tc.gap), tc.misses, tc.gap, nil)
			last := b.list[len(b.list)-1].Timestamp
			r, _ := rateEvents(t, last.Add(tc.gap-time.Hour), b.list)
			if got := r.Segment == SegmentDormant; got != tc.dormant || (tc.dormant && r.Stars != 2) {
				t.Errorf("%d stars (%.2f), %s, sunset %s; dormant %v, want %v", r.Stars, r.Value, r.Segment, r.Sunset, got, tc.dormant)
			}
			if tc.dormant != (r.Sunset != SunsetKeep) {
				t.Errorf("sunset %s does not agree with dormant %v", r.Sunset, tc.dormant)
			}
		})
	}
}

// TestRememberedLonger: after the same silence, a champion that comes back
// is rated higher than before the silence lets a low engager be: high
// engagement is remembered longer.
func TestRememberedLonger(t *testing.T) {
	t.Parallel()
	back := func(every int) Rating {
		n := 52
		b := engageEvery(n, every, week)
		b.mails(t0.Add(time.Duration(n)*week), 8, week, nil) // two months silent
		b.mails(t0.Add(time.Duration(n+8)*week), 1, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen) })
		r, _ := rateEvents(t, time.Time{}, b.list)
		return r
	}
	champ, low := back(1), back(5)
	if champ.Stars < 4 || low.Stars != 3 {
		t.Errorf("back after two months: champion %d stars (%.2f), low engager %d stars (%.2f); want ≥ 4 and 3", champ.Stars, champ.Value, low.Stars, low.Value)
	}
	// The memory itself: a miss moves a high share less than a low one.
	if halfLife(1) <= halfLife(0.2) {
		t.Errorf("half-life at share 1 %v, at 0.2 %v", halfLife(1), halfLife(0.2))
	}
}

// TestUnsubscribes: an unsubscribed contact is never above 2 stars, is in
// segment unsubscribed and must not be mailed; resubscribing gives 1 star
// that later opens do not lift until the mark runs out.
func TestUnsubscribes(t *testing.T) {
	t.Parallel()
	group := func(id int64) func(*Event) { return func(ev *Event) { ev.ASMGroupID = id } }
	champion := func() *evs { return engageEvery(40, 1, week) }
	after := t0.Add(40 * week)
	for _, tc := range []struct {
		name  string
		build func(b *evs)
		score int
		seg   Segment
	}{
		{"unsubscribe", func(b *evs) { b.add(after, KindUnsubscribe) }, 0, SegmentUnsubscribed},
		{"unsubscribe, then opens", func(b *evs) {
			b.add(after, KindUnsubscribe)
			b.mails(after.Add(day), 5, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen) })
		}, 0, SegmentUnsubscribed},
		{"group unsubscribe", func(b *evs) { b.add(after, KindGroupUnsubscribe, group(7)) }, 0, SegmentUnsubscribed},
		{"group unsubscribe, resubscribe to another group", func(b *evs) {
			b.add(after, KindGroupUnsubscribe, group(7)).add(after.Add(day), KindGroupResubscribe, group(8))
		}, 0, SegmentUnsubscribed},
		{"two groups unsubscribed, one resubscribed", func(b *evs) {
			b.add(after, KindGroupUnsubscribe, group(7)).add(after, KindGroupUnsubscribe, group(8)).add(after.Add(day), KindGroupResubscribe, group(8))
		}, -3, SegmentUnsubscribed},
		{"group unsubscribe, resubscribe to it", func(b *evs) {
			b.add(after, KindGroupUnsubscribe, group(7)).add(after.Add(day), KindGroupResubscribe, group(7))
		}, -3, SegmentAtRisk},
		{"unsubscribe, resubscribe", func(b *evs) {
			b.add(after, KindUnsubscribe).add(after.Add(day), KindGroupResubscribe, group(7))
		}, -3, SegmentAtRisk},
		{"unsubscribe, resubscribe, opens", func(b *evs) {
			b.add(after, KindGroupUnsubscribe).add(after.Add(day), KindGroupResubscribe)
			b.mails(after.Add(2*day), 10, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen) })
		}, -1, SegmentAtRisk},
		{"unsubscribe, resubscribe, opens past the mark's memory", func(b *evs) {
			b.add(after, KindGroupUnsubscribe).add(after.Add(day), KindGroupResubscribe)
			b.mails(after.Add(2*day), 30, week, func(i int, at time.Time) { b.add(at.Add(time.Hour), KindOpen) })
		}, 10, SegmentChampions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := champion()
			tc.build(b)
			r, _ := rateEvents(t, time.Time{}, b.list)
			if r.Segment != tc.seg || (tc.score <= 0 && r.Score != tc.score) || (tc.score > 0 && r.Stars != 5) {
				t.Errorf("score %d (%.2f), %d stars, %s; want %d, %s", r.Score, r.Value, r.Stars, r.Segment, tc.score, tc.seg)
			}
			if tc.seg == SegmentUnsubscribed && (r.Stars > 2 || r.Sunset != SunsetRemove) {
				t.Errorf("unsubscribed: %d stars, sunset %s; want at most 2 and remove", r.Stars, r.Sunset)
			}
		})
	}
}

// TestBlocks: a block the sender caused leaves an engaged contact as it
// is (and is counted); a block of the recipient's mailbox is a soft
// bounce: 1 star.
func TestBlocks(t *testing.T) {
	t.Parallel()
	base, _ := rateEvents(t, time.Time{}, engageEvery(26, 2, week).list)
	if base.Stars != 4 {
		t.Fatalf("engaged contact: %d stars (%.2f), want 4", base.Stars, base.Value)
	}
	for _, tc := range []struct {
		class  Classification
		sender bool
	}{
		{ClassReputation, true}, {ClassContent, true}, {ClassFrequency, true}, {ClassTechnical, true},
		{ClassMailboxUnavailable, false}, {ClassUnclassified, false}, {ClassNone, false}, {ClassInvalidAddress, false},
	} {
		t.Run(tc.class.String(), func(t *testing.T) {
			t.Parallel()
			b := engageEvery(26, 2, week)
			b.add(t0.Add(26*week), KindBounce, blocked(tc.class))
			r, s := rateEvents(t, time.Time{}, b.list)
			if tc.sender {
				if r.Score != base.Score || r.SenderBlocks != 1 || r.Bounces != 0 || s.SenderBlocks != 1 {
					t.Errorf("score %d (was %d), sender_blocks %d, bounces %d, summary %d", r.Score, base.Score, r.SenderBlocks, r.Bounces, s.SenderBlocks)
				}
			} else if r.Score != -BlockPenalty || r.Segment != SegmentAtRisk || r.Bounces != 1 || r.SenderBlocks != 0 {
				t.Errorf("score %d, %s, bounces %d, sender_blocks %d; want -2, at_risk", r.Score, r.Segment, r.Bounces, r.SenderBlocks)
			}
			if s.Blocks != 1 || s.BlocksBy[classOrNone(tc.class)] != 1 {
				t.Errorf("summary blocks %d %v", s.Blocks, s.BlocksBy)
			}
		})
	}
}

// TestSegmentsAgreeWithSunset: on random histories, a contact told to send
// less (or worse) is never engaged or a champion, and an unsubscribed one
// is never above 2 stars.
func TestSegmentsAgreeWithSunset(t *testing.T) {
	t.Parallel()
	kinds := []Kind{KindDelivered, KindDelivered, KindDelivered, KindOpen, KindClick, KindOpen, KindBounce,
		KindUnsubscribe, KindGroupUnsubscribe, KindGroupResubscribe, KindSpamReport, KindProcessed}
	rng := rand.New(rand.NewPCG(5, 5))
	e := New(Options{})
	for c := range 400 {
		at := t0
		n := 5 + rng.IntN(120)
		for i := range n {
			k := kinds[rng.IntN(len(kinds))]
			if rng.IntN(10) > 0 && k != KindDelivered && k != KindOpen {
				k = KindDelivered // mostly mail
			}
			ev := Event{Email: fmt.Sprintf("c%d@x.com", c), Timestamp: at, Kind: k, EventID: fmt.Sprint(c, "-", i),
				ASMGroupID: int64(rng.IntN(3)), BounceType: BounceType(1 + rng.IntN(2)), Classification: Classification(rng.IntN(int(numClasses)))}
			e.Add(ev)
			at = at.Add(time.Duration(rng.IntN(int(20*day/time.Second))) * time.Second)
		}
	}
	res, err := e.Rate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Ratings {
		if r.Sunset != SunsetKeep && (r.Segment == SegmentEngaged || r.Segment == SegmentChampions) {
			t.Errorf("%s: sunset %s but segment %s (%d stars)", r.Email, r.Sunset, r.Segment, r.Stars)
		}
		if r.Segment == SegmentUnsubscribed && (r.Stars > 2 || r.Sunset != SunsetRemove) {
			t.Errorf("%s: unsubscribed with %d stars, sunset %s", r.Email, r.Stars, r.Sunset)
		}
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
// is reset to 0 and one shown with 5 is not. A block of the recipient's
// mailbox never resets: it always goes negative.
func TestHighScoreBoundary(t *testing.T) {
	t.Parallel()
	// shareFor returns the share whose score is v.
	shareFor := func(v float64) float64 { return math.Pow(v/MaxScore, 1/ShareExponent) }
	for _, tc := range []struct {
		name  string
		v     float64
		btype BounceType
		want  float64
	}{
		{"hard bounce at 5.5 (shown 6)", 5.5, BounceHard, 0},
		{"hard bounce at 5.45 (shown 5)", 5.45, BounceHard, -5},
		{"hard bounce at 10", 10, BounceHard, 0},
		{"hard bounce at 0", 0, BounceHard, -5},
		{"block at 10", 10, BounceBlocked, -BlockPenalty},
		{"block at 5.5 (shown 6)", 5.5, BounceBlocked, -BlockPenalty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := model{started: true, mail: 100}
			m.eng = 100 * shareFor(tc.v) * 1.000001
			shown := RoundScore(m.score(1))
			var r Rating
			m.apply(record{ts: 1, key: packInfo(KindBounce, false, tc.btype, ClassMailboxUnavailable)}, &r)
			if got := m.score(1); got != tc.want {
				t.Errorf("score %v (shown %d) after %s: %v, want %v", tc.v, shown, tc.btype, got, tc.want)
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

// TestExplainAsOfStep: when time alone moves the score after the last event
// (mail unanswered long enough to make the contact dormant), Explain ends
// with an as-of step that says so, and its score is the rating's.
func TestExplainAsOfStep(t *testing.T) {
	t.Parallel()
	b := engageEvery(20, 1, week)
	first := t0.Add(20 * week)
	b.mails(first, 3, week, nil) // unanswered, the last 2 weeks after the first
	asOf := first.Add(31 * day)
	e := New(Options{AsOf: asOf})
	for _, ev := range b.list {
		e.Add(ev)
	}
	r, steps, err := e.Explain(b.email)
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-1]
	if last.Kind != KindUnknown || !last.Time.Equal(asOf) || last.After != 0 || last.Before <= 0 || !strings.Contains(last.Note, "dormant") {
		t.Errorf("last step %+v, want an as-of step to 0 (dormant)", last)
	}
	if r.Segment != SegmentDormant || r.Value != last.After || r.Sunset != SunsetSendLess {
		t.Errorf("rating %+v", r)
	}
	// Without the as-of time passing, no such step.
	e2 := New(Options{AsOf: first.Add(15 * day)})
	for _, ev := range b.list {
		e2.Add(ev)
	}
	_, steps, _ = e2.Explain(b.email)
	if k := steps[len(steps)-1].Kind; k == KindUnknown {
		t.Errorf("an as-of step where time changed nothing: %+v", steps[len(steps)-1])
	}
}
