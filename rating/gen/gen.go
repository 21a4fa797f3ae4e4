// Package gen generates reproducible, realistic SendGrid Event Webhook data
// for tests, demos and benchmarks of package rating.
//
// The generator simulates a sender with three lists mailed at different
// cadences (daily, weekly, monthly) and contacts that follow personas:
// champions, engaged (also on one list only), low, dormant, new, Apple-MPP
// machine openers, hard bouncers and bounced champions, soft bouncers,
// engaged contacts with a mailbox block or with blocks the sender caused,
// complainers, unsubscribers (global and from one group) and
// unsubscribe-then-resubscribe contacts. [Expected] gives each persona the
// star range Mailchimp's contact-rating article assigns its behaviour. Events look like the real webhook
// posts (about 500 bytes each: user agents, categories, custom arguments
// merged at the top level, a nested object, url, ip, sg_message_id,
// sg_event_id), arrive roughly in time order with some out-of-order
// delivery, and a share of them is delivered more than once, as the
// webhook does when it retries.
//
// Output is a pure function of [Config]: the same seed and sizes give the
// same bytes.
package gen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Persona is the behaviour a generated contact follows.
type Persona string

// Personas. The share of mail a persona opens is per mail delivered;
// clicks follow some opens.
const (
	Champion          Persona = "champion"           // opens 85% of its mail, clicks often
	Engaged           Persona = "engaged"            // opens about 45%
	EngagedDaily      Persona = "engaged_daily"      // Engaged, on the daily list only
	EngagedWeekly     Persona = "engaged_weekly"     // Engaged, on the weekly list only
	EngagedMonthly    Persona = "engaged_monthly"    // Engaged, on the monthly list only
	Low               Persona = "low"                // opens about 10%
	Dormant           Persona = "dormant"            // opens 60%, then stops for good in the first half, still mailed
	New               Persona = "new"                // joined in the last three weeks, has not engaged
	MachineOnly       Persona = "machine"            // Apple MPP: machine opens only
	HardBouncer       Persona = "hard_bouncer"       // opens 20%, hard-bounces once, then dropped
	BouncedChampion   Persona = "bounced_champion"   // a champion that hard-bounces once late, then dropped
	SoftBouncer       Persona = "soft_bouncer"       // its mailbox blocks one mail in six (Mailbox Unavailable, Unclassified)
	MailboxBlocked    Persona = "mailbox_blocked"    // Engaged, with one Mailbox Unavailable block in the last months
	SenderBlocked     Persona = "sender_blocked"     // Engaged, with one mail in ten blocked for the sender's Reputation, Content, volume or a Technical failure
	Complainer        Persona = "complainer"         // reports spam, then dropped
	Unsubscriber      Persona = "unsubscriber"       // unsubscribes from all mail, then dropped
	GroupUnsubscriber Persona = "group_unsubscriber" // unsubscribes from one list's group (dropped there), still gets and opens the others
	Resubscriber      Persona = "resubscriber"       // unsubscribes from a group, resubscribes within 20 days, goes on opening
)

// Personas lists every persona with its share of contacts (per mille).
var Personas = []struct {
	Persona Persona
	PerMil  int
}{
	{Champion, 120}, {Engaged, 160}, {EngagedDaily, 15}, {EngagedWeekly, 25}, {EngagedMonthly, 25},
	{Low, 150}, {Dormant, 115}, {New, 70}, {MachineOnly, 95},
	{HardBouncer, 30}, {BouncedChampion, 20}, {SoftBouncer, 30}, {MailboxBlocked, 20}, {SenderBlocked, 30},
	{Complainer, 25}, {Unsubscriber, 20}, {GroupUnsubscriber, 20}, {Resubscriber, 30},
}

// StarRange is the range of stars a persona should get.
type StarRange struct {
	Min, Max int
	Why      string // the contact-rating article's definition it follows from
}

// Expected gives each persona the stars Mailchimp's contact-rating article
// assigns its behaviour (5 stars "opens or clicks your campaigns very
// consistently", 4 "often", 3 "opens or clicks but is not consistently
// engaged", 2 "no engagement: a new contact, or a previously engaged
// contact who's gone dormant", 1 "unsubscribed and resubscribed, or soft
// bounced in the past"; negative scores only for complaints and bounces;
// a highly rated contact that hard-bounces is reset to 0), plus the rules
// the issue adds: an unsubscribed contact is never above 2 stars, and a
// block the sender caused does not lower a contact. Where a behaviour
// lies between two definitions (85% is more than "often", 45% more than
// "not consistently") the range holds both.
var Expected = map[Persona]StarRange{
	Champion:          {4, 5, "opens 85%: very consistently (5), often (4) after a missed mail"},
	Engaged:           {3, 4, "opens 45%: often (4), not consistently (3)"},
	EngagedDaily:      {3, 4, "as engaged, on a daily list: the same share, the same stars"},
	EngagedWeekly:     {3, 4, "as engaged, on a weekly list"},
	EngagedMonthly:    {3, 4, "as engaged, on a monthly list"},
	Low:               {2, 3, "opens 10%: not consistently engaged (3), or dormant between opens (2)"},
	Dormant:           {2, 2, "a previously engaged contact who's gone dormant"},
	New:               {2, 2, "no engagement: most likely a new contact"},
	MachineOnly:       {2, 2, "no engagement (machine opens are not a person's)"},
	HardBouncer:       {1, 1, "its address bounced: a negative score"},
	BouncedChampion:   {2, 2, "a highly rated contact that hard-bounced: reset to zero"},
	SoftBouncer:       {1, 1, "soft bounced in the past"},
	MailboxBlocked:    {1, 1, "soft bounced in the past (its mailbox was unavailable)"},
	SenderBlocked:     {3, 4, "as engaged: the sender's own blocks do not lower it"},
	Complainer:        {1, 1, "filed a complaint: a negative score"},
	Unsubscriber:      {1, 2, "unsubscribed: never above 2 stars"},
	GroupUnsubscriber: {1, 2, "unsubscribed from a group: never above 2 stars"},
	Resubscriber:      {1, 1, "unsubscribed and resubscribed"},
}

// Format is an output format.
type Format string

// Output formats.
const (
	NDJSON  Format = "ndjson"  // one event object per line
	Webhook Format = "webhook" // one JSON array (a webhook POST body, 1..50 events) per line
	CSV     Format = "csv"     // CSV with a header row
)

// Config sets up a generated data set. Zero fields take the defaults.
type Config struct {
	Seed     uint64    // the same seed and config give the same bytes
	Contacts int       // default 1000
	Days     int       // history length; default 180
	End      time.Time // end of the history; default 2026-11-01T00:00:00Z
	Format   Format    // default NDJSON
	// DupRate is the share of events delivered more than once; default
	// 0.015. Negative means none.
	DupRate float64
	// Disorder is the share of events delivered late (out of order);
	// default 0.02. Negative means none.
	Disorder float64
}

func (c *Config) defaults() {
	if c.Contacts <= 0 {
		c.Contacts = 1000
	}
	if c.Days <= 0 {
		c.Days = 180
	}
	if c.End.IsZero() {
		c.End = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Format == "" {
		c.Format = NDJSON
	}
	if c.DupRate == 0 {
		c.DupRate = 0.015
	}
	if c.Disorder == 0 {
		c.Disorder = 0.02
	}
}

// Stats describes what Write produced.
type Stats struct {
	Events     int64           // events written, duplicates included
	Duplicates int64           // extra copies of an event
	Bytes      int64           // bytes written
	Personas   map[Persona]int // contacts by persona
}

// list is a mailing list with a cadence.
type list struct {
	name     string
	every    int // days between sends
	offset   int // day of the first send
	hour     int
	asmGroup int
	subShare float64
	category string
}

var lists = []list{
	{"daily-deals", 1, 0, 7, 101, 0.022, "deals"},
	{"weekly-news", 7, 2, 9, 102, 0.38, "newsletter"},
	{"monthly-digest", 30, 5, 15, 103, 0.4, "digest"},
}

// contact is the generator's state for one contact.
type contact struct {
	email   string
	persona Persona
	lists   []int
	join    int // first day on the lists
	stop    int // dormant: last day of engagement; others: day of the terminal event
	resub   int // resubscriber: day of the resubscribe
	gone    bool
	// dropList is a list whose mail is dropped (group unsubscribe) until
	// day dropUntil; -1 for none.
	dropList  int
	dropUntil int
}

var (
	firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin"}
	lastNames  = []string{"smith", "jones", "garcia", "miller", "davis", "martin", "lee", "walker", "hall", "young", "king", "wright", "lopez", "hill", "scott", "green"}
	domains    = []string{"gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com", "example.org", "proton.me"}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
		"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
	}
	machineUA     = "Mozilla/5.0"
	tiers         = []string{"free", "silver", "gold", "platinum"}
	hardClasses   = []string{"Invalid Address", "Mailbox Unavailable", "Invalid Address"}
	softClasses   = []string{"Mailbox Unavailable", "Unclassified", "Mailbox Unavailable"}
	senderClasses = []string{"Reputation", "Content", "Frequency or Volume Too High", "Technical"}
)

func email(i int, h uint64) string {
	fn := firstNames[h%uint64(len(firstNames))]
	ln := lastNames[(h/7)%uint64(len(lastNames))]
	d := domains[(h/131)%uint64(len(domains))]
	return fn + "." + ln + strconv.Itoa(i) + "@" + d
}

// PersonaOf returns the persona of contact i under seed; Write uses it.
func PersonaOf(seed uint64, i int) Persona {
	r := rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15+1))
	x := r.IntN(1000)
	for _, p := range Personas {
		if x < p.PerMil {
			return p.Persona
		}
		x -= p.PerMil
	}
	return Engaged
}

// ev is one event before encoding.
type ev struct {
	ts      int64
	kind    string
	c       int32
	list    int8
	send    int32 // send number (for ids)
	seq     uint32
	btype   string
	class   string
	machine bool
	ua      int8
	url     int8
}

// Write generates the data set described by cfg into w.
func Write(ctx context.Context, w io.Writer, cfg Config) (Stats, error) {
	cfg.defaults()
	st := Stats{Personas: map[Persona]int{}}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	start := cfg.End.AddDate(0, 0, -cfg.Days)
	contacts, subs := newContacts(cfg)
	for i := range contacts {
		st.Personas[contacts[i].persona]++
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := encoder{cfg: cfg, contacts: contacts, w: bw}
	if cfg.Format == CSV {
		enc.csvHeader()
	}
	// Events are bucketed by day; each day is flushed once no later send
	// can add to it (opens come up to 3 days after a send).
	buckets := make([][]ev, cfg.Days+8)
	var seq uint32
	flushed := 0 // buckets before this one are written
	endUnix := cfg.End.Unix()
	add := func(e ev) {
		if e.ts >= endUnix {
			return // after the end of the history
		}
		d := int((e.ts - start.Unix()) / 86400)
		d = max(d, flushed) // very late: delivered out of order
		if d >= len(buckets) {
			return
		}
		seq++
		e.seq = seq
		buckets[d] = append(buckets[d], e)
	}
	flush := func(d int) error {
		b := buckets[d]
		buckets[d] = nil
		flushed = d + 1
		slices.SortFunc(b, func(x, y ev) int { return int(x.ts - y.ts) })
		if cfg.Disorder > 0 {
			for i := range b {
				if rng.Float64() < cfg.Disorder {
					j := min(len(b)-1, i+1+rng.IntN(2000))
					b[i], b[j] = b[j], b[i]
				}
			}
		}
		for i := 0; i < len(b); {
			n := 1
			if cfg.Format == Webhook {
				n = 1 + rng.IntN(50)
			}
			batch := b[i:min(len(b), i+n)]
			var extra []ev
			for _, e := range batch {
				if cfg.DupRate > 0 && rng.Float64() < cfg.DupRate {
					copies := 1 + rng.IntN(3)
					if rng.IntN(20) == 0 {
						copies = 10 + rng.IntN(30) // a webhook retry storm
					}
					for range copies {
						extra = append(extra, e)
					}
					st.Duplicates += int64(copies)
				}
			}
			if err := enc.batch(batch); err != nil {
				return err
			}
			if len(extra) > 0 {
				// Retries come later: into the next day when there is one.
				if d+1 < len(buckets) && d+1 <= cfg.Days {
					buckets[d+1] = append(buckets[d+1], extra...)
				} else if err := enc.batch(extra); err != nil {
					return err
				}
			}
			i += len(batch)
		}
		return nil
	}

	for day := 0; day < cfg.Days; day++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		for li, l := range lists {
			if day < l.offset || (day-l.offset)%l.every != 0 {
				continue
			}
			sendNo := int32((day - l.offset) / l.every)
			base := start.AddDate(0, 0, day).Add(time.Duration(l.hour) * time.Hour).Unix()
			for _, ci := range subs[li] {
				c := &contacts[ci]
				if day < c.join {
					continue
				}
				r := rand.New(rand.NewPCG(cfg.Seed^uint64(day)<<20^uint64(li), uint64(ci)))
				t := base + int64(r.IntN(3600))
				e := ev{c: ci, list: int8(li), send: sendNo}
				e.ts, e.kind = t, "processed"
				add(e)
				if c.gone || (li == c.dropList && day < c.dropUntil) {
					e.ts, e.kind = t+1, "dropped"
					add(e)
					continue
				}
				simulate(c, day, li, t, e, r, add)
			}
		}
		// Days before day-3 are complete.
		if day >= 4 {
			if err := flush(day - 4); err != nil {
				return st, err
			}
		}
	}
	for d := max(0, cfg.Days-4); d < len(buckets); d++ {
		if err := flush(d); err != nil {
			return st, err
		}
	}
	st.Events = enc.events
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("gen: write: %w", err)
	}
	st.Bytes = enc.n
	return st, enc.err
}

// Member is a generated contact: its address as written (possibly
// mixed-case) and its persona.
type Member struct {
	Email   string  // as written in the events
	Persona Persona // how the contact behaves
}

// Roster returns the contacts Write generates for cfg, the ground truth
// for tests.
func Roster(cfg Config) []Member {
	cfg.defaults()
	contacts, _ := newContacts(cfg)
	out := make([]Member, len(contacts))
	for i, c := range contacts {
		out[i] = Member{Email: c.email, Persona: c.persona}
	}
	return out
}

func newContacts(cfg Config) ([]contact, [][]int32) {
	contacts := make([]contact, cfg.Contacts)
	subs := make([][]int32, len(lists))
	for i := range contacts {
		r := rand.New(rand.NewPCG(cfg.Seed^0xc0ffee, uint64(i)))
		c := &contacts[i]
		c.persona = PersonaOf(cfg.Seed, i)
		h := r.Uint64()
		c.email = email(i, h)
		if c.persona == MachineOnly && r.IntN(3) > 0 {
			c.email = strings.Split(c.email, "@")[0] + "@icloud.com"
		}
		if r.IntN(50) == 0 {
			c.email = strings.ToUpper(c.email[:1]) + c.email[1:]
		}
		// Established contacts joined in the first half (so each has had
		// mail enough to show its behaviour); New ones in the last three
		// weeks.
		if r.IntN(10) < 4 {
			c.join = 0
		} else {
			c.join = r.IntN(max(1, cfg.Days/2))
		}
		c.dropList = -1
		// The day of the terminal event (bounce, complaint, unsubscribe)
		// leaves a month and more for it to happen and show.
		late := max(c.join, cfg.Days-52)
		c.stop = c.join + r.IntN(max(1, late-c.join))
		switch c.persona {
		case New:
			c.join = max(0, cfg.Days-1-r.IntN(21))
		case Dormant:
			c.join = min(c.join, cfg.Days/3)
			c.stop = c.join + r.IntN(max(1, cfg.Days/2-c.join))
		case BouncedChampion:
			// Late, so it is highly rated when it bounces.
			c.join = 0
			c.stop = max(c.join, late-r.IntN(max(1, cfg.Days/8)))
		case MailboxBlocked:
			// Within the last 150 days: the block still counts at the end.
			c.stop = max(c.stop, cfg.Days-150)
		}
		c.resub = c.stop + 1 + r.IntN(20)
		for li, l := range lists {
			if r.Float64() < l.subShare {
				c.lists = append(c.lists, li)
			}
		}
		switch c.persona {
		case EngagedDaily:
			c.lists = []int{0}
		case EngagedWeekly:
			c.lists = []int{1}
		case EngagedMonthly:
			c.lists = []int{2}
		}
		if len(c.lists) == 0 {
			c.lists = append(c.lists, 2)
		}
		for _, li := range c.lists {
			subs[li] = append(subs[li], int32(i))
		}
	}

	return contacts, subs
}

// simulate adds the events that send of list li produces for contact c.
func simulate(c *contact, day, li int, t int64, e ev, r *rand.Rand, add func(ev)) {
	hours := func(mean float64) int64 { return int64(r.ExpFloat64() * mean * 3600) }
	deliver := func() {
		e.ts, e.kind = t+2+int64(r.IntN(30)), "delivered"
		add(e)
	}
	open := func(p, pclick float64) {
		if r.Float64() >= p {
			return
		}
		o := e
		o.ts, o.kind = t+60+hours(6), "open"
		o.ua = int8(r.IntN(len(userAgents)))
		add(o)
		if r.IntN(4) == 0 {
			o.ts += hours(12)
			add(o) // a second open of the same mail
		}
		if r.Float64() < pclick {
			k := o
			k.ts, k.kind = o.ts+30+int64(r.IntN(600)), "click"
			k.url = int8(r.IntN(4))
			add(k)
		}
	}
	addKind := func(ts int64, kind string) {
		x := e
		x.ts, x.kind = ts, kind
		add(x)
	}
	block := func(classes []string) {
		b := e
		b.ts, b.kind, b.btype = t+3, "bounce", "blocked"
		b.class = classes[r.IntN(len(classes))]
		add(b)
	}
	switch c.persona {
	case Champion:
		deliver()
		open(0.85, 0.4)
	case Engaged, EngagedDaily, EngagedWeekly, EngagedMonthly:
		deliver()
		open(0.45, 0.2)
	case Low:
		deliver()
		open(0.1, 0.1)
	case Dormant:
		deliver()
		if day <= c.stop {
			open(0.6, 0.2)
		}
	case New:
		deliver()
	case MachineOnly:
		deliver()
		if r.Float64() < 0.95 {
			m := e
			m.ts, m.kind, m.machine = t+5+int64(r.IntN(120)), "open", true
			add(m)
		}
	case HardBouncer, BouncedChampion:
		if day >= c.stop {
			b := e
			b.ts, b.kind, b.btype = t+3, "bounce", "bounce"
			b.class = hardClasses[r.IntN(len(hardClasses))]
			add(b)
			c.gone = true
			return
		}
		deliver()
		if c.persona == BouncedChampion {
			open(0.9, 0.5) // highly rated before the bounce: reset to 0
		} else {
			open(0.2, 0.1)
		}
	case SoftBouncer:
		if r.IntN(6) == 0 || (day >= c.stop && c.resub > 0) {
			block(softClasses)
			c.resub = 0 // at least once
			return
		}
		if r.IntN(5) == 0 {
			addKind(t+2, "deferred")
		}
		deliver()
		open(0.3, 0.1)
	case MailboxBlocked:
		if day >= c.stop && c.resub > 0 {
			block([]string{"Mailbox Unavailable"})
			c.resub = 0 // once
			return
		}
		deliver()
		open(0.45, 0.2)
	case SenderBlocked:
		if r.IntN(10) == 0 {
			block(senderClasses)
			return
		}
		deliver()
		open(0.45, 0.2)
	case Complainer:
		deliver()
		if day >= c.stop {
			addKind(t+600+hours(4), "spamreport")
			c.gone = true
			return
		}
		open(0.2, 0.05)
	case Unsubscriber:
		deliver()
		if day >= c.stop {
			addKind(t+300+hours(3), "unsubscribe")
			c.gone = true
			return
		}
		open(0.25, 0.1)
	case GroupUnsubscriber:
		deliver()
		if day >= c.stop && c.dropList < 0 {
			addKind(t+300+hours(3), "group_unsubscribe")
			c.dropList, c.dropUntil = li, 1<<30
			return
		}
		open(0.25, 0.1)
	case Resubscriber:
		deliver()
		switch {
		case day >= c.stop && c.resub > 0 && c.resub < 1<<30:
			ts := t + 300 + hours(3)
			addKind(ts, "group_unsubscribe")
			wait := c.resub - c.stop // 1..20 days after the unsubscribe
			addKind(ts+int64(wait)*86400, "group_resubscribe")
			c.dropList, c.dropUntil = li, day+wait
			c.resub = 1 << 30 // once
		default:
			open(0.35, 0.1)
		}
	}
}
