// Package notify delivers the monitor's alerts: to Slack through an incoming
// webhook ([NewWebhook]) or a bot token and channel ([NewBot], Web API
// chat.postMessage), both built on github.com/slack-go/slack, or as plain
// text to a writer ([NewLog]) for runs without Slack.
//
// # Messages
//
// A [Message] is one sweep's worth of notifications: firing alerts (new or
// reminders), resolved alerts and proposed IP-pool tier changes.
// [Payloads] turns it into Slack payloads (Block Kit blocks plus a
// plain-text fallback); [Text] renders it as plain text.
//
// With at most the digest threshold of alerts (default 5, see
// [WithDigestThreshold]) each account gets its own message, listing its
// alerts with what happened, since when and SendGrid's advice (once per rule
// and metric in the delivery); resolved alerts are one line each. Above the
// threshold, or on a first check of a store ([Message.FirstCheck]), the sweep
// goes out as a digest: one line per account, its alerts together, worst
// first, grouped by severity, then the proposed IP-pool moves and each piece
// of advice once. A digest that does not fit one Slack message opens with
// the counts and the top N worst accounts (see [WithTopN]) and continues in
// the first message's thread (bot) or in follow-up messages (webhook); every
// account is named exactly once.
//
// Every payload respects Slack's limits: at most 50 blocks a message, at most
// 3,000 characters a section or context text, 150 characters a header and
// 40,000 characters of text a message, truncated on rune boundaries with "…"
// where a single line is longer.
//
// # Delivery and failures
//
// [Notifier.Notify] returns the keys of the alerts actually delivered, so the
// caller marks only those as notified and retries the others on a later
// sweep; [Message.Accepted] is called after each message Slack accepted, so
// the caller records it before the next is posted and a crash repeats at
// most the message in flight. A message is delivered when a webhook answers
// 200 "ok" or chat.postMessage answers ok; anything else that answers 200 (a
// proxy's sign-in page) is [ErrUnexpectedResponse]. A 429 is retried after
// its Retry-After within a budget ([WithRetryBudget]); posts are paced
// ([WithPace]). A post in flight when the context is cancelled gets [Grace]
// to finish. A rate limit past the budget, an authentication failure, an
// unknown channel, a disabled webhook, an answer that is not Slack's, a 5xx,
// no answer or a timeout stops the run (a POST is not idempotent: it is not
// retried at once); a failure specific to one message skips it.
//
// Failures are *[Error] values: errors.Is matches [ErrRateLimited] (with
// [Error.RetryAfter] from Slack's Retry-After header), [ErrAuth],
// [ErrChannelNotFound], [ErrNoService], [ErrTimeout] and
// [ErrUnexpectedResponse] (with [Error.Body]).
//
// # Secrets
//
// The webhook URL and the bot token are [secret.Secret] values. Errors and
// logs never contain them: library errors that quote the request URL (a
// *url.Error) are rebuilt with the URL redacted and scrubbed with
// [secret.Scrub], and so is any quoted answer.
package notify
