// Package notify delivers the monitor's alerts: to Slack through an incoming
// webhook ([NewWebhook]) or a bot token and channel ([NewBot], Web API
// chat.postMessage), both built on github.com/slack-go/slack, or as plain
// text to a writer ([NewLog]) for runs without Slack.
//
// # Messages
//
// A [Message] is one sweep's worth of notifications: firing alerts (new or
// reminders), resolved alerts and proposed IP-pool tier changes. [Blocks]
// turns it into Slack payloads (Block Kit blocks plus a plain-text fallback);
// [Text] renders it as plain text.
//
// With at most the digest threshold of alerts (default 5, see
// [WithDigestThreshold]) each account gets its own message, listing its
// alerts with old → new values, the metric that fell, since when and
// SendGrid's advice; resolved alerts are one line each. Above the threshold
// the whole sweep goes out as one digest grouped by severity (critical,
// warning, info, then resolved), the top N of each group (see [WithTopN])
// followed by "…and K more", then the proposed IP-pool moves.
//
// Every payload respects Slack's limits: at most 50 blocks a message, at most
// 3,000 characters a section or context text and 150 characters a header,
// truncated on rune boundaries with "…".
//
// # Delivery and failures
//
// [Notifier.Notify] returns the keys of the alerts actually delivered, so the
// caller marks only those as notified and retries the others on a later
// sweep. Per-account messages are delivered one by one: a rate limit
// (HTTP 429), an authentication failure, an unknown channel, a disabled
// webhook or a timeout stops the run (later messages would fail the same way,
// and retrying at once would only hammer Slack); other failures skip that
// message and go on. A digest is delivered all or nothing.
//
// Failures are *[Error] values: errors.Is matches [ErrRateLimited] (with
// [Error.RetryAfter] from Slack's Retry-After header), [ErrAuth],
// [ErrChannelNotFound], [ErrNoService] and [ErrTimeout].
//
// # Secrets
//
// The webhook URL and the bot token are [secret.Secret] values. Errors and
// logs never contain them: library errors that quote the request URL (a
// *url.Error) are rebuilt with the URL redacted and scrubbed with
// [secret.Scrub].
package notify
