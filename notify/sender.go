package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/cenkalti/backoff/v5"

	"github.com/hindsightdev/hindsight/contract"
)

const (
	// maxDrain is how much of a 2xx answer's body is read: enough for any receipt, and
	// reading it lets the connection be reused.
	maxDrain = 64 << 10
	// maxDetail is how much of a failed answer's body is read, and detailText how much
	// of it a Reason quotes (Slack and PagerDuty say what was wrong in it).
	maxDetail  = 4 << 10
	detailText = 200
	// retryAfterText is how much of a Retry-After a Reason quotes: an HTTP-date is 29.
	retryAfterText = 32
)

// errAttemptTimeout is the cause of an attempt's context when its Timeout ran out, to
// tell it from the caller's context ending.
var errAttemptTimeout = errors.New("notify: attempt timed out")

// Outcome is what one Deliver came to.
type Outcome struct {
	// Delivered is true when the destination answered 2xx.
	Delivered bool
	// Attempts is the number of requests made (or tried: a refused dial counts).
	Attempts int
	// Status is the last attempt's HTTP status, 0 if it got no answer.
	Status int
	// Reason is why the alert was not delivered, "" when it was: "HTTP 500 after 6
	// attempts", "HTTP 404 (final)", "timeout after 5s (6 attempts)", "connection
	// refused after 6 attempts", "address 10.0.0.1 is private (allow with
	// --notify-allow-private)", "canceled".
	Reason string
	// Final is true when an answer that no retry would change ended the delivery: a
	// 4xx other than 429, a redirect, a forbidden address, a bad URL or body, an alert
	// whose id or status is no header value, a TLS certificate that does not verify.
	Final bool
	// Canceled is true when ctx ended before the delivery did (Reason "canceled"). The
	// alert is then neither delivered nor undelivered: the caller delivers it again
	// later rather than record it undelivered.
	Canceled bool
	// Elapsed is Deliver's wall time, retries and waits included.
	Elapsed time.Duration
	// Stopped is the error a Recheck ended the delivery with before a retry; nil
	// otherwise. The caller decides what it means (Reason is then empty).
	Stopped error
}

// Recheck is asked, before each retry, what the delivery is to be now: the target to
// send to (a control may have changed the destination's URL or secret while the alert
// waited), or an error that ends the delivery (Outcome.Stopped), for one no longer to
// be made at all.
type Recheck func() (Target, error)

// Sender delivers alerts. It is safe for concurrent use.
type Sender struct {
	cfg       SenderConfig
	transport *http.Transport
	client    *http.Client
}

// NewSender returns a Sender of cfg (defaults filled). Its one HTTP client refuses
// forbidden addresses at dial time unless cfg.AllowPrivate, follows no redirect and
// uses no proxy from the environment: a proxy would dial for us, past the check.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.EnsureDefaults()
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = refuseForbidden
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    cfg.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	client := &http.Client{
		Transport: tr,
		// A redirect is answered, not followed: following one would send the alert
		// (and its signature) somewhere the destination's owner did not write down.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Sender{cfg: cfg, transport: tr, client: client}, nil
}

// Close closes the Sender's idle connections. Deliver still works after it (opening
// new ones); Close is for shutting down.
func (s *Sender) Close() { s.transport.CloseIdleConnections() }

// attemptError is why one attempt failed.
type attemptError struct {
	msg      string // "HTTP 500", "timeout after 5s", "connection refused", …
	detail   string // what the answer's body said, quoted in the Reason; may be ""
	final    bool   // no retry would change it
	canceled bool   // the caller's ctx ended
	timeout  bool
	// retryAfter is the wait a Retry-After asked for, capped at MaxRetryAfter;
	// retryAfterText the header as sent. Both are zero without one.
	retryAfter     time.Duration
	retryAfterText string
}

func (e *attemptError) Error() string {
	if e.detail != "" {
		return e.msg + ": " + e.detail
	}
	return e.msg
}

// Deliver sends alert a to t, retrying per the Sender's config until it is delivered,
// an answer is final, the retry budget (MaxAttempts, MaxElapsed) is spent, or ctx
// ends: see Outcome. Every attempt sends the same body and Idempotency-Key, with its
// own timestamp and signature.
func (s *Sender) Deliver(ctx context.Context, t Target, a *contract.Alert) Outcome {
	return s.DeliverRechecking(ctx, t, a, nil)
}

// DeliverRechecking is Deliver with recheck (if not nil) asked before each retry
// what the delivery is now: a new target gets the retries, with the body built for it,
// and an error ends the delivery as Outcome.Stopped.
func (s *Sender) DeliverRechecking(ctx context.Context, t Target, a *contract.Alert, recheck Recheck) Outcome {
	start := time.Now()
	out := s.deliver(ctx, t, a, recheck)
	out.Elapsed = time.Since(start)
	return out
}

func (s *Sender) deliver(ctx context.Context, t Target, a *contract.Alert, recheck Recheck) Outcome {
	if _, err := parseURL(t.URL); err != nil {
		return Outcome{Final: true, Reason: "bad URL: " + strings.TrimPrefix(err.Error(), "notify: destination URL: ")}
	}
	body, err := Body(t, a)
	if err != nil {
		return Outcome{Final: true, Reason: err.Error()}
	}
	key := IdempotencyKey(a)
	if ctx.Err() != nil {
		return Outcome{Canceled: true, Reason: "canceled"}
	}

	var (
		out  Outcome
		last *attemptError
	)
	op := func() (struct{}, error) {
		if out.Attempts > 0 && recheck != nil {
			now, err := recheck()
			if err != nil {
				out.Stopped = err
				return struct{}{}, backoff.Permanent(err)
			}
			if !now.same(t) {
				if body, err = Body(now, a); err != nil {
					last = &attemptError{msg: err.Error(), final: true}
					return struct{}{}, backoff.Permanent(last)
				}
				t = now
			}
		}
		out.Attempts++
		if s.cfg.OnRequest != nil {
			s.cfg.OnRequest(t, a)
		}
		status, aerr := s.attempt(ctx, t, body, key)
		out.Status = status
		if aerr == nil {
			return struct{}{}, nil
		}
		last = aerr
		switch {
		case aerr.final || aerr.canceled:
			return struct{}{}, backoff.Permanent(aerr)
		case aerr.retryAfterText != "":
			return struct{}{}, &backoff.RetryAfterError{Duration: aerr.retryAfter}
		}
		return struct{}{}, aerr
	}
	bo := &resetOnce{ExponentialBackOff: &backoff.ExponentialBackOff{
		InitialInterval:     s.cfg.InitialBackoff,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         s.cfg.MaxBackoff,
	}}
	opts := []backoff.RetryOption{
		backoff.WithBackOff(bo),
		backoff.WithMaxTries(uint(s.cfg.MaxAttempts)),
		backoff.WithMaxElapsedTime(s.cfg.MaxElapsed),
	}
	if s.cfg.OnAttempt != nil {
		opts = append(opts, backoff.WithNotify(func(_ error, wait time.Duration) {
			s.cfg.OnAttempt(t, a, out.Attempts, last.Error(), wait)
		}))
	}
	if _, err := backoff.Retry(ctx, op, opts...); err == nil {
		out.Delivered = true
		return out
	}
	if out.Stopped != nil {
		return out
	}

	switch {
	case last.final:
		out.Final = true
		out.Reason = last.Error()
	case last.canceled || ctx.Err() != nil:
		out.Canceled = true
		out.Reason = "canceled"
	default:
		out.Reason = exhausted(last, out.Attempts)
		if out.Attempts < s.cfg.MaxAttempts {
			if last.retryAfterText != "" {
				out.Reason += fmt.Sprintf(" (Retry-After %s is beyond the retry budget of %s)", last.retryAfterText, s.cfg.MaxElapsed)
			} else {
				out.Reason += fmt.Sprintf(" (retry budget of %s spent)", s.cfg.MaxElapsed)
			}
		}
	}
	return out
}

// exhausted is the Reason of retries run out after n attempts, the last failing so.
func exhausted(last *attemptError, n int) string {
	attempts := strconv.Itoa(n) + " attempts"
	if n == 1 {
		attempts = "1 attempt"
	}
	r := last.msg + " after " + attempts
	if last.timeout {
		r = last.msg + " (" + attempts + ")"
	}
	if last.detail != "" {
		r += ": " + last.detail
	}
	return r
}

// attempt makes one request; it returns the HTTP status (0 without an answer) and,
// unless the alert was delivered, why not.
func (s *Sender) attempt(ctx context.Context, t Target, body []byte, key string) (int, *attemptError) {
	actx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout, errAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &attemptError{msg: "bad URL: " + string(redact([]byte(unwrapURLError(err).Error()), t)), final: true}
	}
	// Only the Sender retries. With GetBody set and an Idempotency-Key, net/http took
	// the POST for one it may replay, and sent it again on a new connection when a
	// kept-alive one closed before the answer: a delivery not counted in the attempts,
	// with the first try's timestamp and signature.
	req.GetBody = nil
	if !validHeaderValue(key) {
		// net/http refuses to send it, before any byte goes out: nothing a retry
		// changes. Not quoted: it holds a control character (the stage skips such
		// records as no alerts, checkAlert).
		return 0, &attemptError{msg: "alert id or status is no header value (a control character in Idempotency-Key) (final)", final: true}
	}
	ts := strconv.FormatInt(s.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	req.Header.Set(HeaderIdempotencyKey, key)
	req.Header.Set(HeaderTimestamp, ts)
	if len(t.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(t.Secret, ts, body))
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return 0, s.failure(ctx, actx, err, t)
	}
	defer resp.Body.Close()
	// The attempt's time bounds reading the answer too, whatever its body is: for a
	// 101 Switching Protocols the transport hands back the raw connection, which no
	// context ends; a receiver that answered so and held it held the worker for ever.
	stop := context.AfterFunc(actx, func() { resp.Body.Close() })
	defer stop()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		// Delivered only once the answer is read: a receiver that stalls its body past
		// the timeout is as broken as one that stalls its headers.
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain)); err != nil {
			return code, s.failure(ctx, actx, err, t)
		}
		return code, nil
	}

	e := &attemptError{msg: "HTTP " + strconv.Itoa(code)}
	switch {
	case code < 200:
		// An informational answer as the final one (101: a protocol switch): nothing
		// to read, and nothing a retry would change.
		e.final = true
		e.msg += " (final)"
		e.detail = "informational answer, not a delivery"
		return code, e
	case code >= 300 && code < 400:
		e.final = true
		e.msg += " (final)"
		e.detail = "redirect not followed"
		return code, e
	case code == http.StatusTooManyRequests || code >= 500 && code < 600:
	default:
		e.final = true
		e.msg += " (final)"
	}
	// The body says why (Slack: "invalid_token", PagerDuty: a JSON error); whatever of
	// it arrives within the attempt's time is quoted, and its absence is no error.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxDetail))
	e.detail = detail(redact(b, t))
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if v := resp.Header.Get("Retry-After"); v != "" {
			if d, ok := parseRetryAfter(v, s.cfg.Now()); ok {
				// Quoted cut, as a body is: a receiver's header of 64 KiB of digits made
				// a reason of that size in every undelivered record and log line.
				e.retryAfter, e.retryAfterText = min(d, s.cfg.MaxRetryAfter), clip(v, retryAfterText)
				if d > s.cfg.MaxRetryAfter && s.cfg.OnRetryAfterCapped != nil {
					s.cfg.OnRetryAfterCapped()
				}
			}
		}
	}
	return code, e
}

// failure classifies an attempt's transport error err. ctx is the caller's context,
// actx the attempt's.
func (s *Sender) failure(ctx, actx context.Context, err error, t Target) *attemptError {
	var (
		forbidden *ForbiddenAddressError
		dnsErr    *net.DNSError
		certErr   *tls.CertificateVerificationError
	)
	switch {
	case ctx.Err() != nil:
		return &attemptError{msg: "canceled", canceled: true}
	case errors.As(err, &forbidden):
		return &attemptError{msg: forbidden.Error(), final: true}
	case context.Cause(actx) == errAttemptTimeout || errors.Is(err, os.ErrDeadlineExceeded):
		return &attemptError{msg: "timeout after " + s.cfg.Timeout.String(), timeout: true}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &attemptError{msg: "connection refused"}
	case errors.Is(err, syscall.ECONNRESET):
		return &attemptError{msg: "connection reset"}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return &attemptError{msg: "connection closed before the answer ended (EOF)"}
	case errors.As(err, &dnsErr):
		return &attemptError{msg: "DNS lookup of " + hostOf(t, dnsErr.Name) + ": " + dnsErr.Err}
	case errors.As(err, &certErr):
		// A certificate does not fix itself within a retry budget. A name mismatch
		// quotes the host asked for, a secret one's too ("valid for …, not <host>").
		var hostErr x509.HostnameError
		if t.SecretURL && errors.As(certErr.Err, &hostErr) {
			return &attemptError{msg: "TLS certificate: not valid for the destination's host", final: true}
		}
		return &attemptError{msg: "TLS certificate: " + string(redact([]byte(certErr.Err.Error()), t)), final: true}
	}
	// net/http's own errors quote what a malformed answer said, which can be the
	// request's path back ("Cannot POST /services/T0/B0/…"): a Slack URL's secret.
	return &attemptError{msg: string(redact([]byte(unwrapURLError(err).Error()), t))}
}

// hostOf is how a Reason names host, t's: itself, unless t's URL is a secret, whose
// host may carry the token (a per-endpoint subdomain).
func hostOf(t Target, host string) string {
	if t.SecretURL {
		return "the destination's host"
	}
	return host
}

// unwrapURLError drops url.Error's wrapping, which quotes the URL (a secret for Slack).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads a Retry-After value, delta-seconds or an HTTP-date (RFC 9110
// §10.2.3), as a wait from now; a date already past is no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	n, err := strconv.ParseUint(v, 10, 63)
	switch {
	case err == nil && n <= uint64(1<<63-1)/uint64(time.Second):
		return time.Duration(n) * time.Second, true
	case err == nil || errors.Is(err, strconv.ErrRange):
		// Delta-seconds have no length bound (RFC 9110): digits past what a Duration,
		// or even 63 bits, holds are the longest wait, beyond any retry budget. Ignored,
		// they had the receiver asked again at once, on the short backoff.
		return 1<<63 - 1, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// redact takes out of a failed answer's body what t's URL and secret would reveal: a
// receiver that echoes the request (Express's "Cannot POST /path", a body quoted back, a
// refused token named) would put a Slack webhook's token, which is its path, a token in
// its query, or a routing key into the Reason, which goes to the undelivered topic, logs
// and the console. Each piece goes as it is and as JSON writes it (a receiver that
// echoes the request in JSON may escape each '/' as "\/", as PHP's json_encode does, or
// '&' as "\u0026", as Go's does), and each segment of the path goes on its own (a
// receiver may quote only the token of a Slack webhook's path). Pieces shorter than
// minRedact are left: no credential is that short, and taking out every "e" of a
// one-letter secret would garble the answer.
func redact(b []byte, t Target) []byte {
	pieces := []string{t.URL, string(t.Secret)}
	if u, err := url.Parse(t.URL); err == nil {
		pieces = append(pieces, u.EscapedPath(), u.Path, u.RawQuery)
		if t.SecretURL {
			// A secret URL's host may be its token (a per-endpoint subdomain), and a
			// transport error quotes it ("dial tcp: lookup <host>: …").
			pieces = append(pieces, u.Host, u.Hostname())
		}
		pieces = append(pieces, strings.Split(u.EscapedPath(), "/")...)
		pieces = append(pieces, strings.Split(u.Path, "/")...)
		for _, vs := range u.Query() {
			for _, v := range vs {
				pieces = append(pieces, v, url.QueryEscape(v))
			}
		}
	}
	var secrets [][]byte
	for _, p := range pieces {
		if len(p) < minRedact {
			continue
		}
		js, _ := json.Marshal(p) // a string always encodes
		js = js[1 : len(js)-1]
		for _, v := range []string{p, string(js)} {
			secrets = append(secrets, []byte(v), []byte(strings.ReplaceAll(v, "/", `\/`)))
		}
	}
	// Longest first: a piece inside another is taken out with it.
	slices.SortFunc(secrets, func(x, y []byte) int { return len(y) - len(x) })
	for _, s := range secrets {
		if len(s) >= minRedact {
			b = bytes.ReplaceAll(b, s, []byte("…"))
		}
	}
	return b
}

// minRedact is the shortest piece of a destination's URL or secret redact takes out.
const minRedact = 6

// detail is a failed answer's body made fit for a Reason: one line of valid UTF-8, cut
// to detailText characters.
func detail(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	return clip(s, detailText)
}

// resetOnce is a backoff whose Reset works once, at the start of backoff.Retry. Retry
// also resets it after a Retry-After, which would start the doubling over at the
// initial interval: a receiver that said it is overloaded would be retried sooner after
// it. A Retry-After is waited instead of one backoff (docs/notifications.md), and the
// doubling goes on after it.
type resetOnce struct {
	*backoff.ExponentialBackOff
	done bool
}

func (b *resetOnce) Reset() {
	if !b.done {
		b.done = true
		b.ExponentialBackOff.Reset()
	}
}
