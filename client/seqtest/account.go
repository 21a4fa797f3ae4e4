package seqtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/sgseq/sgseq/client"
)

// ParentAccount is the account name [Planted] uses for the parent account.
// It equals the monitor's alert.ParentAccount.
const ParentAccount = "(parent)"

// Kinds of [Planted] events.
const (
	KindDrop        = "drop"        // the score fell by ≥1 against the previous scored day
	KindMetric      = "metric"      // a metric fell to ≤2, or fell by ≥2
	KindFloor       = "floor"       // the score is ≤2
	KindEligibility = "eligibility" // an account that had scores has none for 3 consecutive days
	KindOutlier     = "outlier"     // a subuser ≥2 below the median score of the pool it shares
)

// Account is the state of one simulated SendGrid parent account: the parent
// itself, its subusers, its dedicated IPs and its IP pools.
//
// The server serves Histories read-only (several subjects may share one
// History slice, see [GenerateAccount]); IPs and Pools change under the
// mutating IP routes. [NewServer] copies IPs and Pools, so mutations never
// leak back into the Account value a test built.
type Account struct {
	// Parent is the account the API key belongs to (no on-behalf-of).
	Parent Subject
	// Subusers are the parent's subusers, in any order.
	Subusers []Subject
	// Customers are accounts reachable with "on-behalf-of: account-id <UserID>".
	Customers []Subject
	// IPs are the account's dedicated IP addresses.
	IPs []IPAddr
	// Pools are the names of the account's IP pools.
	Pools []string
	// End is the last day any History covers.
	End client.Date

	planted []Planted
}

// Subject is one account that has SEQ scores: the parent, a subuser or a
// customer account.
type Subject struct {
	// ID is the numeric user id; subusers are paged by it.
	ID int64
	// UserID is the user_id the API returns; empty means strconv of ID.
	UserID string
	// Username is the account's username (the on-behalf-of value).
	Username string
	// Email is the contact address the subusers API lists.
	Email string
	// Disabled marks a disabled subuser.
	Disabled bool
	// Region is "global" (or empty) or "eu".
	Region string
	// History holds one Day per calendar day, in ascending date order.
	History []Day
}

// userID returns the user_id the API reports for s.
func (s *Subject) userID() string {
	if s.UserID != "" {
		return s.UserID
	}
	return strconv.FormatInt(s.ID, 10)
}

// region returns s.Region with the empty value spelled "global".
func (s *Subject) region() string {
	if s.Region == "" {
		return "global"
	}
	return s.Region
}

// Day is one day of a subject's history. A nil Score means the account was
// not eligible that day (the API then omits score and metrics).
type Day struct {
	// Date is the UTC day.
	Date client.Date
	// Score is the overall score, 1–5; nil on an ineligible day.
	Score *float64
	// Metrics are the five component ratings; nil on an ineligible day.
	Metrics *client.Metrics
}

// IPAddr is a dedicated IP: the pools it belongs to and the subusers that
// send through it.
type IPAddr struct {
	// IP is the address.
	IP string
	// Pools are the names of the pools it belongs to.
	Pools []string
	// Subusers are the usernames allowed to send through it.
	Subusers []string
	// Warmup reports whether the IP is warming up.
	Warmup bool
}

// Planted is one event an account's history was built to contain: the
// ground truth a monitor's detection is checked against.
type Planted struct {
	// Account is the subuser's username, or [ParentAccount].
	Account string
	// Date is the first day the condition holds.
	Date client.Date
	// Kind is one of KindDrop, KindMetric, KindFloor, KindEligibility, KindOutlier.
	Kind string
	// Metric names the metric for KindMetric.
	Metric client.Metric
	// From and To are the values before and at Date: scores for drop and
	// floor, the metric for metric, the last score and 0 for eligibility,
	// the pool's median score and the subuser's score for outlier.
	From, To float64
}

// Planted returns the events the account's histories were built to contain,
// ordered by date then account then kind. Accounts built by hand return nil.
func (a *Account) Planted() []Planted {
	return slices.Clone(a.planted)
}

// dayAt returns the Day of h for date d, if h has one.
func dayAt(h []Day, d client.Date) (Day, bool) {
	if len(h) == 0 {
		return Day{}, false
	}
	i := d.DaysSince(h[0].Date)
	if i >= 0 && i < len(h) && h[i].Date == d {
		return h[i], true
	}
	// Not contiguous: binary search.
	j, ok := slices.BinarySearchFunc(h, d, func(x Day, t client.Date) int { return x.Date.Compare(t) })
	if !ok {
		return Day{}, false
	}
	return h[j], true
}

// level is a score with its metrics.
type level struct {
	score float64
	m     client.Metrics
}

func lv(score, er, or, bc, br, sr float64) *level {
	return &level{score: score, m: client.Metrics{EngagementRecency: er, OpenRate: or, BounceClassification: bc, BounceRate: br, SpamRate: sr}}
}

// change switches a history to lvl (nil = ineligible) from day end-ago on.
type change struct {
	ago int
	lvl *level
}

// buildHistory returns days daily entries ending at end: base from the
// start, then each change from its day on. Days with equal levels share
// their Score and Metrics pointers.
func buildHistory(end client.Date, days int, base *level, changes ...change) []Day {
	h := make([]Day, days)
	start := end.AddDays(-(days - 1))
	cur := base
	ci := 0
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b change) int { return b.ago - a.ago })
	var score *float64
	var metrics *client.Metrics
	var ptrFor *level
	for i := range h {
		ago := days - 1 - i
		for ci < len(sorted) && sorted[ci].ago >= ago {
			cur = sorted[ci].lvl
			ci++
		}
		h[i].Date = start.AddDays(i)
		if cur == nil {
			continue
		}
		if cur != ptrFor {
			score = client.Float(cur.score)
			m := cur.m
			metrics = &m
			ptrFor = cur
		}
		h[i].Score, h[i].Metrics = score, metrics
	}
	return h
}

// demoUser describes one subuser of the demo account.
type demoUser struct {
	name     string
	pool     string // "" = no pool
	base     *level
	changes  []change
	disabled bool
	region   string
	ips      int // how many of the pool's IPs it sends through (default 1)
}

// DemoAccount returns the deterministic demo account: a parent, 36
// subusers with realistic names, one customer account (account-id "7001"),
// 120 days of history ending at end, 8 dedicated IPs in three pools
// ("transactional", "marketing", "shared") plus one EU IP outside any pool.
//
// Accounts without an event keep a constant score (5 in "transactional", 4
// in "marketing", mostly 3 in "shared") and constant metrics of 3 or more,
// so the monitor's default rules (drop ≥1, baseline ≥1 below the trailing
// 7-day median, floor ≤2, metric ≤2 or a fall ≥2, eligibility after 3
// days without a score) fire only on the planted events. All events happen
// in the last 30 days. E is end:
//
//	account            pool           day    event                                   Planted
//	(parent)           -              E-2    score 4→3, persists                     drop 4→3
//	acme-news          marketing      E-12   score 5→3, persists (metrics fall by 1) drop 5→3 (critical)
//	daily-deals        marketing      E-22   score 4→3, persists                     drop 4→3
//	citybike-rentals   transactional  E-20   score 5→4, back to 5 on E-17            drop 5→4
//	petcare-mail       marketing      E-9    spam_rate 5→1, score 4→3, persists      metric spam_rate 5→1; drop 4→3
//	bookworm-club      transactional  E-5    open_rate 5→3, score stays 5            metric open_rate 5→3
//	lastminute-travel  shared         E-7    score 3→2, persists (metrics 3)         drop 3→2; floor 3→2
//	garden-supply      marketing      E-16   ineligible E-16..E-13, back at 4 on E-12 eligibility on E-14 (4→0)
//	summer-promo       shared         E-4    ineligible from E-4 to E                eligibility on E-2 (3→0)
//	bargain-blast      transactional  E-6    score 5→3, persists; pool median 5      drop 5→3 (critical); outlier 5→3
//
// Non-events (nothing may fire): pixel-studio is ineligible for only two
// days (E-25, E-24) and comes back at the same score; fresh-start has no
// score until E-4 (never had scores, so no eligibility alert; a "too new"
// sender for the pool planner, with no IP yet); old-newsletter (disabled)
// never has a score; legacy-alerts (disabled) is constant; eu-retail (region
// eu, on the EU IP, no pool) is constant at 5. Every drop also puts the
// score ≥1 below its trailing 7-day median for a few days (the baseline
// rule) starting on the drop day.
func DemoAccount(end client.Date) *Account {
	const days = 120
	high := lv(5, 5, 5, 5, 5, 5)
	high2 := lv(5, 5, 4, 5, 5, 5)
	mid := lv(4, 4, 4, 5, 5, 4)
	mid2 := lv(4, 4, 3, 5, 4, 5)
	low := lv(3, 3, 3, 4, 4, 3)
	low2 := lv(3, 3, 3, 4, 3, 4)

	users := []demoUser{
		// transactional: stable high senders.
		{name: "shopfront-tx", pool: "transactional", base: high, ips: 2},
		{name: "citybike-rentals", pool: "transactional", base: high,
			changes: []change{{20, lv(4, 4, 4, 5, 5, 5)}, {17, high}}},
		{name: "bookworm-club", pool: "transactional", base: high,
			changes: []change{{5, lv(5, 5, 3, 5, 5, 5)}}},
		{name: "bargain-blast", pool: "transactional", base: high,
			changes: []change{{6, lv(3, 4, 4, 4, 5, 4)}}},
		{name: "payroll-notices", pool: "transactional", base: high2},
		{name: "clinic-reminders", pool: "transactional", base: high},
		{name: "bank-statements", pool: "transactional", base: high2, ips: 2},
		{name: "ticket-desk", pool: "transactional", base: high},
		{name: "parcel-tracking", pool: "transactional", base: high2},
		{name: "login-codes", pool: "transactional", base: high},
		// marketing: stable mid senders.
		{name: "acme-news", pool: "marketing", base: high,
			changes: []change{{12, lv(3, 4, 4, 5, 4, 4)}}},
		{name: "daily-deals", pool: "marketing", base: mid,
			changes: []change{{22, lv(3, 3, 3, 5, 5, 4)}}},
		{name: "petcare-mail", pool: "marketing", base: mid2,
			changes: []change{{9, lv(3, 4, 3, 5, 4, 1)}}},
		{name: "garden-supply", pool: "marketing", base: mid,
			changes: []change{{16, nil}, {12, mid}}},
		{name: "pixel-studio", pool: "marketing", base: mid2,
			changes: []change{{25, nil}, {23, mid2}}},
		{name: "fashion-weekly", pool: "marketing", base: mid, ips: 2},
		{name: "coffee-roasters", pool: "marketing", base: mid2},
		{name: "homedecor-sale", pool: "marketing", base: mid},
		{name: "fitness-tips", pool: "marketing", base: mid2},
		{name: "recipe-box", pool: "marketing", base: mid},
		{name: "wine-cellar", pool: "marketing", base: mid2},
		{name: "kids-books", pool: "marketing", base: mid},
		// shared: stable low senders and a few mid ones.
		{name: "lastminute-travel", pool: "shared", base: low,
			changes: []change{{7, lv(2, 3, 3, 3, 3, 3)}}},
		{name: "summer-promo", pool: "shared", base: low,
			changes: []change{{4, nil}}},
		{name: "coupon-corner", pool: "shared", base: low2},
		{name: "event-invites", pool: "shared", base: mid},
		{name: "survey-panel", pool: "shared", base: low},
		{name: "print-shop", pool: "shared", base: low2},
		{name: "auto-parts", pool: "shared", base: mid2},
		{name: "game-updates", pool: "shared", base: low},
		{name: "local-events", pool: "shared", base: low2},
		{name: "music-fest", pool: "shared", base: mid},
		{name: "legacy-alerts", pool: "shared", base: mid, disabled: true},
		// outside the pools.
		{name: "old-newsletter", base: nil, disabled: true},
		{name: "eu-retail", pool: "eu", base: high, region: "eu"},
		{name: "fresh-start", base: nil, changes: []change{{4, mid}}},
	}

	a := &Account{
		Parent: Subject{ID: 4200000, Username: "sgseq-demo", Email: "ops@sgseq-demo.example",
			History: buildHistory(end, days, mid, change{2, lv(3, 3, 4, 5, 4, 4)})},
		Customers: []Subject{{ID: 7001, Username: "customer-7001", Email: "admin@customer-7001.example",
			History: buildHistory(end, days, high2)}},
		Pools: []string{"transactional", "marketing", "shared"},
		End:   end,
	}
	poolIPs := map[string][]string{
		"transactional": {"198.51.100.11", "198.51.100.12"},
		"marketing":     {"198.51.100.21", "198.51.100.22", "198.51.100.23"},
		"shared":        {"198.51.100.31", "198.51.100.32"},
		"eu":            {"203.0.113.41"},
	}
	ipSubs := map[string][]string{}
	next := map[string]int{}
	for i, u := range users {
		a.Subusers = append(a.Subusers, Subject{
			ID:       4200101 + int64(i),
			Username: u.name,
			Email:    "postmaster@" + u.name + ".example",
			Disabled: u.disabled,
			Region:   u.region,
			History:  buildHistory(end, days, u.base, u.changes...),
		})
		ips := poolIPs[u.pool]
		n := max(u.ips, 1)
		for k := 0; k < n && len(ips) > 0; k++ {
			ip := ips[next[u.pool]%len(ips)]
			next[u.pool]++
			ipSubs[ip] = append(ipSubs[ip], u.name)
		}
	}
	for _, pool := range []string{"transactional", "marketing", "shared", "eu"} {
		for _, ip := range poolIPs[pool] {
			addr := IPAddr{IP: ip, Subusers: ipSubs[ip], Warmup: ip == "198.51.100.32"}
			if pool != "eu" {
				addr.Pools = []string{pool}
			}
			if addr.Subusers == nil {
				addr.Subusers = []string{}
			}
			a.IPs = append(a.IPs, addr)
		}
	}

	d := func(ago int) client.Date { return end.AddDays(-ago) }
	a.planted = []Planted{
		{Account: ParentAccount, Date: d(2), Kind: KindDrop, From: 4, To: 3},
		{Account: "acme-news", Date: d(12), Kind: KindDrop, From: 5, To: 3},
		{Account: "daily-deals", Date: d(22), Kind: KindDrop, From: 4, To: 3},
		{Account: "citybike-rentals", Date: d(20), Kind: KindDrop, From: 5, To: 4},
		{Account: "petcare-mail", Date: d(9), Kind: KindMetric, Metric: client.MetricSpamRate, From: 5, To: 1},
		{Account: "petcare-mail", Date: d(9), Kind: KindDrop, From: 4, To: 3},
		{Account: "bookworm-club", Date: d(5), Kind: KindMetric, Metric: client.MetricOpenRate, From: 5, To: 3},
		{Account: "lastminute-travel", Date: d(7), Kind: KindDrop, From: 3, To: 2},
		{Account: "lastminute-travel", Date: d(7), Kind: KindFloor, From: 3, To: 2},
		{Account: "garden-supply", Date: d(14), Kind: KindEligibility, From: 4, To: 0},
		{Account: "summer-promo", Date: d(2), Kind: KindEligibility, From: 3, To: 0},
		{Account: "bargain-blast", Date: d(6), Kind: KindDrop, From: 5, To: 3},
		{Account: "bargain-blast", Date: d(6), Kind: KindOutlier, From: 5, To: 3},
	}
	sortPlanted(a.planted)
	return a
}

func sortPlanted(p []Planted) {
	slices.SortStableFunc(p, func(x, y Planted) int {
		if c := x.Date.Compare(y.Date); c != 0 {
			return c
		}
		if x.Account != y.Account {
			if x.Account < y.Account {
				return -1
			}
			return 1
		}
		if x.Kind < y.Kind {
			return -1
		}
		if x.Kind > y.Kind {
			return 1
		}
		return 0
	})
}

// generated profile kinds.
const (
	profConstant = iota
	profDrop
	profMetric
	profGap
	profKinds
)

type profile struct {
	kind    int
	tier    int // 0 high (5), 1 mid (4), 2 low (3)
	ago     int
	history []Day
}

// GenerateAccount returns a large deterministic account for benchmarks:
// subusers subusers named "sub-00001"…, each with days days of history
// ending at end, spread over three pools ("high", "mid", "low") on six IPs.
//
// Histories are drawn from a small set of shared profiles (the History
// slices are shared between subusers and must be treated as read-only), so
// 10,000 subusers × 90 days build in milliseconds. About 70% of subusers are
// constant; the rest have, within the last min(30, days-1) days, a drop of 1
// that persists, a spam_rate fall 5→1 with a score drop of 1, or 3 or 4
// ineligible days. Planted lists each of those events (drop, metric and
// drop, eligibility on the third ineligible day). Pools group subusers by
// level and drops are of 1 only, so no generated subuser is a pool outlier.
// The parent is constant at 4.
func GenerateAccount(seed int64, subusers, days int, end client.Date) *Account {
	if days < 1 {
		days = 1
	}
	subusers = max(subusers, 0)
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	levels := []*level{lv(5, 5, 5, 5, 5, 5), lv(4, 4, 4, 5, 5, 4), lv(3, 3, 3, 4, 4, 3)}
	dropped := []*level{lv(4, 4, 4, 5, 5, 5), lv(3, 3, 3, 5, 5, 4), lv(2, 3, 3, 3, 3, 3)}
	window := min(30, days-1)

	const perKind = 16
	var profiles []profile
	for tier := range levels {
		for kind := range profKinds {
			n := perKind
			if kind == profConstant {
				n = 1
			}
			for range n {
				p := profile{kind: kind, tier: tier}
				if window > 0 {
					p.ago = rng.IntN(window) + 1
					if p.ago > days-2 {
						p.ago = days - 2
					}
				}
				base := levels[tier]
				if kind == profGap {
					// A gap needs ≥4 days to the end and a scored day before it.
					p.ago = max(p.ago, 4)
				}
				switch {
				case kind == profConstant || window < 4 || p.ago > days-2 || (tier == 2 && kind != profGap):
					// Low senders dropping would hit the floor; keep them constant.
					p.kind = profConstant
					p.history = buildHistory(end, days, base)
				case kind == profDrop:
					p.history = buildHistory(end, days, base, change{p.ago, dropped[tier]})
				case kind == profMetric:
					m := *dropped[tier]
					m.m.SpamRate = 1
					p.history = buildHistory(end, days, base, change{p.ago, &m})
				case kind == profGap:
					gap := 3 + rng.IntN(2)
					back := max(p.ago-gap, 0)
					if back == 0 {
						p.history = buildHistory(end, days, base, change{p.ago, nil})
					} else {
						p.history = buildHistory(end, days, base, change{p.ago, nil}, change{back, base})
					}
				}
				profiles = append(profiles, p)
			}
		}
	}
	// The constant profile of each tier serves the 70% share.
	constProfile := make([]int, len(levels))
	for i, p := range profiles {
		if p.kind == profConstant && len(p.history) > 0 && profiles[constProfile[p.tier]].tier != p.tier {
			constProfile[p.tier] = i
		}
	}

	tierPools := []string{"high", "mid", "low"}
	a := &Account{
		Parent: Subject{ID: 1, Username: "generated-parent", Email: "parent@generated.example",
			History: buildHistory(end, days, levels[1])},
		Pools: slices.Clone(tierPools),
		End:   end,
	}
	ipNames := [][]string{{"10.0.0.1", "10.0.0.2"}, {"10.0.1.1", "10.0.1.2"}, {"10.0.2.1", "10.0.2.2"}}
	ipSubs := make([][]string, 6)
	a.Subusers = make([]Subject, subusers)
	for i := range subusers {
		var p profile
		if rng.Float64() < 0.7 {
			tier := rng.IntN(len(levels))
			p = profiles[constProfile[tier]]
		} else {
			p = profiles[rng.IntN(len(profiles))]
		}
		name := fmt.Sprintf("sub-%05d", i+1)
		a.Subusers[i] = Subject{ID: int64(100000 + i), Username: name, Email: name + "@generated.example", History: p.history}
		ip := p.tier*2 + i%2
		ipSubs[ip] = append(ipSubs[ip], name)
		ago := func(n int) client.Date { return end.AddDays(-n) }
		from, to := levels[p.tier].score, dropped[p.tier].score
		switch p.kind {
		case profDrop:
			a.planted = append(a.planted, Planted{Account: name, Date: ago(p.ago), Kind: KindDrop, From: from, To: to})
		case profMetric:
			a.planted = append(a.planted,
				Planted{Account: name, Date: ago(p.ago), Kind: KindDrop, From: from, To: to},
				Planted{Account: name, Date: ago(p.ago), Kind: KindMetric, Metric: client.MetricSpamRate, From: levels[p.tier].m.SpamRate, To: 1})
		case profGap:
			a.planted = append(a.planted, Planted{Account: name, Date: ago(p.ago - 2), Kind: KindEligibility, From: from, To: 0})
		}
	}
	for t, ips := range ipNames {
		for k, ip := range ips {
			subs := ipSubs[t*2+k]
			if subs == nil {
				subs = []string{}
			}
			a.IPs = append(a.IPs, IPAddr{IP: ip, Pools: []string{tierPools[t]}, Subusers: subs})
		}
	}
	sortPlanted(a.planted)
	return a
}
