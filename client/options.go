package client

import "strings"

// CallOption adjusts one call.
type CallOption func(*callConfig)

type callConfig struct {
	onBehalfOf string
	set        bool
	noWait     bool
	pageSize   int
}

// AsSubuser makes one call on behalf of the subuser username (header
// "on-behalf-of: <username>"), overriding [Client.OnBehalfOf].
//
// (It is not called Subuser because that name is the [Subuser] type.)
func AsSubuser(username string) CallOption {
	return func(c *callConfig) { c.onBehalfOf, c.set = username, true }
}

// AccountID makes one call on behalf of the customer account id (header
// "on-behalf-of: account-id <id>"), overriding [Client.OnBehalfOf].
func AccountID(id string) CallOption {
	return func(c *callConfig) {
		c.set = true
		c.onBehalfOf = ""
		if id != "" {
			c.onBehalfOf = "account-id " + id
		}
	}
}

// NoWait makes a scores call return at once with an error matching
// [ErrScoresPending] when SendGrid answers 202, instead of polling.
func NoWait() CallOption {
	return func(c *callConfig) { c.noWait = true }
}

// PageSize sets the page size of [Client.SubuserScores] (1–1000; the
// default is 1000). Other calls ignore it. A value out of range makes the
// iterator yield a [*ValidationError] naming "limit".
func PageSize(n int) CallOption {
	return func(c *callConfig) { c.pageSize = n }
}

func (c *Client) callConfig(opts []CallOption) (callConfig, error) {
	cc := callConfig{onBehalfOf: c.onBehalfOf, noWait: c.s.poll.NoWait}
	for _, o := range opts {
		if o != nil {
			o(&cc)
		}
	}
	if strings.ContainsAny(cc.onBehalfOf, "\r\n\x00") {
		return cc, &ValidationError{Field: HeaderOnBehalfOf, Value: cc.onBehalfOf, Reason: "invalid"}
	}
	return cc, nil
}
