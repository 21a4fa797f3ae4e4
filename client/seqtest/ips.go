package seqtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/sgseq/sgseq/client"
)

type addedIPJSON struct {
	IP        string   `json:"ip"`
	Pools     []string `json:"pools"`
	StartDate int64    `json:"start_date"`
	Warmup    bool     `json:"warmup"`
}

// ipStart is the simulated start_date (Unix seconds) of every IP: one year
// before the account's End.
func (s *Server) ipStart() int64 { return s.acct.End.AddDays(-365).Time().Unix() }

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// ipJSON is one item of GET /v3/ips, in the client's own wire type.
func (s *Server) ipJSON(ip *IPAddr) client.IP {
	return client.IP{
		IP:           ip.IP,
		Subusers:     nonNil(slices.Clone(ip.Subusers)),
		Pools:        nonNil(slices.Clone(ip.Pools)),
		RDNS:         "o" + strings.ReplaceAll(ip.IP, ".", "-") + ".mail.example.net",
		Warmup:       ip.Warmup,
		StartDate:    s.ipStart(),
		Whitelabeled: true,
		AssignedAt:   s.ipStart(),
	}
}

// findIP returns the account's IP with this address. Call with s.mu held.
func (s *Server) findIP(addr string) *IPAddr {
	for i := range s.acct.IPs {
		if s.acct.IPs[i].IP == addr {
			return &s.acct.IPs[i]
		}
	}
	return nil
}

// hasPool reports whether the pool exists. Call with s.mu held.
func (s *Server) hasPool(name string) bool { return slices.Contains(s.acct.Pools, name) }

// handleIPs serves GET /v3/ips: a bare array paged by limit (default 10, at
// most 500) and offset, optionally filtered to the IPs a subuser sends
// through.
func (s *Server) handleIPs(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := offsetParams(w, r, 10)
	if !ok {
		return
	}
	sub := r.URL.Query().Get("subuser")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := pageOf(len(s.acct.IPs), offset, limit, func(i int) bool {
		return sub == "" || slices.Contains(s.acct.IPs[i].Subusers, sub)
	}, func(i int) client.IP { return s.ipJSON(&s.acct.IPs[i]) })
	writeJSON(w, http.StatusOK, out)
}

// handlePools serves GET /v3/ips/pools.
func (s *Server) handlePools(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]client.Pool, 0, len(s.acct.Pools))
	for _, p := range s.acct.Pools {
		out = append(out, client.Pool{Name: p})
	}
	writeJSON(w, http.StatusOK, out)
}

// handlePool serves GET /v3/ips/pools/{name}.
func (s *Server) handlePool(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasPool(name) {
		writeError(w, http.StatusNotFound, "", "pool not found")
		return
	}
	out := client.PoolDetail{Name: name, IPs: []client.PoolIP{}}
	for _, ip := range s.acct.IPs {
		if slices.Contains(ip.Pools, name) {
			out.IPs = append(out.IPs, client.PoolIP{IP: ip.IP, StartDate: s.ipStart(), Warmup: ip.Warmup})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeBody decodes the JSON request body into v, writing a 400 on error.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "", "invalid JSON body")
		return false
	}
	return true
}

// handleCreatePool serves POST /v3/ips/pools {"name"}: 200 {"name"}; 400
// for an empty or duplicate name.
func (s *Server) handleCreatePool(w http.ResponseWriter, r *http.Request) {
	var in client.Pool
	if !decodeBody(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		writeError(w, http.StatusBadRequest, "name", "name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasPool(in.Name) {
		writeError(w, http.StatusBadRequest, "name", "This pool name is already in use")
		return
	}
	s.acct.Pools = append(s.acct.Pools, in.Name)
	writeJSON(w, http.StatusOK, client.Pool{Name: in.Name})
}

// handleAddPoolIP serves POST /v3/ips/pools/{name}/ips {"ip"}: 201 with the
// IP's pools. Adding an IP already in the pool is idempotent (201). 404
// for an unknown pool or IP.
func (s *Server) handleAddPoolIP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in struct {
		IP string `json:"ip"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasPool(name) {
		writeError(w, http.StatusNotFound, "", "pool not found")
		return
	}
	ip := s.findIP(in.IP)
	if ip == nil {
		writeError(w, http.StatusNotFound, "ip", "ip not found")
		return
	}
	if !slices.Contains(ip.Pools, name) {
		ip.Pools = append(ip.Pools, name)
	}
	writeJSON(w, http.StatusCreated, addedIPJSON{IP: ip.IP, Pools: slices.Clone(ip.Pools), StartDate: s.ipStart(), Warmup: ip.Warmup})
}

// handleRemovePoolIP serves DELETE /v3/ips/pools/{name}/ips/{ip}: 204; 404
// when the pool does not exist or the IP is not in it.
func (s *Server) handleRemovePoolIP(w http.ResponseWriter, r *http.Request) {
	name, addr := r.PathValue("name"), r.PathValue("ip")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasPool(name) {
		writeError(w, http.StatusNotFound, "", "pool not found")
		return
	}
	ip := s.findIP(addr)
	if ip == nil || !slices.Contains(ip.Pools, name) {
		writeError(w, http.StatusNotFound, "ip", "ip not found in pool")
		return
	}
	ip.Pools = slices.DeleteFunc(ip.Pools, func(p string) bool { return p == name })
	w.WriteHeader(http.StatusNoContent)
}

// handleAssignIPs serves PUT /v3/subusers/{name}/ips with a JSON array of
// IPs: it replaces the subuser's IP assignment and answers 200 {"ips":[...]}.
// 404 for an unknown subuser, 400 for an empty list or an unknown IP.
func (s *Server) handleAssignIPs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var ips []string
	if !decodeBody(w, r, &ips) {
		return
	}
	if s.subByName[name] == nil {
		writeError(w, http.StatusNotFound, "", "subuser not found")
		return
	}
	if len(ips) == 0 {
		writeError(w, http.StatusBadRequest, "ips", "at least one ip is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range ips {
		if s.findIP(a) == nil {
			writeError(w, http.StatusBadRequest, "ips", "unknown ip "+a)
			return
		}
	}
	for i := range s.acct.IPs {
		ip := &s.acct.IPs[i]
		ip.Subusers = slices.DeleteFunc(ip.Subusers, func(u string) bool { return u == name })
		if slices.Contains(ips, ip.IP) {
			ip.Subusers = append(ip.Subusers, name)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		IPs []string `json:"ips"`
	}{IPs: ips})
}
