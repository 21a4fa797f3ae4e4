package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// Page sizes for /v3/ips. SendGrid's own default is 10; the client asks for
// the maximum unless told otherwise.
const (
	// DefaultIPsLimit is the page size used when IPsOptions.Limit is 0.
	DefaultIPsLimit = 500
	// MaxIPsLimit is the largest page SendGrid serves.
	MaxIPsLimit = 500
)

// IP is a dedicated IP address of the account.
type IP struct {
	// IP is the address, e.g. "198.51.100.7".
	IP string `json:"ip"`
	// Subusers are the usernames of the subusers allowed to send through it.
	Subusers []string `json:"subusers"`
	// Pools are the names of the IP pools it belongs to.
	Pools []string `json:"pools"`
	// RDNS is its reverse DNS name.
	RDNS string `json:"rdns"`
	// Warmup reports whether the IP is still warming up.
	Warmup bool `json:"warmup"`
	// StartDate is when the warmup started (Unix seconds), or 0.
	StartDate int64 `json:"start_date"`
	// Whitelabeled reports whether the IP has a reverse DNS (whitelabel).
	Whitelabeled bool `json:"whitelabeled"`
	// AssignedAt is when the IP was assigned to the account (Unix seconds).
	AssignedAt int64 `json:"assigned_at"`
}

// IPsOptions filters and pages [Client.IPsPage].
type IPsOptions struct {
	// Limit is the page size, 1–500; 0 means 500.
	Limit int
	// Offset is the number of IPs to skip.
	Offset int
	// Subuser keeps the IPs assigned to this subuser.
	Subuser string
}

// IPsPage returns one page of the account's IP addresses with their pools
// and subusers. opts may be nil. Bad paging is a [*ValidationError]; API
// failures are an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-address/retrieve-all-ip-addresses
func (c *Client) IPsPage(ctx context.Context, opts *IPsOptions) ([]IP, error) {
	var o IPsOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = DefaultIPsLimit
	}
	if err := checkPaging(o.Limit, o.Offset); err != nil {
		return nil, err
	}
	if o.Limit > MaxIPsLimit {
		return nil, &ValidationError{Field: "limit", Value: strconv.Itoa(o.Limit), Reason: "must be at most 500"}
	}
	q := url.Values{"limit": {strconv.Itoa(o.Limit)}, "offset": {strconv.Itoa(o.Offset)}}
	if o.Subuser != "" {
		q.Set("subuser", o.Subuser)
	}
	var out []IP
	r := request{method: http.MethodGet, path: "/v3/ips", route: "/v3/ips", query: q, obo: c.onBehalfOf}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// IPs iterates over all the account's IP addresses matching opts (may be
// nil), walking offset pages until a short page. On an error it yields one
// (zero IP, error) pair and stops.
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/ip-address/retrieve-all-ip-addresses
func (c *Client) IPs(ctx context.Context, opts *IPsOptions) iter.Seq2[IP, error] {
	var o IPsOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = DefaultIPsLimit
	}
	return offsetPages(o.Limit, o.Offset, func(offset int) ([]IP, error) {
		o := o
		o.Offset = offset
		return c.IPsPage(ctx, &o)
	})
}
