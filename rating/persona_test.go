package rating

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/rating/gen"
)

// TestPersonas rates a generated data set and checks each persona lands
// where the model says it should.
func TestPersonas(t *testing.T) {
	t.Parallel()
	cfg := gen.Config{Seed: 11, Contacts: 1500}
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
	share := func(rs []Rating, ok func(Rating) bool) float64 {
		n := 0
		for _, r := range rs {
			if ok(r) {
				n++
			}
		}
		return float64(n) / float64(max(1, len(rs)))
	}
	for _, tc := range []struct {
		persona gen.Persona
		min     float64
		what    string
		ok      func(Rating) bool
	}{
		{gen.Champion, 0.8, "4 or 5 stars", func(r Rating) bool { return r.Stars >= 4 }},
		{gen.Engaged, 0.7, "3 to 5 stars", func(r Rating) bool { return r.Stars >= 3 }},
		{gen.Low, 0.7, "2 to 4 stars", func(r Rating) bool { return r.Stars >= 2 && r.Stars <= 4 }},
		{gen.Dormant, 0.9, "2 stars", func(r Rating) bool { return r.Stars == 2 }},
		{gen.Dormant, 1, "dormant once engaged", func(r Rating) bool {
			return r.Stars != 2 || (r.Segment == SegmentDormant) == !r.LastEngaged.IsZero()
		}},
		{gen.Dormant, 0.5, "told to send less or re-engage", func(r Rating) bool { return r.Sunset != SunsetKeep }},
		{gen.New, 1, "2 stars, new, keep", func(r Rating) bool { return r.Segment == SegmentNew && r.Sunset == SunsetKeep }},
		{gen.MachineOnly, 1, "2 stars, new, machine opens only", func(r Rating) bool {
			return r.Stars == 2 && r.HumanOpens == 0 && r.Clicks == 0 && (r.MachineOpens > 0 || r.Sends <= 1)
		}},
		{gen.HardBouncer, 1, "reset to 0 or -5", func(r Rating) bool { return r.Bounces == 0 || r.Score == 0 || r.Score == -5 }},
		{gen.HardBouncer, 0.1, "reset to 0 after a high score", func(r Rating) bool { return r.Bounces == 1 && r.Score == 0 }},
		{gen.HardBouncer, 0.1, "suppressed", func(r Rating) bool { return r.Segment == SegmentSuppress && r.Sunset == SunsetRemove }},
		{gen.SoftBouncer, 0.35, "1 star, at risk", func(r Rating) bool { return r.Stars == 1 && r.Segment == SegmentAtRisk }},
		{gen.Complainer, 1, "suppressed when complained", func(r Rating) bool {
			return r.Complaints == 0 || (r.Score == -5 && r.Segment == SegmentSuppress && r.Sunset == SunsetRemove)
		}},
		{gen.Complainer, 0.5, "complained", func(r Rating) bool { return r.Complaints > 0 }},
		{gen.Unsubscriber, 1, "removed when unsubscribed", func(r Rating) bool { return r.Unsubscribes == 0 || r.Sunset == SunsetRemove }},
		{gen.Resubscriber, 0.5, "1 star after resubscribing", func(r Rating) bool { return r.Unsubscribes == 0 || r.Stars == 1 }},
	} {
		t.Run(string(tc.persona)+": "+tc.what, func(t *testing.T) {
			rs := groups[tc.persona]
			if len(rs) < 20 {
				t.Fatalf("only %d contacts", len(rs))
			}
			if got := share(rs, tc.ok); got < tc.min {
				t.Errorf("%.0f%% of %d, want at least %.0f%%", 100*got, len(rs), 100*tc.min)
			}
		})
	}
}
