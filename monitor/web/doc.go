// Package web serves the monitor's status pages and their JSON API from
// the store, read-only: which senders are in trouble, since when, and what
// to do about it.
//
// [Handler] serves
//
//	GET /                                   every account, worst first
//	GET /accounts/{account}                 one account's whole stored history
//	GET /pools                              the IP-pool plan (with Options.Plans)
//	GET /api/v1/status                      = sgseq status -o json
//	GET /api/v1/accounts/{account}/history  = sgseq history ACCOUNT -o json (?days=N)
//
// The daemon mounts it on its HTTP server (monitor.Daemon.Handler) and
// "sgseq serve" serves it alone. The routes and the JSON are documented
// contracts (docs/status-page.md).
//
// # Pages
//
// The pages are html/template files and static files embedded in the
// binary. Charts and sparklines are inline SVG drawn on the server, so
// the pages work with JavaScript off; the one script, which reloads the
// page every Options.Refresh, is optional. Nothing is fetched from
// elsewhere.
//
// # Safety
//
// Every value is escaped by html/template (subuser usernames are
// account-controlled text). Only GET and HEAD are served. Every response
// carries [ContentSecurityPolicy], X-Content-Type-Options: nosniff and
// X-Frame-Options: DENY. Options.Auth adds HTTP basic authentication.
//
// # Speed
//
// The overview reads the store in a fixed number of bulk reads whatever the
// number of accounts, and reuses its rows until the last sweep changes (or
// for a minute). The IP-pool plan comes from a [PlanSource], usually a
// [PlanCache].
package web
