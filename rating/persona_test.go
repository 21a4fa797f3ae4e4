package rating

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/rating/gen"
)

// TestPersonas rates a generated data set and reports, per persona, the
// share of its contacts whose stars fall in the range the contact-rating
// article gives that behaviour (gen.Expected), with its segments. Each
// persona must reach its floor; the behaviours are random, so the floors
// sit below the shares this seed gives and still fail any model that
// ignores the article (for example one where sender blocks, unsubscribes or
// dormancy are not handled).
func TestPersonas(t *testing.T) {
	t.Parallel()
	cfg := gen.Config{Seed: 11, Contacts: 4000}
	var buf bytes.Buffer
	if _, err := gen.Write(context.Background(), &buf, cfg); err != nil {
		t.Fatal(err)
	}
	res := mustRate(t, "personas.ndjson", buf.Bytes(), Options{})
	byEmail := map[string]Rating{}
	for _, r := range res.Ratings {
		byEmail[r.Email] = r
	}
	groups := map[gen.Persona][]Rating{}
	for _, m := range gen.Roster(cfg) {
		if r, ok := byEmail[strings.ToLower(m.Email)]; ok {
			groups[m.Persona] = append(groups[m.Persona], r)
		}
	}
	floors := map[gen.Persona]float64{
		gen.Champion: 0.95, gen.Engaged: 0.7, gen.EngagedDaily: 0.9, gen.EngagedWeekly: 0.85, gen.EngagedMonthly: 0.5,
		gen.Low: 0.8, gen.Dormant: 1, gen.New: 1, gen.MachineOnly: 1,
		gen.HardBouncer: 1, gen.BouncedChampion: 0.7, gen.SoftBouncer: 1, gen.MailboxBlocked: 1, gen.SenderBlocked: 0.6,
		gen.Complainer: 1, gen.Unsubscriber: 1, gen.GroupUnsubscriber: 1, gen.Resubscriber: 1,
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-19s %8s %6s %7s  %-34s %s\n", "persona", "contacts", "range", "inside", "stars 1..5", "segments")
	for _, p := range gen.Personas {
		rs := groups[p.Persona]
		want, ok := gen.Expected[p.Persona]
		if !ok {
			t.Errorf("%s: no expected range", p.Persona)
			continue
		}
		var stars [6]int
		segs := map[Segment]int{}
		in := 0
		for _, r := range rs {
			stars[r.Stars]++
			segs[r.Segment]++
			if r.Stars >= want.Min && r.Stars <= want.Max {
				in++
			}
		}
		share := float64(in) / float64(max(1, len(rs)))
		var seg []string
		for _, s := range Segments {
			if segs[s] > 0 {
				seg = append(seg, fmt.Sprintf("%s %d", s, segs[s]))
			}
		}
		fmt.Fprintf(&table, "%-19s %8d %3d–%-2d %6.1f%%  %-34s %s\n", p.Persona, len(rs), want.Min, want.Max, 100*share,
			fmt.Sprint(stars[1:]), strings.Join(seg, ", "))
		if len(rs) < 20 {
			t.Errorf("%s: only %d contacts", p.Persona, len(rs))
		}
		if share < floors[p.Persona] {
			t.Errorf("%s: %.1f%% of %d in %d–%d stars (%s), want at least %.0f%%", p.Persona, 100*share, len(rs), want.Min, want.Max, want.Why, 100*floors[p.Persona])
		}
	}
	t.Log(table.String())
}
