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
	// Calls are the calls apply makes, in order, each with its status.
	Calls []poolsApplyCallJSON `json:"calls"`
}

// poolsApplyCallJSON is one call and what became of it.
type poolsApplyCallJSON struct {
	pools.Call
	// Status: "planned" (dry run), "succeeded", "failed" or
	// "not_attempted".
	Status string `json:"status"`
	// Error is the API's error of the failed call.
	Error string `json:"error,omitempty"`
}

// poolsApplyJSON prints (dry run) or makes the prepared calls and writes
// the JSON document to out; the progress of the calls made goes to errw.
// It uses only the plan, the calls, Execute and *pools.ApplyError.
func poolsApplyJSON(ctx context.Context, c *client.Client, pr *pools.Prepared, o poolsApplyOptions, out, errw io.Writer) error {
	plan := pr.Plan
	doc := poolsApplyJSONOut{DryRun: !o.yes, GeneratedAt: plan.GeneratedAt.UTC(), AsOf: plan.AsOf,
		Moves: plan.Moves(), Calls: []poolsApplyCallJSON{}}
	if doc.Moves == nil {
		doc.Moves = []pools.SubuserPlan{}
	}
	status := map[string]string{}
	errText := map[string]string{}
	var err error
	if o.yes && len(pr.Calls) > 0 {
		err = pr.Execute(ctx, c, errw)
		var ae *pools.ApplyError
		if errors.As(err, &ae) {
			for _, call := range ae.Succeeded {
				status[call.String()] = "succeeded"
			}
			status[ae.Failed.String()] = "failed"
			errText[ae.Failed.String()] = ae.Err.Error()
			for _, call := range ae.NotAttempted {
				status[call.String()] = "not_attempted"
			}
		}
	}
	for _, call := range pr.Calls {
		st := status[call.String()]
		switch {
		case st != "":
		case !o.yes:
			st = "planned"
		case err == nil:
			st = "succeeded"
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
