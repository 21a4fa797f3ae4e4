package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// DefaultSubusersLimit is the page size of SubusersPage when Limit is 0.
const DefaultSubusersLimit = 100

// Subuser is a subuser of the parent account.
type Subuser struct {
	// ID is SendGrid's numeric id of the subuser.
	ID int64 `json:"id"`
	// Username is the name used in on-behalf-of and in scores.
	Username string `json:"username"`
	// Email is the subuser's contact address.
	Email string `json:"email"`
	// Disabled reports whether the subuser is disabled.
	Disabled bool `json:"disabled"`
	// Region is "global" or "eu"; set when the list was filtered by region.
	Region string `json:"region,omitempty"`
}

// SubusersOptions filters and pages [Client.SubusersPage].
type SubusersOptions struct {
	// Limit is the page size; 0 means 100.
	Limit int
	// Offset is the number of subusers to skip.
	Offset int
	// Username filters by username.
	Username string
	// Region is "", "all", "global" or "eu". When set, each Subuser's
	// Region is filled in (include_region=true).
	Region string
}

// subusersOptions is opts (nil: none) with the default limit, checked.
func subusersOptions(opts *SubusersOptions) (SubusersOptions, error) {
	var o SubusersOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = DefaultSubusersLimit
	}
	return o, checkPaging(o.Limit, o.Offset)
}

// SubusersPage returns one page of the parent's subusers. opts may be nil.
// A negative limit or offset, or an unknown region, is a [*ValidationError];
// API failures are an [*APIError].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/subusers-api/list-all-subusers
func (c *Client) SubusersPage(ctx context.Context, opts *SubusersOptions) ([]Subuser, error) {
	o, err := subusersOptions(opts)
	if err != nil {
		return nil, err
	}
	q := url.Values{"limit": {strconv.Itoa(o.Limit)}, "offset": {strconv.Itoa(o.Offset)}}
	if o.Username != "" {
		q.Set("username", o.Username)
	}
	switch o.Region {
	case "":
	case "all", string(Global), string(EU):
		q.Set("region", o.Region)
		q.Set("include_region", "true")
	default:
		return nil, &ValidationError{Field: "region", Value: o.Region, Reason: `must be "all", "global" or "eu"`}
	}
	var out []Subuser
	r := request{method: http.MethodGet, path: "/v3/subusers", route: "/v3/subusers", query: q, obo: c.onBehalfOf}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Subusers iterates over all the parent's subusers matching opts (may be
// nil), walking offset pages until a short page. On an error it yields one
// (zero Subuser, error) pair and stops.
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/subusers-api/list-all-subusers
func (c *Client) Subusers(ctx context.Context, opts *SubusersOptions) iter.Seq2[Subuser, error] {
	var o SubusersOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = DefaultSubusersLimit
	}
	return offsetPages(o.Limit, o.Offset, func(offset int) ([]Subuser, error) {
		o := o
		o.Offset = offset
		return c.SubusersPage(ctx, &o)
	})
}

// AllSubusers returns every subuser matching opts (may be nil; its Offset
// is the first one), fetching up to parallel offset pages at a time: the
// offsets of the pages are known up front, so after a full first page a
// wave of pages goes out together (each through the endpoint's rate
// limiter) until one comes back short. A subuser listed twice (the list changed between pages) is kept
// once. parallel < 1 means 1. Errors are those of [Client.SubusersPage].
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/subusers-api/list-all-subusers
func (c *Client) AllSubusers(ctx context.Context, opts *SubusersOptions, parallel int) ([]Subuser, error) {
	o, err := subusersOptions(opts)
	if err != nil {
		return nil, err
	}
	parallel = max(parallel, 1)
	var out []Subuser
	seen := map[int64]bool{}
	// The first page alone: most accounts have one page. After a full
	// one, waves of parallel pages.
	wave := 1
	for offset := o.Offset; ; offset += wave * o.Limit {
		if offset > o.Offset {
			wave = parallel
		}
		pages := make([][]Subuser, wave)
		errs := make([]error, wave)
		var wg sync.WaitGroup
		for i := range wave {
			wg.Go(func() {
				po := o
				po.Offset = offset + i*o.Limit
				pages[i], errs[i] = c.SubusersPage(ctx, &po)
			})
		}
		wg.Wait()
		for i, page := range pages {
			if errs[i] != nil {
				return nil, errs[i]
			}
			for _, s := range page {
				if !seen[s.ID] || s.ID == 0 {
					seen[s.ID] = true
					out = append(out, s)
				}
			}
			if len(page) < o.Limit {
				return out, nil
			}
		}
	}
}

// checkPaging validates offset-page parameters.
func checkPaging(limit, offset int) error {
	if limit < 1 {
		return &ValidationError{Field: "limit", Value: strconv.Itoa(limit), Reason: "must be positive"}
	}
	if offset < 0 {
		return &ValidationError{Field: "offset", Value: strconv.Itoa(offset), Reason: "must not be negative"}
	}
	return nil
}

// offsetPages iterates over offset-paginated results: fetch(offset) returns
// one page of at most limit items, and a short page is the last. On an
// error it yields one (zero, error) pair and stops.
func offsetPages[T any](limit, offset int, fetch func(offset int) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(offset)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			if len(page) < limit || len(page) == 0 {
				return
			}
			offset += len(page)
		}
	}
}
