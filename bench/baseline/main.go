// Command baseline is the straightforward way to aggregate Event Webhook
// NDJSON that "sgseq rate" is measured against: one encoding/json decode per
// line into a struct, a map of per-email counters and a map of seen
// sg_event_id strings for deduplication. It computes counts only (no model)
// and prints the number of contacts and events.
//
//	go run ./bench/baseline bench/data/events-100k.ndjson
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type event struct {
	Email       string `json:"email"`
	Timestamp   int64  `json:"timestamp"`
	Event       string `json:"event"`
	SGEventID   string `json:"sg_event_id"`
	MachineOpen bool   `json:"sg_machine_open"`
	Type        string `json:"type"`
}

type counts struct {
	sends, humanOpens, machineOpens, clicks, bounces, complaints, unsubscribes int
	last                                                                       int64
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: baseline FILE.ndjson")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	contacts := map[string]*counts{}
	seen := map[string]struct{}{}
	var read, dups, bad int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		read++
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Email == "" {
			bad++
			continue
		}
		if e.SGEventID != "" {
			if _, ok := seen[e.SGEventID]; ok {
				dups++
				continue
			}
			seen[e.SGEventID] = struct{}{}
		}
		email := strings.ToLower(strings.TrimSpace(e.Email))
		c := contacts[email]
		if c == nil {
			c = &counts{}
			contacts[email] = c
		}
		switch e.Event {
		case "delivered":
			c.sends++
		case "open":
			if e.MachineOpen {
				c.machineOpens++
			} else {
				c.humanOpens++
				c.last = max(c.last, e.Timestamp)
			}
		case "click":
			c.clicks++
			c.last = max(c.last, e.Timestamp)
		case "bounce":
			c.bounces++
		case "spamreport":
			c.complaints++
		case "unsubscribe", "group_unsubscribe":
			c.unsubscribes++
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("baseline: %d contacts, %d events read, %d duplicates, %d bad\n", len(contacts), read, dups, bad)
}
