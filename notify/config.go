package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// Destination types (the rule model's; see rule.Destination).
const (
	TypeWebhook   = rule.DestWebhook
	TypeSlack     = rule.DestSlack
	TypePagerDuty = rule.DestPagerDuty
)

// Target is one destination resolved for sending: its secret already read from the
// environment or a file.
type Target struct {
	// Name is the destination's name, for errors and logs; Scope its scope (a
	// customer's own, or "*"), for the console's delivery states.
	Name, Scope string
	// Type is TypeWebhook, TypeSlack or TypePagerDuty.
	Type string
	// URL is where requests go (for Slack, the incoming webhook's URL, which is itself
	// a secret; for PagerDuty, the Events API v2 endpoint).
	URL string
	// Secret is the HMAC key that signs every request (X-Hindsight-Signature), none
	// when empty. For PagerDuty it is also the routing key in the body: PagerDuty
	// authenticates events by it and ignores the signature.
	Secret []byte
	// SecretURL is true when URL is itself a secret (a destination's url_from): no
	// Reason then names its host either, which may carry the token (a per-endpoint
	// subdomain), where one naming the host would help with an inline URL.
	SecretURL bool
}

// same reports whether t and u send the same requests.
func (t Target) same(u Target) bool {
	return t.Name == u.Name && t.Type == u.Type && t.URL == u.URL && bytes.Equal(t.Secret, u.Secret) && t.SecretURL == u.SecretURL
}

// Defaults of SenderConfig.
const (
	DefaultTimeout        = 5 * time.Second
	DefaultMaxAttempts    = 6
	DefaultMaxElapsed     = time.Minute
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxRetryAfter  = time.Minute
	DefaultUserAgent      = "hindsight-notify"
)

// SenderConfig configures a Sender. The zero value, after EnsureDefaults, is the
// production configuration.
type SenderConfig struct {
	// Timeout bounds one attempt: connecting (DNS, TCP, TLS), the answer and reading
	// its body. A body still arriving at the timeout is a timeout, retried.
	//
	// This defaults to 5s.
	Timeout time.Duration

	// MaxAttempts is the most requests one Deliver makes, the first included.
	//
	// This defaults to 6.
	MaxAttempts int

	// MaxElapsed is the retry budget: no attempt starts after a wait that would end
	// more than MaxElapsed after the first attempt started. An attempt already started
	// may end up to Timeout later.
	//
	// This defaults to 1m.
	MaxElapsed time.Duration

	// InitialBackoff is the wait after the first failed attempt; each next wait
	// doubles, up to MaxBackoff, and each is jittered by ±50% (so a wait may reach
	// 1.5×MaxBackoff).
	//
	// This defaults to 200ms.
	InitialBackoff time.Duration

	// MaxBackoff caps the backoff's interval.
	//
	// This defaults to 10s.
	MaxBackoff time.Duration

	// MaxRetryAfter caps an honoured Retry-After (on 429 or 503): a longer one is
	// waited for MaxRetryAfter. A Retry-After whose wait would overrun MaxElapsed ends
	// the retries: the alert is undelivered. This is the flag --notify-max-retry-after.
	//
	// This defaults to 1m.
	MaxRetryAfter time.Duration

	// OnRetryAfterCapped, if set, is called each time a Retry-After longer than
	// MaxRetryAfter is waited for MaxRetryAfter instead.
	//
	// This defaults to nil.
	OnRetryAfterCapped func()

	// AllowPrivate lets requests reach private, loopback, link-local, unspecified,
	// multicast, broadcast, carrier-grade NAT (100.64.0.0/10) and IPv6 unique-local
	// addresses (also IPv4-mapped or NAT64 forms of those), which are refused at
	// dial time otherwise: a destination is written by whoever may edit controls, and
	// must not reach the network the stage runs in (cloud metadata, admin ports).
	// This is the flag --notify-allow-private.
	//
	// This defaults to false.
	AllowPrivate bool

	// UserAgent is every request's User-Agent.
	//
	// This defaults to "hindsight-notify".
	UserAgent string

	// Now is the clock of X-Hindsight-Timestamp (and of Retry-After dates).
	//
	// This defaults to time.Now.
	Now func() time.Time

	// OnAttempt, if set, is called after each failed attempt that will be retried
	// (for a "retrying" delivery state): which attempt failed (1 for the first), why,
	// and the wait before the next. It runs on Deliver's goroutine, before the wait.
	//
	// This defaults to nil.
	OnAttempt func(t Target, a *contract.Alert, attempt int, reason string, wait time.Duration)

	// OnRequest, if set, is called as each attempt is made, before its request goes
	// (a refused dial counts, as in Outcome.Attempts), with the target it goes to: a
	// count kept from it shows the requests of a delivery still retrying, which
	// Outcome.Attempts tells only once the delivery ends. It runs on Deliver's
	// goroutine.
	//
	// This defaults to nil.
	OnRequest func(t Target, a *contract.Alert)
}

// EnsureDefaults returns c with its zero fields set to their defaults.
func (c SenderConfig) EnsureDefaults() SenderConfig {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxElapsed == 0 {
		c.MaxElapsed = DefaultMaxElapsed
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first field of c that makes no sense once defaults are filled
// (zero fields are their defaults, so they are fine).
func (c SenderConfig) Validate() error {
	d := c.EnsureDefaults()
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"Timeout", d.Timeout}, {"MaxElapsed", d.MaxElapsed}, {"InitialBackoff", d.InitialBackoff},
		{"MaxBackoff", d.MaxBackoff}, {"MaxRetryAfter", d.MaxRetryAfter},
	} {
		if f.v < 0 {
			return fmt.Errorf("notify: sender config: %s is negative (%s)", f.name, f.v)
		}
	}
	switch {
	case d.MaxAttempts < 0:
		return fmt.Errorf("notify: sender config: MaxAttempts is negative (%d)", d.MaxAttempts)
	case d.MaxBackoff < d.InitialBackoff:
		return fmt.Errorf("notify: sender config: MaxBackoff (%s) is below InitialBackoff (%s)", d.MaxBackoff, d.InitialBackoff)
	case strings.ContainsAny(d.UserAgent, "\r\n\x00"):
		return errors.New("notify: sender config: UserAgent contains a line break or NUL")
	}
	return nil
}
