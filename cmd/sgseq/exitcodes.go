package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/monitor/pools"
)

// Exit codes of sgseq: the one table, printed by README, "sgseq --help"
// and the --help of each command (exitCodeHelp).
const (
	// exitOK: the command did what was asked.
	exitOK = 0
	// exitFiring: sgseq check ran and at least one alert is firing. No
	// other command uses it.
	exitFiring = 1
	// exitFailed: any error: usage (unknown flag, bad value), configuration,
	// API, input or output. Nothing was done, or what was done is reported.
	exitFailed = 2
	// exitPartial: the command finished part of its work and says which:
	// sgseq rate wrote ratings but skipped most input lines; sgseq pools
	// apply --yes made some calls, then one failed; sgseq backfill left
	// days missing; sgseq check could not fetch some days and no alert
	// fires.
	exitPartial = 3
)

// exitCodeText describes each code in --help.
var exitCodeText = map[int]string{
	exitOK:      "success",
	exitFiring:  "alerts firing after the run (notified now or earlier)",
	exitFailed:  "error: usage, configuration, API, input or output (message on stderr as \"sgseq: …\")",
	exitPartial: "partial: part of the work was done, the rest failed (reported)",
}

// exitCodesOf lists the codes other than 0 and 2 that a command can exit
// with, by command path (as cobra's CommandPath). Every command can exit 0
// and 2.
var exitCodesOf = map[string][]int{
	"sgseq check":       {exitFiring, exitPartial},
	"sgseq backfill":    {exitPartial},
	"sgseq rate":        {exitPartial},
	"sgseq pools apply": {exitPartial},
}

// exitCodes returns the codes cmd can exit with, ascending.
func exitCodes(cmd *cobra.Command) []int {
	codes := []int{exitOK}
	extra := exitCodesOf[cmd.CommandPath()]
	for _, c := range []int{exitFiring, exitFailed, exitPartial} {
		if c == exitFailed {
			codes = append(codes, c)
			continue
		}
		for _, e := range extra {
			if e == c {
				codes = append(codes, c)
			}
		}
	}
	return codes
}

// exitCodeHelp returns the "Exit status:" section of cmd's --help.
func exitCodeHelp(cmd *cobra.Command) string {
	var b strings.Builder
	b.WriteString("Exit status:\n")
	for _, c := range exitCodes(cmd) {
		fmt.Fprintf(&b, "  %d  %s\n", c, exitCodeText[c])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// exitCodeRootHelp is the table in "sgseq --help": every code, and which
// commands use 1 and 3.
func exitCodeRootHelp() string {
	return `Exit status (every command):
  0  success
  1  sgseq check: alerts firing after the run
  2  error: usage, configuration, API, input or output ("sgseq: …" on stderr)
  3  partial: sgseq rate skipped most input lines (ratings written);
     sgseq pools apply --yes stopped after some calls succeeded;
     sgseq backfill left days missing; sgseq check could not fetch some
     days (nothing firing)`
}

// addExitCodeHelp appends the exit status section to the long help of
// every runnable command under root, and the full table to root's.
func addExitCodeHelp(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c == root {
			c.Long = strings.TrimRight(c.Long, "\n") + "\n\n" + exitCodeRootHelp()
			return
		}
		if !c.Runnable() {
			return
		}
		long := c.Long
		if long == "" {
			long = c.Short
		}
		c.Long = strings.TrimRight(long, "\n") + "\n\n" + exitCodeHelp(c)
	}
	walk(root)
}

// exitError carries a specific process exit code (for example exitFiring
// from sgseq check) together with an optional error to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCodeOf returns the exit code for err: 0 for nil, the code of an
// *exitError, exitPartial for an apply that made some calls, else
// exitFailed.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ae *pools.ApplyError
	if errors.As(err, &ae) && len(ae.Succeeded) > 0 {
		return exitPartial
	}
	return exitFailed
}
