package pools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/sgseq/sgseq/client"
)

// State is the account's current IP-pool layout: which pools each subuser
// sends through and which IPs each pool holds.
type State struct {
	// Subusers maps every subuser that has an IP to the sorted pools of
	// its IPs (empty when none of its IPs is in a pool).
	Subusers map[string][]string
	// SubuserIPs maps every subuser that has an IP to its sorted IPs.
	SubuserIPs map[string][]string
	// Pools maps every pool to its sorted IPs (empty for a pool without
	// IPs).
	Pools map[string][]string
}

// NewState builds a State from the IPs API's listing (each IP names its
// pools and subusers) and the names of the account's pools.
func NewState(ips []client.IP, pools []string) *State {
	st := &State{Subusers: map[string][]string{}, SubuserIPs: map[string][]string{}, Pools: map[string][]string{}}
	for _, p := range pools {
		if p != "" {
			st.Pools[p] = []string{}
		}
	}
	for _, ip := range ips {
		for _, p := range ip.Pools {
			if p != "" {
				st.Pools[p] = append(st.Pools[p], ip.IP)
			}
		}
		for _, u := range ip.Subusers {
			if u == "" {
				continue
			}
			st.SubuserIPs[u] = append(st.SubuserIPs[u], ip.IP)
			if st.Subusers[u] == nil {
				st.Subusers[u] = []string{}
			}
			for _, p := range ip.Pools {
				if p != "" {
					st.Subusers[u] = append(st.Subusers[u], p)
				}
			}
		}
	}
	for _, m := range []map[string][]string{st.Subusers, st.SubuserIPs, st.Pools} {
		for k, v := range m {
			slices.Sort(v)
			m[k] = slices.Compact(v)
		}
	}
	return st
}

// LoadState reads the current layout from the IPs API (every page) and
// the pools API. Errors are the client's, wrapped.
func LoadState(ctx context.Context, c *client.Client) (*State, error) {
	var ips []client.IP
	for ip, err := range c.IPs(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("pools: list IPs: %w", err)
		}
		ips = append(ips, ip)
	}
	ps, err := c.Pools(ctx)
	if err != nil {
		return nil, fmt.Errorf("pools: list IP pools: %w", err)
	}
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return NewState(ips, names), nil
}

// PoolsOf returns the sorted pools username sends through; empty (not
// nil) when it has no IP or none of its IPs is in a pool.
func (s *State) PoolsOf(username string) []string {
	if p := s.Subusers[username]; p != nil {
		return slices.Clone(p)
	}
	return []string{}
}

// Fingerprint returns a short hash of which pools every subuser sends
// through, to tell whether two states differ.
func (s *State) Fingerprint() string {
	users := make([]string, 0, len(s.Subusers))
	for u := range s.Subusers {
		users = append(users, u)
	}
	slices.Sort(users)
	h := sha256.New()
	for _, u := range users {
		fmt.Fprintf(h, "%s=%s\n", u, strings.Join(s.Subusers[u], ","))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}
