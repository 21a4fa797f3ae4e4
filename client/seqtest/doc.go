// Package seqtest is a simulated SendGrid account for tests, demos and local
// development: a real HTTP server on loopback (net/http/httptest) that
// implements the Engagement Quality, subusers, IPs and IP pools endpoints the
// client package calls, over a deterministic [Account].
//
//	srv := seqtest.NewServer()          // DemoAccount(yesterday)
//	defer srv.Close()
//	c, _ := srv.Client()                // TestAPIKey, srv.URL, short waits
//	scores, err := c.Scores(ctx, from, to)
//
// Any HTTP client works too: send "Authorization: Bearer " + [TestAPIKey] to
// srv.URL.
//
// # Accounts
//
// [DemoAccount] is a parent with 36 subusers, 120 days of history, 8 IPs and
// 3 pools, with events planted in the last 30 days (drops, a metric fall, a
// floor case, ineligible stretches, a pool outlier); [Account.Planted]
// returns them as ground truth. [GenerateAccount] builds large accounts
// (10,000 subusers × 90 days in milliseconds) for benchmarks. Build your own
// [Account] literal for targeted tests and pass it with [WithAccount].
//
// # Dates and 202
//
// "Today" is the UTC day of the server's clock ([WithNow]). The latest day
// with scores is yesterday (or Account.End if earlier); a request for
// today only answers 202 Accepted. Dates after today, or more than 90 days
// back, get SendGrid's 400 bodies. [WithPending] makes each (endpoint, date
// or range, on-behalf-of) answer 202 n times first.
//
// # Rate limits and faults
//
// [WithRateLimit] gives each API key a fixed window of requests and sets
// X-RateLimit-Limit, -Remaining and -Reset (Unix seconds) on every
// response; over the limit the answer is 429. Reset has one-second
// resolution, so use windows of at least a second. [WithFaults] injects
// 500, 502, 503 and 429 into GET requests from a seeded sequence;
// [WithLatency] delays responses; [Server.FailOn] makes a route fail after
// N successes (for partial-apply tests); [Server.Handle] replaces a route.
//
// # Inspection
//
// [Server.Calls] records every request (method, escaped path, query,
// on-behalf-of, body); [Server.Stats] counts them by status and counts
// 429s; [Server.Account] returns the account's current state after IP and
// pool mutations.
//
// The package depends only on the standard library and the client package's
// data types, except [Server.Client] which builds a client.Client.
package seqtest
