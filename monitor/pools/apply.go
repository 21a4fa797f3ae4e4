package pools

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sgseq/sgseq/client"
)

// DefaultMaxPlanAge is how old a plan [Prepare] accepts without
// ApplyOptions.Force.
const DefaultMaxPlanAge = 24 * time.Hour

// Kinds of [Call].
const (
	CallCreatePool = "create_pool"
	CallAssignIPs  = "assign_ips"
)

// Call is one mutating API call that applying a plan makes.
type Call struct {
	// Kind is CallCreatePool or CallAssignIPs.
	Kind string `json:"kind"`
	// Method, Path and Body are the HTTP request, as printed.
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   string `json:"body"`
	// Pool is the pool created, or the target pool of an assignment.
	Pool string `json:"pool"`
	// Username and IPs are the subuser and the IPs assigned to it
	// (CallAssignIPs only).
	Username string   `json:"username,omitempty"`
	IPs      []string `json:"ips,omitempty"`
	// From lists the subuser's pools before the move (CallAssignIPs only).
	From []string `json:"from,omitempty"`
}

// String returns "METHOD path body".
func (c Call) String() string { return c.Method + " " + c.Path + " " + c.Body }

// do makes the call through c.
func (c Call) do(ctx context.Context, cl *client.Client) error {
	switch c.Kind {
	case CallCreatePool:
		_, err := cl.CreatePool(ctx, c.Pool)
		return err
	case CallAssignIPs:
		_, err := cl.AssignSubuserIPs(ctx, c.Username, c.IPs)
		return err
	}
	return fmt.Errorf("pools: unknown call kind %q", c.Kind)
}

func createPoolCall(pool string) Call {
	b, _ := json.Marshal(client.Pool{Name: pool})
	return Call{Kind: CallCreatePool, Method: http.MethodPost, Path: "/v3/ips/pools", Body: string(b), Pool: pool}
}

func assignCall(username, pool string, ips, from []string) Call {
	b, _ := json.Marshal(append([]string{}, ips...))
	return Call{Kind: CallAssignIPs, Method: http.MethodPut, Path: "/v3/subusers/" + url.PathEscape(username) + "/ips",
		Body: string(b), Pool: pool, Username: username, IPs: slices.Clone(ips), From: slices.Clone(from)}
}

// ApplyOptions adjusts [Prepare].
type ApplyOptions struct {
	// MaxAge is the age beyond which a plan is refused as stale; 0 means
	// DefaultMaxPlanAge.
	MaxAge time.Duration
	// Force accepts a plan older than MaxAge. It never overrides a change
	// of a moved subuser's pools.
	Force bool
	// CreatePools lets apply create the target pools the account lacks
	// (and only that: a new pool has no IPs, so the moves into it wait).
	// Without it a missing pool refuses the plan before any call.
	CreatePools bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// StaleError is returned by [Prepare] for a plan that no longer matches
// the account. Problems lists every reason, one line each.
type StaleError struct {
	Problems []string
	// Applied is true when every subuser the plan moves already sends
	// through exactly its target pool: the plan was most likely applied
	// already.
	Applied bool
}

func (e *StaleError) Error() string {
	return "pools: stale plan, run \"sgseq pools plan\" again: " + strings.Join(e.Problems, "; ")
}

// InvalidPlanError is returned by [Prepare] and [ReadPlan] for a plan that
// cannot be applied as written.
type InvalidPlanError struct {
	Reason string
}

func (e *InvalidPlanError) Error() string { return "pools: invalid plan: " + e.Reason }

// Prepared is a plan checked against the account's current state, with
// the exact calls applying it makes. Preparing only reads.
type Prepared struct {
	// Plan is the plan being applied.
	Plan *Plan
	// Calls are the mutating calls [Prepared.Execute] makes, in order: one
	// IP assignment per move (by username), or, when Blocked is set, only
	// the missing pools to create (by name).
	Calls []Call
	// Blocked is set only with ApplyOptions.CreatePools when target pools
	// are missing or hold no IP: the pools are created, and no subuser is
	// moved. Waiting then lists the assignments that wait for IPs.
	Blocked *BlockedError
	Waiting []Call
}

// ReadPlan decodes a plan written by "sgseq pools plan -o json".
func ReadPlan(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("pools: read plan: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &InvalidPlanError{Reason: "empty file: want the JSON written by \"sgseq pools plan --out\""}
	}
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, &InvalidPlanError{Reason: "not plan JSON: " + planJSONError(data, err)}
	}
	if p.Version != PlanVersion {
		return nil, &InvalidPlanError{Reason: fmt.Sprintf("version %d, this sgseq reads version %d", p.Version, PlanVersion)}
	}
	if p.GeneratedAt.IsZero() {
		return nil, &InvalidPlanError{Reason: "no generated_at"}
	}
	seen := map[string]bool{}
	for i, s := range p.Subusers {
		if s.Username == "" {
			return nil, &InvalidPlanError{Reason: fmt.Sprintf("subusers[%d] has no username", i)}
		}
		if seen[s.Username] {
			return nil, &InvalidPlanError{Reason: fmt.Sprintf("subuser %s is listed twice", s.Username)}
		}
		seen[s.Username] = true
		if s.Move && s.TargetPool == "" {
			return nil, &InvalidPlanError{Reason: fmt.Sprintf("subuser %s moves to no target_pool", s.Username)}
		}
		if s.Move && len(s.TargetPool) > 64 {
			return nil, &InvalidPlanError{Reason: fmt.Sprintf("subuser %s: target_pool longer than 64 characters", s.Username)}
		}
		if s.Move && len(p.Tiers) > 0 && !slices.ContainsFunc(p.Tiers, func(t PlanTier) bool { return t.Pool == s.TargetPool }) {
			return nil, &InvalidPlanError{Reason: fmt.Sprintf("subuser %s moves to pool %q, which is the pool of none of the plan's tiers", s.Username, s.TargetPool)}
		}
	}
	return &p, nil
}

// planJSONError says where in data a JSON decoding error is: "line 3,
// column 14: ..." (and the field, for a value of the wrong type). The
// position is the character that made decoding fail (the last one of a
// value of the wrong type), or the end of the file.
func planJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var pos int64 // 0-based index of the offending byte
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		pos = syn.Offset - 1 // Offset counts the bytes read, the bad one included
		if syn.Offset >= int64(len(data)) {
			pos, msg = int64(len(data)), "unexpected end of file (truncated?)"
		}
	case errors.As(err, &typ):
		pos = typ.Offset - 1
		msg = fmt.Sprintf("%s: want %s, got %s", typ.Field, typ.Type, typ.Value)
	default:
		return msg
	}
	pos = min(max(pos, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:pos], []byte("\n"))
	col := int(pos) - bytes.LastIndexByte(data[:pos], '\n')
	return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
}

// Prepare checks everything applying plan needs and lists the calls it
// makes. It reads the IPs and pools APIs (and each target pool) but
// changes nothing.
//
// A plan is stale, and refused with a *[StaleError], when it is older than
// opts.MaxAge (unless opts.Force), or when a subuser it moves no longer
// sends through exactly the pools the plan recorded (whatever opts.Force).
// A plan whose target pools are missing or hold no IP is refused with a
// *[BlockedError] (with opts.CreatePools, see [Prepared.Blocked]). API
// errors are returned wrapped.
func Prepare(ctx context.Context, c *client.Client, plan *Plan, opts ApplyOptions) (*Prepared, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	maxAge := opts.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxPlanAge
	}
	if plan == nil {
		return nil, &InvalidPlanError{Reason: "no plan"}
	}
	var problems []string
	if age := now().Sub(plan.GeneratedAt); age > maxAge && !opts.Force {
		problems = append(problems, fmt.Sprintf("the plan is %s old (generated %s), more than %s (use --force to apply it anyway)",
			age.Round(time.Minute), plan.GeneratedAt.UTC().Format(time.RFC3339), maxAge))
	}
	state, err := LoadState(ctx, c)
	if err != nil {
		return nil, err
	}
	moves := plan.Moves()
	applied := len(moves) > 0
	for _, m := range moves {
		cur := state.PoolsOf(m.Username)
		atTarget := slices.Equal(cur, []string{m.TargetPool})
		applied = applied && atTarget
		if !slices.Equal(cur, normPools(m.CurrentPools)) {
			p := fmt.Sprintf("subuser %s sent through pools [%s] when planned, now [%s]",
				m.Username, strings.Join(m.CurrentPools, ", "), strings.Join(cur, ", "))
			if atTarget {
				p += " (already its target pool)"
			}
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return nil, &StaleError{Problems: problems, Applied: applied}
	}

	pr := &Prepared{Plan: plan}
	targets := map[string][]string{} // pool -> IPs; nil for a missing pool
	var missing, empty []string
	for _, m := range moves {
		if _, done := targets[m.TargetPool]; done {
			continue
		}
		if _, exists := state.Pools[m.TargetPool]; !exists {
			missing = append(missing, m.TargetPool)
			targets[m.TargetPool] = nil
			continue
		}
		d, err := c.Pool(ctx, m.TargetPool)
		if errors.Is(err, client.ErrNotFound) {
			missing = append(missing, m.TargetPool)
			targets[m.TargetPool] = nil
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pools: read pool %s: %w", m.TargetPool, err)
		}
		ips := make([]string, 0, len(d.IPs))
		for _, ip := range d.IPs {
			ips = append(ips, ip.IP)
		}
		slices.Sort(ips)
		targets[m.TargetPool] = slices.Compact(ips)
		if len(ips) == 0 {
			empty = append(empty, m.TargetPool)
		}
	}
	// In the order of the plan's tiers, best first.
	byTier := func(a, b string) int {
		ia := slices.IndexFunc(plan.Tiers, func(t PlanTier) bool { return t.Pool == a })
		ib := slices.IndexFunc(plan.Tiers, func(t PlanTier) bool { return t.Pool == b })
		return cmp.Or(cmp.Compare(ia, ib), strings.Compare(a, b))
	}
	slices.SortFunc(missing, byTier)
	slices.SortFunc(empty, byTier)
	if len(missing) > 0 || len(empty) > 0 {
		be := &BlockedError{Missing: missing, Empty: empty}
		if noTierPool(plan.ConfigTiers(), state) {
			be.Suggested, _ = suggestTiers(plan.ConfigTiers(), state, plan.Subusers)
		}
		if !opts.CreatePools {
			return nil, be
		}
		// Only the pools are created; every move waits for IPs.
		for _, p := range missing {
			pr.Calls = append(pr.Calls, createPoolCall(p))
		}
		be.Created = missing
		pr.Blocked = be
	}
	for _, m := range moves {
		call := assignCall(m.Username, m.TargetPool, targets[m.TargetPool], m.CurrentPools)
		if pr.Blocked != nil {
			pr.Waiting = append(pr.Waiting, call)
		} else {
			pr.Calls = append(pr.Calls, call)
		}
	}
	return pr, nil
}

func normPools(p []string) []string {
	out := slices.Clone(p)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ApplyError reports an apply that stopped at a failed call: which calls
// succeeded, which one failed and which were not attempted.
type ApplyError struct {
	Succeeded    []Call
	Failed       Call
	Err          error
	NotAttempted []Call
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("pools: apply stopped at call %d of %d (%s): %v; %d succeeded, %d not attempted",
		len(e.Succeeded)+1, len(e.Succeeded)+1+len(e.NotAttempted), e.Failed, e.Err, len(e.Succeeded), len(e.NotAttempted))
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Report writes the full account of the stopped apply to w, one call per
// line.
func (e *ApplyError) Report(w io.Writer) {
	fmt.Fprintf(w, "Apply stopped at the first failure.\n")
	fmt.Fprintf(w, "Succeeded (%d):\n", len(e.Succeeded))
	for _, c := range e.Succeeded {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "Failed (1):\n  %s\n    error: %v\n", e.Failed, e.Err)
	if e.Failed.Kind == CallAssignIPs {
		fmt.Fprintf(w, "    (the failed assignment may or may not have taken effect: check subuser %s)\n", e.Failed.Username)
	}
	fmt.Fprintf(w, "Not attempted (%d):\n", len(e.NotAttempted))
	for _, c := range e.NotAttempted {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "Run \"sgseq pools plan\" again to plan the remaining moves from the new state.\n")
}

// BlockedError is returned by [Prepare] for a plan whose target pools the
// account lacks (Missing) or that hold no IP (Empty): no subuser can be
// moved into them, so apply makes no call at all. With
// ApplyOptions.CreatePools, [Prepare] succeeds instead, with the missing
// pools to create (Created), and [Prepared.Execute] returns the
// BlockedError after creating them, before any assignment.
type BlockedError struct {
	// Missing and Empty are the target pools that do not exist and those
	// without IPs, in the order of the plan's tiers.
	Missing, Empty []string
	// Created lists the pools created (or, before Execute, to create)
	// with ApplyOptions.CreatePools; they have no IPs yet.
	Created []string
	// Suggested maps the plan's tiers onto the account's own pools when
	// none of the tiers' pools exists (see docs/pools.md); nil otherwise.
	Suggested []Tier
}

func (e *BlockedError) Error() string {
	var what []string
	if len(e.Missing) > 0 {
		verb := "do not exist"
		if len(e.Created) > 0 {
			verb = "did not exist (created now, without IPs)"
		}
		what = append(what, fmt.Sprintf("target pool(s) %s %s", strings.Join(e.Missing, ", "), verb))
	}
	if len(e.Empty) > 0 {
		what = append(what, fmt.Sprintf("target pool(s) %s have no IPs", strings.Join(e.Empty, ", ")))
	}
	made := "no call was made"
	if len(e.Created) > 0 {
		made = "no subuser was moved"
	}
	return fmt.Sprintf("pools: cannot apply the plan, %s: %s. Either create the pools and add IPs to them in SendGrid "+
		"(POST /v3/ips/pools, then POST /v3/ips/pools/{pool}/ips) and run apply again, "+
		"or map the tiers onto the account's own pools (pools.tiers[].pool in the config) and run \"sgseq pools plan\" again",
		made, strings.Join(what, "; "))
}

// Execute makes the calls in order, writing each one to w ("METHOD path
// body") before making it and "  ok" or "  FAILED: err" after. It stops at
// the first failure and returns an *[ApplyError] accounting for every
// call. A prepared plan with Blocked set (ApplyOptions.CreatePools) only
// creates the missing pools and then returns Blocked: no subuser is ever
// assigned to a pool without IPs.
func (p *Prepared) Execute(ctx context.Context, c *client.Client, w io.Writer) error {
	for i, call := range p.Calls {
		fmt.Fprintf(w, "%s\n", call)
		if err := call.do(ctx, c); err != nil {
			fmt.Fprintf(w, "  FAILED: %v\n", err)
			return &ApplyError{Succeeded: p.Calls[:i:i], Failed: call, Err: err, NotAttempted: slices.Concat(p.Calls[i+1:], p.Waiting)}
		}
		fmt.Fprintf(w, "  ok\n")
	}
	if p.Blocked != nil {
		return p.Blocked
	}
	return nil
}
