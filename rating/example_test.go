package rating_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sgseq/sgseq/rating"
)

func Example() {
	events := `{"email":"Ann@Example.com","timestamp":1767000000,"event":"delivered","sg_event_id":"d1"}
{"email":"ann@example.com","timestamp":1767003600,"event":"open","sg_machine_open":false,"sg_event_id":"o1"}
{"email":"ann@example.com","timestamp":1767003700,"event":"click","sg_event_id":"c1","url":"https://example.com/"}
{"email":"ann@example.com","timestamp":1767003700,"event":"click","sg_event_id":"c1","url":"https://example.com/"}
{"email":"bob@example.com","timestamp":1767000000,"event":"delivered","sg_event_id":"d2"}
{"email":"bob@example.com","timestamp":1767000060,"event":"open","sg_machine_open":true,"sg_event_id":"o2"}
{"email":"cy@example.com","timestamp":1767000000,"event":"bounce","type":"bounce","bounce_classification":"Invalid Address","sg_event_id":"b3"}
`
	e := rating.New(rating.Options{})
	if err := e.Read(context.Background(), "events.ndjson", strings.NewReader(events)); err != nil {
		fmt.Println(err)
		return
	}
	res, err := e.Rate(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	rating.WriteRatings(os.Stdout, rating.OutputCSV, res.Ratings)
	s := res.Summary
	fmt.Printf("read %d, used %d, duplicates %d, skipped %d\n", s.Read, s.Used, s.Duplicates, s.Skipped)
	// Output:
	// email,score,stars,segment,last_engaged,sends,human_opens,machine_opens,clicks,bounces,complaints,unsubscribes,sunset,sender_blocks
	// ann@example.com,1,3,low,2025-12-29T10:21:40Z,1,1,0,1,0,0,0,keep,0
	// bob@example.com,0,2,new,,1,0,1,0,0,0,0,keep,0
	// cy@example.com,-5,1,suppress,,0,0,0,0,1,0,0,remove,0
	// read 7, used 6, duplicates 1, skipped 0
}

func ExampleEngine_Explain() {
	events := `{"email":"ann@example.com","timestamp":1767000000,"event":"delivered","sg_event_id":"d1"}
{"email":"ann@example.com","timestamp":1767003600,"event":"open","sg_event_id":"o1"}
{"email":"ann@example.com","timestamp":1769592000,"event":"delivered","sg_event_id":"d2"}
{"email":"ann@example.com","timestamp":1772184000,"event":"delivered","sg_event_id":"d3"}
{"email":"ann@example.com","timestamp":1774776000,"event":"delivered","sg_event_id":"d4"}
`
	e := rating.New(rating.Options{})
	if err := e.Read(context.Background(), "events.ndjson", strings.NewReader(events)); err != nil {
		fmt.Println(err)
		return
	}
	r, steps, err := e.Explain("ann@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range steps {
		fmt.Printf("%s %-9s %.2f -> %.2f  %s\n", s.Time.Format("2006-01-02"), s.Kind, s.Before, s.After, s.Note)
	}
	fmt.Println("score", r.Score, "stars", r.Stars, r.Segment)
	// Output:
	// 2025-12-29 delivered 0.00 -> 0.00  mail delivered (weight 7.0 d)
	// 2025-12-29 open      0.00 -> 1.00  open: mail engaged with (weight 7.0 d): share 0.000 → 0.200
	// 2026-01-28 delivered 1.00 -> 1.00  mail delivered (weight 30.0 d)
	// 2026-02-27 delivered 1.00 -> 1.00  mail delivered (weight 30.0 d); previous mail (weight 30.0 d) unanswered: share 0.200 → 0.074
	// 2026-03-29 delivered 1.00 -> 0.00  mail delivered (weight 30.0 d); previous mail (weight 30.0 d) unanswered: share 0.074 → 0.038; 3 mails unanswered since 2026-01-28T09:20:00Z: dormant, at most 0
	// score 0 stars 2 dormant
}

func ExampleStars() {
	for _, score := range []int{-5, -1, 0, 1, 2, 5, 6, 10} {
		fmt.Printf("%d→%d\n", score, rating.Stars(score))
	}
	fmt.Println(rating.RoundScore(5.5), rating.RoundScore(5.49), rating.RoundScore(-0.5), rating.RoundScore(12))
	// Output:
	// -5→1
	// -1→1
	// 0→2
	// 1→3
	// 2→4
	// 5→4
	// 6→5
	// 10→5
	// 6 5 -1 10
}

func ExampleDecode() {
	// A webhook POST body per line; a CSV file works the same way.
	in := `[{"email":" Ann@Example.com","timestamp":1767000000000,"event":"open","sg_machine_open":true,"category":["news","eu"]},{"email":"ann@example.com","timestamp":"1767000100","event":"click","url":"https://example.com/"}]
[{"email":"bob@example.com","timestamp":1767000200,"event":"bounce","type":"blocked","bounce_classification":"technical failure","custom_arg":7}]
{"email":"bob@example.com","event":"open"}
`
	for ev, err := range rating.Decode(strings.NewReader(in), "webhook.json") {
		if err != nil {
			fmt.Println("skipped:", err)
			continue
		}
		fmt.Printf("%s %d %s machine=%v %q %q %q\n", ev.Email, ev.Timestamp.Unix(), ev.Kind, ev.MachineOpen,
			ev.Categories, ev.BounceType, ev.Classification)
	}
	// Output:
	// ann@example.com 1767000000 open machine=true ["news" "eu"] "" ""
	// ann@example.com 1767000100 click machine=false [] "" ""
	// bob@example.com 1767000200 bounce machine=false [] "blocked" "Technical"
	// skipped: webhook.json:3: timestamp: missing timestamp
}

func ExampleUnixSeconds() {
	// Event timestamps and --as-of take seconds or, from 10¹¹ up,
	// milliseconds.
	fmt.Println(rating.UnixSeconds(1767000000), rating.UnixSeconds(1767000000123))
	// Output:
	// 1767000000 1767000000
}

func ExampleOptions_maxRecordSize() {
	// A line over the limit is skipped, with its line, without being held.
	in := `{"email":"a@x.com","timestamp":1767000000,"event":"delivered"}
{"email":"b@x.com","timestamp":1767000000,"event":"delivered","pad":"` + strings.Repeat("x", 2000) + `"}
`
	e := rating.New(rating.Options{MaxRecordSize: 1024})
	if err := e.Read(context.Background(), "events.ndjson", strings.NewReader(in)); err != nil {
		fmt.Println(err)
		return
	}
	res, _ := e.Rate(context.Background())
	fmt.Println(len(res.Ratings), "rated;", res.Summary.Errors[0])
	// Output:
	// 1 rated; events.ndjson:2: record too large: longer than 1024 bytes (--max-record-size), skipped
}
