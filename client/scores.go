package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RetentionDays is how far back SendGrid keeps scores: a date more than this
// many days before today (UTC) is rejected.
const RetentionDays = 90

// Limits of SubuserScoresOptions.Limit.
const (
	// MaxSubuserScoresLimit is the largest page SendGrid serves.
	MaxSubuserScoresLimit = 1000
	// DefaultSubuserScoresLimit is the page size used when Limit is 0.
	DefaultSubuserScoresLimit = 1000
)

// Scores returns the SEQ scores of the key's account (or of the on-behalf-of
// subject) for every day from from to to, both UTC days and inclusive. Days
// the account was not eligible for a score have a nil Score.Score; see
// [Score.Eligible].
//
// Dates are checked before any request: both required, from ≤ to, not in the
// future and not more than 90 days back ([*ValidationError]). When SendGrid
// answers 202 (scores not computed yet) Scores polls per the client's
// [PollPolicy] until the scores are ready or ctx ends; with [NoWait] it
// returns at once with an error matching [ErrScoresPending]. Other failures
// are an [*APIError] (400, 401, 500 ...) or a transport error.
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/sendgrid-engagement-quality-api/get-engagement-quality-scores
func (c *Client) Scores(ctx context.Context, from, to Date, opts ...CallOption) ([]Score, error) {
	cc, err := c.callConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := c.validateDay("from", from); err != nil {
		return nil, err
	}
	if err := c.validateDay("to", to); err != nil {
		return nil, err
	}
	if from.After(to) {
		return nil, &ValidationError{Field: "from", Value: from.String(), Reason: `"from" cannot come after "to"`}
	}
	q := url.Values{"from": {from.String()}, "to": {to.String()}}
	r := request{method: http.MethodGet, path: "/v3/engagementquality/scores", route: "/v3/engagementquality/scores", query: q, obo: cc.onBehalfOf}
	var out struct {
		Result []Score `json:"result"`
	}
	if err := c.poll(ctx, cc, r, &out); err != nil {
		return nil, err
	}
	return out.Result, nil
}

// SubuserScoresOptions selects one page of [Client.SubuserScoresPage].
type SubuserScoresOptions struct {
	// Limit is the page size, 1–1000; 0 means 1000.
	Limit int
	// AfterKey is the previous page's NextAfterKey; "" for the first page.
	AfterKey string
}

// SubuserScoresPage is one page of subusers' scores.
type SubuserScoresPage struct {
	// Scores of this page, one per subuser.
	Scores []Score
	// NextAfterKey is the cursor of the next page; "" on the last page.
	NextAfterKey string
}

// subuserScoresResponse is the wire form; after_key is a string but a
// number is tolerated.
type subuserScoresResponse struct {
	Result   []Score `json:"result"`
	Metadata *struct {
		NextParams *struct {
			AfterKey json.RawMessage `json:"after_key"`
		} `json:"next_params"`
	} `json:"_metadata"`
}

// SubuserScoresPage returns one page of the scores of all the parent's
// subusers for date (UTC). opts may be nil (first page of 1,000).
// NextAfterKey is "" on the last page: SendGrid signals it by omitting
// _metadata, next_params or after_key, or by a null after_key.
//
// date and opts are checked before any request ([*ValidationError] naming
// "date", "limit" or "after_key"). 202 handling and errors are as for
// [Client.Scores]; 403 and 404 are possible too.
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/sendgrid-engagement-quality-api/get-subusers-engagement-quality-scores
func (c *Client) SubuserScoresPage(ctx context.Context, date Date, opts *SubuserScoresOptions, callOpts ...CallOption) (*SubuserScoresPage, error) {
	cc, err := c.callConfig(callOpts)
	if err != nil {
		return nil, err
	}
	if err := c.validateDay("date", date); err != nil {
		return nil, err
	}
	var o SubuserScoresOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = DefaultSubuserScoresLimit
	}
	if o.Limit < 1 || o.Limit > MaxSubuserScoresLimit {
		return nil, &ValidationError{Field: "limit", Value: strconv.Itoa(o.Limit), Reason: "must be between 1 and 1000"}
	}
	q := url.Values{"date": {date.String()}, "limit": {strconv.Itoa(o.Limit)}}
	if o.AfterKey != "" {
		k := strings.TrimSpace(o.AfterKey)
		if n, err := strconv.ParseInt(k, 10, 64); err != nil || n < 0 {
			return nil, &ValidationError{Field: "after_key", Value: o.AfterKey, Reason: "invalid: must be a non-negative integer"}
		}
		q.Set("after_key", k)
	}
	r := request{method: http.MethodGet, path: "/v3/engagementquality/subusers/scores", route: "/v3/engagementquality/subusers/scores", query: q, obo: cc.onBehalfOf}
	var out subuserScoresResponse
	if err := c.poll(ctx, cc, r, &out); err != nil {
		return nil, err
	}
	page := &SubuserScoresPage{Scores: out.Result}
	for i := range page.Scores {
		if page.Scores[i].Date.IsZero() {
			page.Scores[i].Date = date
		}
	}
	if m := out.Metadata; m != nil && m.NextParams != nil {
		page.NextAfterKey = strings.TrimSpace(jsonText(m.NextParams.AfterKey))
	}
	return page, nil
}

// SubuserScores iterates over the scores of all the parent's subusers for
// date, fetching pages of 1,000 (or [PageSize]) as needed. On an error it yields one
// (zero Score, error) pair and stops; it stops early when the loop breaks.
// Errors are those of [Client.SubuserScoresPage], plus one for a server
// that repeats a cursor.
//
// SendGrid API docs: https://www.twilio.com/docs/sendgrid/api-reference/sendgrid-engagement-quality-api/get-subusers-engagement-quality-scores
func (c *Client) SubuserScores(ctx context.Context, date Date, callOpts ...CallOption) iter.Seq2[Score, error] {
	callOpts = append([]CallOption(nil), callOpts...)
	return func(yield func(Score, error) bool) {
		cc, err := c.callConfig(callOpts)
		if err != nil {
			yield(Score{}, err)
			return
		}
		o := SubuserScoresOptions{Limit: cc.pageSize}
		if o.Limit == 0 {
			o.Limit = DefaultSubuserScoresLimit
		}
		seen := make(map[string]bool)
		for {
			page, err := c.SubuserScoresPage(ctx, date, &o, callOpts...)
			if err != nil {
				yield(Score{}, err)
				return
			}
			for _, s := range page.Scores {
				if !yield(s, nil) {
					return
				}
			}
			if page.NextAfterKey == "" {
				return
			}
			if seen[page.NextAfterKey] {
				yield(Score{}, fmt.Errorf("GET /v3/engagementquality/subusers/scores: pagination does not advance: after_key %q repeated", page.NextAfterKey))
				return
			}
			seen[page.NextAfterKey] = true
			o.AfterKey = page.NextAfterKey
		}
	}
}

// validateDay checks a score date against today (UTC, per the client's
// clock) and the 90-day retention.
func (c *Client) validateDay(field string, d Date) error {
	if d.IsZero() {
		return &ValidationError{Field: field, Reason: "must be provided"}
	}
	if d.Month < time.January || d.Month > time.December || DateOf(d.Time()) != d {
		return &ValidationError{Field: field, Value: fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day), Reason: "invalid"}
	}
	today := DateOf(c.s.now())
	if d.After(today) {
		return &ValidationError{Field: field, Value: d.String(), Reason: fmt.Sprintf("%q cannot be in the future", field)}
	}
	if d.Before(today.AddDays(-RetentionDays)) {
		return &ValidationError{Field: field, Value: d.String(), Reason: fmt.Sprintf("%q cannot be more than %d days in the past", field, RetentionDays)}
	}
	return nil
}
