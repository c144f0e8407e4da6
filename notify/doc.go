// Package notify delivers alerts to destinations over HTTP: one alert to one destination
// per Deliver, with retries, a signature and outbound safety. The notify stage's
// consumer, queues and controls call it; docs/notifications.md is the receivers' side.
//
// Contract:
//
//   - A request is a POST of Body(t, a): the alert's JSON for a webhook, an
//     incoming-webhook message for Slack, an Events API v2 event for PagerDuty. Every
//     request carries Content-Type application/json, the User-Agent, Idempotency-Key
//     (IdempotencyKey: alert_id:status, the same on every attempt and every redelivery)
//     and X-Hindsight-Timestamp (Unix seconds of that attempt); with a secret, also
//     X-Hindsight-Signature (Sign: "v1=" and hex HMAC-SHA256 over timestamp "." body).
//   - Delivery is at least once: a receiver may see an alert twice (an answer lost on
//     the way back, a restart of the stage) and dedupes by Idempotency-Key.
//   - A 2xx answer delivers, once up to 64 KiB of its body has been read within the
//     attempt's timeout. Timeouts (connect, answer or body), connection errors, 429 and
//     5xx are retried with exponential backoff and jitter; a Retry-After on 429 or 503
//     replaces the backoff's wait (capped at MaxRetryAfter). Any other answer (a 4xx, a
//     redirect, which is never followed), a forbidden address, a TLS certificate that
//     does not verify and a bad URL or body end the delivery at once: Outcome.Final.
//   - Retries stop after MaxAttempts attempts, or when the next wait would end past
//     MaxElapsed from the first attempt; the alert is then undelivered and the caller
//     records it so (the undelivered topic). When ctx ends first the Outcome is
//     Canceled: neither delivered nor undelivered, for the caller to deliver later.
//   - Unless AllowPrivate, the dialer refuses private, loopback, link-local,
//     unspecified, multicast, broadcast, carrier-grade NAT (100.64.0.0/10) and IPv6
//     unique-local addresses, also in IPv4-mapped and NAT64 form, after DNS has
//     resolved the name: a name that resolves (or rebinds) to such an address is
//     refused as an IP literal is. Proxies from the environment are not used. CheckURL
//     applies the same test to IP literals and localhost when a destination is applied.
//   - A destination URL can itself be a secret (a Slack webhook's path is its token):
//     no error or Reason quotes it, nor, for one read through url_from
//     (Target.SecretURL), its host, which may carry the token: a name that does not
//     resolve is "DNS lookup of the destination's host: no such host".
//
// A Sender is safe for concurrent use; it holds one HTTP client and its connection
// pool. It depends on contract.
//
// The Stage holds, besides the deliveries its destinations' queues bound, an entry for
// each alert read whose deliveries are open, to commit below it; the alerts read since
// a partition's oldest open one (what a restart delivers again) are at most
// Config.MaxPending over the partitions, at which reading waits until the oldest are
// handled. A queued delivery keeps its alert and its record's partition and offset, not
// the record, whose bytes are its whole fetch's.
//
// The Stage remembers, per partition and in memory, the firings it read until it reads
// their resolves, at most Config.MaxOpenFirings (open.go): a resolve follows its firing
// (muted if it was and a mute covered the alert at the resolve's time, else sent where
// it went whatever mute is in force), and a muted firing still open is sent when its
// mute ends and its partition's reading has passed that end (up to the end offset
// listed after it, by offset alone: an unread record could be its resolve), or before
// its resolve if no mute covered the alert at the resolve's time. A partition assigned
// is not fetched
// until the muted firings still open among its alerts of the last Config.RememberFor
// before its committed offset are remembered again (reread.go), so that a restart or a
// rebalance does not forget them. One older is not: its resolve, sent alone, is what
// counts Config.RememberFor reached (a partition whose alerts go further back is not).
//
// A destination's secret and url_from name an environment variable or a file, written
// by whoever may write controls: the Stage reads only variables whose names start with
// Config.SecretEnvPrefix and regular files inside Config.SecretDirs (symbolic links
// resolved), opened without blocking, at most Config.MaxSecretBytes; any other reference
// makes the delivery undelivered, its reason naming the flag and never the secret.
package notify
