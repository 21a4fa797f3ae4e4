package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Pool is an IP pool, as listed by [Client.Pools].
type Pool struct {
	// Name of the pool (unique in the account; may contain spaces).
	Name string `json:"name"`
}

// PoolIP is an IP address in a pool.
type PoolIP struct {
	// IP is the address, e.g. "198.51.100.7".
	IP string `json:"ip"`
	// StartDate is when the IP's warmup started (Unix seconds), or 0.
	StartDate int64 `json:"start_date"`
	// Warmup reports whether the IP is still warming up.
	Warmup bool `json:"warmup"`
}

// UnmarshalJSON accepts an object {"ip":...} or a bare string "1.2.3.4";
// SendGrid has used both.
func (p *PoolIP) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = PoolIP{IP: s}
		return nil
	}
	type plain PoolIP
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PoolIP(v)
	return nil
}

// PoolDetail is one IP pool with its addresses.
type PoolDetail struct {
	// Name of the pool.
	Name string `json:"pool_name"`
	// IPs in the pool.
	IPs []PoolIP `json:"ips"`
}

// UnmarshalJSON also accepts "name" for the pool name.
func (p *PoolDetail) UnmarshalJSON(b []byte) error {
	var v struct {
		PoolName string   `json:"pool_name"`
		Name     string   `json:"name"`
		IPs      []PoolIP `json:"ips"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p.Name, p.IPs = v.PoolName, v.IPs
	if p.Name == "" {
		p.Name = v.Name
	}
	return nil
}

// Pools lists the account's IP pools. API failures are an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-pools/retrieve-all-ip-pools
func (c *Client) Pools(ctx context.Context) ([]Pool, error) {
	var out []Pool
	r := request{method: http.MethodGet, path: "/v3/ips/pools", route: "/v3/ips/pools", obo: c.onBehalfOf}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Pool returns the pool name with its IP addresses. An unknown pool is an
// [*APIError] matching [ErrNotFound].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-pools/retrieve-all-the-ips-in-a-specified-pool
func (c *Client) Pool(ctx context.Context, name string) (*PoolDetail, error) {
	if err := checkPoolName(name); err != nil {
		return nil, err
	}
	var out PoolDetail
	r := request{method: http.MethodGet, path: "/v3/ips/pools/" + url.PathEscape(name), route: "/v3/ips/pools/{name}", obo: c.onBehalfOf}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Name == "" {
		out.Name = name
	}
	return &out, nil
}

// CreatePool creates an IP pool. It is not retried. API failures (for
// example a name in use) are an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-pools/create-an-ip-pool
func (c *Client) CreatePool(ctx context.Context, name string) (*Pool, error) {
	if err := checkPoolName(name); err != nil {
		return nil, err
	}
	var out Pool
	r := request{method: http.MethodPost, path: "/v3/ips/pools", route: "/v3/ips/pools", body: Pool{Name: name}, obo: c.onBehalfOf}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Name == "" {
		out.Name = name
	}
	return &out, nil
}

// AddIPToPool adds ip to the pool (SendGrid answers 201). It is not retried.
// A malformed IP is a [*ValidationError]; API failures are an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-pools/add-an-ip-address-to-a-pool
func (c *Client) AddIPToPool(ctx context.Context, pool, ip string) error {
	if err := checkPoolName(pool); err != nil {
		return err
	}
	if err := checkIP(ip); err != nil {
		return err
	}
	r := request{method: http.MethodPost, path: "/v3/ips/pools/" + url.PathEscape(pool) + "/ips", route: "/v3/ips/pools/{name}/ips",
		body: map[string]string{"ip": ip}, obo: c.onBehalfOf}
	return c.do(ctx, r, nil)
}

// RemoveIPFromPool removes ip from the pool (SendGrid answers 204). It is
// not retried. API failures are an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-pools/remove-an-ip-address-from-a-pool
func (c *Client) RemoveIPFromPool(ctx context.Context, pool, ip string) error {
	if err := checkPoolName(pool); err != nil {
		return err
	}
	if err := checkIP(ip); err != nil {
		return err
	}
	r := request{method: http.MethodDelete, path: "/v3/ips/pools/" + url.PathEscape(pool) + "/ips/" + url.PathEscape(ip),
		route: "/v3/ips/pools/{name}/ips/{ip}", obo: c.onBehalfOf}
	return c.do(ctx, r, nil)
}

// AssignSubuserIPs sets the IP addresses the subuser username may send from
// and returns the list SendGrid confirms. It is not retried. API failures are
// an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/subusers-api/update-ips-assigned-to-a-subuser
func (c *Client) AssignSubuserIPs(ctx context.Context, username string, ips []string) ([]string, error) {
	if strings.TrimSpace(username) == "" {
		return nil, &ValidationError{Field: "subuser_name", Reason: "must be provided"}
	}
	for _, ip := range ips {
		if err := checkIP(ip); err != nil {
			return nil, err
		}
	}
	body := append([]string{}, ips...) // [] rather than null
	var out struct {
		IPs []string `json:"ips"`
	}
	r := request{method: http.MethodPut, path: "/v3/subusers/" + url.PathEscape(username) + "/ips", route: "/v3/subusers/{name}/ips",
		body: body, obo: c.onBehalfOf}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out.IPs, nil
}

func checkPoolName(name string) error {
	if strings.TrimSpace(name) == "" {
		return &ValidationError{Field: "name", Reason: "must be provided"}
	}
	if len(name) > 64 {
		return &ValidationError{Field: "name", Value: name, Reason: "must be at most 64 characters"}
	}
	return nil
}

func checkIP(ip string) error {
	if ip == "" {
		return &ValidationError{Field: "ip", Reason: "must be provided"}
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		return &ValidationError{Field: "ip", Value: ip, Reason: fmt.Sprintf("invalid: %v", err)}
	}
	return nil
}
