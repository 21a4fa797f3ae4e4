// Package client is a typed Go client for Twilio SendGrid's Engagement
// Quality (SEQ) API and the account APIs around it (subusers, IP addresses,
// IP pools).
//
// Create a client with [New] and call it with a context:
//
//	c, err := client.New(os.Getenv("SENDGRID_API_KEY"))
//	if err != nil { ... }
//	yesterday := client.Today().AddDays(-1)
//	scores, err := c.Scores(ctx, yesterday.AddDays(-6), yesterday)
//	for s, err := range c.SubuserScores(ctx, yesterday) { ... }
//
// # Authentication
//
// Every request carries "Authorization: Bearer <key>". The key is held as a
// secret: it never appears in errors, logs, or when a [Client] is printed
// with %v, %+v or %#v. An empty key is an error from [New].
//
// # Regions
//
// Global accounts and subusers use [DefaultBaseURL]; EU regional subusers
// use [EUBaseURL], selected with WithRegion([EU]). [WithBaseURL] overrides
// both, for a proxy or a test server such as package seqtest.
//
// # Scores not ready (202)
//
// SendGrid computes scores asynchronously: a scores request may be answered
// 202 Accepted with an empty body, meaning "ask again later". By default
// [Client.Scores] and [Client.SubuserScoresPage] poll with capped, jittered
// exponential backoff ([PollPolicy]: about 1s doubling to 1m, 10m of waiting
// at most) until the scores arrive or the context ends. Each wait is logged
// at info level and passed to the [WithPollHook] function, so that a
// program can say what it waits for. With [NoWait] (or PollPolicy.NoWait)
// they return at once with an error for which errors.Is(err,
// [ErrScoresPending]) is true; the same holds when PollPolicy.MaxAttempts or
// MaxTotalWait runs out, and when the context ends while polling (then
// errors.Is also matches context.DeadlineExceeded or context.Canceled).
//
// Days on which an account was not eligible for a score (open tracking off,
// or fewer than 1,000 messages in the previous 30 days) come back with a nil
// [Score].Score: use [Score.Eligible], never compare with 0.
//
// Arguments are checked before any request: dates must be given, from ≤ to,
// not in the future and at most 90 days back (UTC); limits in range. Such
// mistakes are a [*ValidationError] naming the field.
//
// # Rate limits and retries
//
// GET requests are retried (through hashicorp/go-retryablehttp) on 429,
// 500, 502, 503, 504 and connection errors, per [RetryPolicy]: the wait is
// the server's Retry-After or X-RateLimit-Reset when given (capped by
// MaxWait), else a jittered exponential backoff. A 2xx answer whose body is
// cut off, reset mid-body, stalled past RetryPolicy.AttemptTimeout or not
// JSON is retried the same way: the body is read in full and checked inside
// the retry loop, so a partial page is never decoded. POST, PUT and DELETE
// are never retried. When retries run out the caller gets an [*APIError]
// with the last status and body, or a [*BodyError] saying how much of the
// body arrived and where decoding stopped.
//
// All requests of one Client and of its OnBehalfOf copies to one endpoint
// share a rate limiter (SendGrid limits each endpoint on its own) that reads
// X-RateLimit-Limit, -Remaining and -Reset from every response. It counts requests in flight against the remaining budget and,
// once the budget is spent, holds new requests until the window resets, so
// that a concurrent sweep over many subusers does not burst into 429s.
// [Client.Rate] returns the latest state; [WithRequestHook] sees every
// attempt.
//
// # Subusers and on-behalf-of
//
// A parent account's key can act for a subuser or a customer account with
// the on-behalf-of header: [Client.OnBehalfOf] and
// [Client.OnBehalfOfAccount] return copies that send it on every call, and
// the [AsSubuser] and [AccountID] call options set it for one call.
// [Client.SubuserScores] iterates over all subusers' scores for a day;
// [Client.Subusers] and [Client.IPs] iterate over offset pages;
// [Client.AllSubusers] fetches the offset pages of the subuser list in
// parallel.
//
// # Errors
//
// A non-2xx answer is an [*APIError] holding the status, SendGrid's errors
// list (field and message), any error id, the rate-limit state and, for
// bodies that are not SendGrid's JSON (an HTML page from a proxy), a bounded
// snippet. errors.Is matches [ErrUnauthorized] (401), [ErrForbidden] (403),
// [ErrNotFound] (404) and [ErrRateLimited] (429):
//
//	var apiErr *client.APIError
//	switch {
//	case errors.Is(err, client.ErrScoresPending):
//		// try again later
//	case errors.As(err, &apiErr):
//		log.Printf("SendGrid said %d: %s", apiErr.StatusCode, apiErr.Message())
//	}
package client
