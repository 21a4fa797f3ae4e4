package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
	"github.com/spf13/cobra"
)

// newPoolsCmd returns "sgseq pools", the parent of the IP-pool commands
// list, plan and apply (each in its own file).
func newPoolsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pools",
		Short: "IP pools: list them, plan and apply a grouping of subusers by SEQ score",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPoolsListCmd(), newPoolsPlanCmd(), newPoolsApplyCmd())
	return cmd
}

// poolsListItem is one element of "sgseq pools list -o json".
type poolsListItem struct {
	Name     string          `json:"name"`
	IPs      []client.PoolIP `json:"ips"`
	Subusers []string        `json:"subusers"`
}

func newPoolsListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the IP pools with their IPs and the subusers sending through them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			c, err := cliClient(cmd)
			if err != nil {
				return err
			}
			return poolsListRun(cmd.Context(), c, cliOut(cmd), format)
		},
	}
	cliAddOutputFlag(cmd, &format)
	return cmd
}

// poolsListFetch returns every pool with its IPs, and the subusers of each
// pool derived from the IPs API (each IP lists its pools and subusers).
func poolsListFetch(ctx context.Context, c *client.Client) ([]poolsListItem, error) {
	pools, err := c.Pools(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	subs := map[string][]string{}
	for ip, err := range c.IPs(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("list IPs: %w", err)
		}
		for _, p := range ip.Pools {
			subs[p] = append(subs[p], ip.Subusers...)
		}
	}
	out := make([]poolsListItem, 0, len(pools))
	for _, p := range pools {
		d, err := c.Pool(ctx, p.Name)
		if err != nil {
			return nil, fmt.Errorf("pool %q: %w", p.Name, err)
		}
		s := subs[p.Name]
		slices.Sort(s)
		s = slices.Compact(s)
		if s == nil {
			s = []string{}
		}
		ips := d.IPs
		if ips == nil {
			ips = []client.PoolIP{}
		}
		out = append(out, poolsListItem{Name: p.Name, IPs: ips, Subusers: s})
	}
	return out, nil
}

// poolsListRun prints every pool to w in format.
func poolsListRun(ctx context.Context, c *client.Client, w io.Writer, format string) error {
	pools, err := poolsListFetch(ctx, c)
	if err != nil {
		return err
	}
	t := tableData{
		Header:    []string{"POOL", "IPS", "SUBUSERS", "SUBUSER_NAMES"},
		CSVHeader: []string{"name", "ips", "subusers"},
		JSON:      pools,
	}
	for _, p := range pools {
		var ips []string
		for _, ip := range p.IPs {
			s := ip.IP
			if ip.Warmup {
				s += " (warmup)"
			}
			ips = append(ips, s)
		}
		names := strings.Join(p.Subusers, ", ")
		if len(p.Subusers) > 4 {
			names = strings.Join(p.Subusers[:4], ", ") + fmt.Sprintf(", … (%d more)", len(p.Subusers)-4)
		}
		t.Rows = append(t.Rows, []string{p.Name, strings.Join(ips, ", "), strconv.Itoa(len(p.Subusers)), names})
		var plain []string
		for _, ip := range p.IPs {
			plain = append(plain, ip.IP)
		}
		t.CSVRows = append(t.CSVRows, []string{p.Name, strings.Join(plain, " "), strings.Join(p.Subusers, " ")})
	}
	return writeOutput(w, format, t)
}
