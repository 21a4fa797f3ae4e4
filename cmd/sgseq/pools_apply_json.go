package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/pools"
)

// poolsApplyJSONOut is the output of "sgseq pools apply -o json".
type poolsApplyJSONOut struct {
	// DryRun is true without --yes: no call was made.
	DryRun      bool        `json:"dry_run"`
	GeneratedAt time.Time   `json:"generated_at"`
	AsOf        client.Date `json:"as_of"`
	// Moves are the plan's moves (the plan's subuser objects).
	Moves []pools.SubuserPlan `json:"moves"`
	// Calls are every call of the plan, in order, each with its status.
	Calls []poolsApplyCallJSON `json:"calls"`
	// EmptyPools are target pools without IPs: the moves to them wait.
	EmptyPools []string `json:"empty_pools"`
}

// poolsApplyCallJSON is one call and what became of it.
type poolsApplyCallJSON struct {
	pools.Call
	// Status: "planned" (dry run), "succeeded", "failed", "not_attempted",
	// or "waiting" (an assignment to a pool without IPs, never made).
	Status string `json:"status"`
	// Error is the API's error of the failed call.
	Error string `json:"error,omitempty"`
}

// poolsApplyJSON prints (dry run) or makes the prepared calls and writes
// the JSON document to out; the progress of the calls made goes to errw.
func poolsApplyJSON(ctx context.Context, c *client.Client, pr *pools.Prepared, o poolsApplyOptions, out, errw io.Writer) error {
	plan := pr.Plan
	doc := poolsApplyJSONOut{DryRun: !o.yes, GeneratedAt: plan.GeneratedAt.UTC(), AsOf: plan.AsOf,
		Moves: plan.Moves(), Calls: []poolsApplyCallJSON{}, EmptyPools: pr.EmptyPools}
	if doc.Moves == nil {
		doc.Moves = []pools.SubuserPlan{}
	}
	if doc.EmptyPools == nil {
		doc.EmptyPools = []string{}
	}
	runnable := map[string]bool{}
	for _, call := range pr.Runnable() {
		runnable[call.String()] = true
	}
	status := map[string]string{}
	errText := map[string]string{}
	var err error
	if o.yes && len(pr.Calls) > 0 {
		err = pr.Execute(ctx, c, errw)
		var ae *pools.ApplyError
		switch {
		case errors.As(err, &ae):
			for _, call := range ae.Succeeded {
				status[call.String()] = "succeeded"
			}
			status[ae.Failed.String()] = "failed"
			errText[ae.Failed.String()] = ae.Err.Error()
			for _, call := range ae.NotAttempted {
				status[call.String()] = "not_attempted"
			}
		case err == nil:
			for _, call := range pr.Runnable() {
				status[call.String()] = "succeeded"
			}
		}
	}
	for _, call := range pr.Calls {
		st := status[call.String()]
		switch {
		case st != "":
		case !runnable[call.String()]:
			st = "waiting"
		case !o.yes:
			st = "planned"
		default:
			st = "not_attempted"
		}
		doc.Calls = append(doc.Calls, poolsApplyCallJSON{Call: call, Status: st, Error: errText[call.String()]})
	}
	if werr := writeJSON(out, doc); werr != nil && err == nil {
		err = werr
	}
	return err
}
