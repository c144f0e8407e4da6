package notify

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// secretPath is in every test destination's URL: no Reason may quote it (a Slack
// webhook's path is its token).
const secretPath = "/hook/s3cr3t-path"

func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

// trickle answers 200 at once, then writes its body a byte every 20ms until the client
// goes away.
func trickle(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	stop := time.After(5 * time.Second)
	for {
		if _, err := w.Write([]byte("x")); err != nil || rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// closedPort is an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type attemptCall struct {
	attempt int
	reason  string
	wait    time.Duration
}

// TestDeliverReceivers delivers to real loopback receivers that fail in each way, and
// checks the outcome, each retry's reason and wait, and that every request carried the
// Idempotency-Key and a signature valid by the doc.
func TestDeliverReceivers(t *testing.T) {
	t.Parallel()
	// timeoutCase is the attempt timeout of the cases that wait it out: long enough
	// that a loaded machine's answer of the attempt after it (and the 200 status
	// before a trickled body) comes within it.
	const timeoutCase = 2 * time.Second
	status := func(code int, body string) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			w.Write([]byte(body))
		}
	}
	// firstThen answers the first request with first, the others 200.
	firstThen := func(first func(int, http.ResponseWriter, *http.Request)) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				first(n, w, r)
				return
			}
			w.Write([]byte("ok"))
		}
	}
	tooMany := func(retryAfter string) func(int, http.ResponseWriter, *http.Request) {
		return func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}
	for _, tc := range []struct {
		name    string
		cfg     func(*SenderConfig)
		respond func(int, http.ResponseWriter, *http.Request) // nil: nothing listens
		want    Outcome                                       // all but Elapsed; Attempts -1: not checked
		// retries are what OnAttempt was told, a reason each (exact) and, if not zero,
		// the wait.
		retries []attemptCall
		hits    int // requests the receiver saw; -1: not checked
		check   func(t *testing.T, hits []hit, out Outcome)
	}{{
		name:    "500 then 200",
		respond: firstThen(status(500, "boom")),
		want:    Outcome{Delivered: true, Attempts: 2, Status: 200},
		retries: []attemptCall{{1, "HTTP 500: boom", 0}},
		hits:    2,
	}, {
		name:    "429 with Retry-After 1 then 200",
		respond: firstThen(tooMany("1")),
		want:    Outcome{Delivered: true, Attempts: 2, Status: 200},
		retries: []attemptCall{{1, "HTTP 429", time.Second}},
		hits:    2,
		check: func(t *testing.T, hits []hit, _ Outcome) {
			// The receiver's clock: the second request came at least the second after
			// the first that Retry-After asked for (the first's answer followed its
			// arrival, and the wait followed that).
			if gap := hits[1].at.Sub(hits[0].at); gap < time.Second {
				t.Errorf("second request %s after the first, want ≥ 1s", gap)
			}
		},
	}, {
		name:    "429 with Retry-After capped by MaxRetryAfter",
		cfg:     func(c *SenderConfig) { c.MaxRetryAfter = 100 * time.Millisecond },
		respond: firstThen(tooMany("30")),
		want:    Outcome{Delivered: true, Attempts: 2, Status: 200},
		retries: []attemptCall{{1, "HTTP 429", 100 * time.Millisecond}},
		hits:    2,
	}, {
		name:    "429 with Retry-After beyond the budget",
		cfg:     func(c *SenderConfig) { c.MaxElapsed = 2 * time.Second },
		respond: tooMany("3600"),
		want:    Outcome{Attempts: 1, Status: 429, Reason: "HTTP 429 after 1 attempt (Retry-After 3600 is beyond the retry budget of 2s)"},
		hits:    1,
	}, {
		name:    "429 with a Retry-After of 5,000 digits, quoted cut",
		cfg:     func(c *SenderConfig) { c.MaxElapsed = 2 * time.Second },
		respond: tooMany(strings.Repeat("9", 5000)),
		want:    Outcome{Attempts: 1, Status: 429, Reason: "HTTP 429 after 1 attempt (Retry-After " + strings.Repeat("9", 31) + "… is beyond the retry budget of 2s)"},
		hits:    1,
	}, {
		name:    "always 500",
		respond: status(500, "boom"),
		want:    Outcome{Attempts: 3, Status: 500, Reason: "HTTP 500 after 3 attempts: boom"},
		retries: []attemptCall{{1, "HTTP 500: boom", 0}, {2, "HTTP 500: boom", 0}},
		hits:    3,
	}, {
		name: "always 503 until the budget is spent",
		// A budget of 1s, not 300ms: an attempt slower than 300ms (a loaded race
		// pass) spent it, leaving no second. The waits are at least 25ms (50ms,
		// randomized by half), so more than 1s/25ms+1 attempts would be past the budget.
		cfg: func(c *SenderConfig) {
			c.MaxAttempts, c.MaxElapsed, c.InitialBackoff, c.MaxBackoff = 100, time.Second, 50*time.Millisecond, 100*time.Millisecond
		},
		respond: status(503, ""),
		want:    Outcome{Attempts: -1, Status: 503, Reason: "HTTP 503 after * attempts (retry budget of 1s spent)"},
		hits:    -1,
		check: func(t *testing.T, hits []hit, out Outcome) {
			if out.Attempts < 2 || out.Attempts > 41 || len(hits) != out.Attempts {
				t.Errorf("%d attempts, receiver saw %d; want 2 to 41, each seen", out.Attempts, len(hits))
			}
		},
	}, {
		name:    "404 is final",
		respond: status(404, "no such hook\n"),
		want:    Outcome{Attempts: 1, Status: 404, Final: true, Reason: "HTTP 404 (final): no such hook"},
		hits:    1,
	}, {
		name:    "hang past the timeout then 200",
		cfg:     func(c *SenderConfig) { c.Timeout = timeoutCase },
		respond: firstThen(func(_ int, w http.ResponseWriter, r *http.Request) { hang(w, r) }),
		want:    Outcome{Delivered: true, Attempts: 2, Status: 200},
		retries: []attemptCall{{1, "timeout after 2s", 0}},
		hits:    2,
	}, {
		name: "connection refused",
		want: Outcome{Attempts: 3, Reason: "connection refused after 3 attempts"},
		retries: []attemptCall{
			{1, "connection refused", 0}, {2, "connection refused", 0},
		},
	}, {
		name: "connection closed without an answer then 200",
		respond: firstThen(func(_ int, w http.ResponseWriter, _ *http.Request) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}),
		want:    Outcome{Delivered: true, Attempts: 2, Status: 200},
		retries: []attemptCall{{1, "connection closed before the answer ended (EOF)", 0}},
		hits:    2,
	}, {
		name:    "slow body then 200",
		cfg:     func(c *SenderConfig) { c.Timeout = timeoutCase },
		respond: firstThen(func(_ int, w http.ResponseWriter, r *http.Request) { trickle(w, r) }),
		want:    Outcome{Delivered: true, Attempts: 2, Status: 200},
		retries: []attemptCall{{1, "timeout after 2s", 0}},
		hits:    2,
	}, {
		name: "slow body always",
		// Two attempts of timeoutCase: the status (200) is the one answered before the body.
		cfg:     func(c *SenderConfig) { c.Timeout, c.MaxAttempts = timeoutCase, 2 },
		respond: func(_ int, w http.ResponseWriter, r *http.Request) { trickle(w, r) },
		want:    Outcome{Attempts: 2, Status: 200, Reason: "timeout after 2s (2 attempts)"},
		retries: []attemptCall{{1, "timeout after 2s", 0}},
		hits:    2,
	}, {
		name: "redirect is final",
		respond: func(_ int, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == secretPath {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			w.Write([]byte("followed"))
		},
		want: Outcome{Attempts: 1, Status: 302, Final: true, Reason: "HTTP 302 (final): redirect not followed"},
		hits: 1,
		check: func(t *testing.T, hits []hit, _ Outcome) {
			if hits[0].path != secretPath {
				t.Errorf("request to %q", hits[0].path)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rc *receiver
			url := "http://" + closedPort(t) + secretPath
			if tc.respond != nil {
				rc = newReceiver(t, tc.respond)
				url = rc.srv.URL + secretPath
			}
			var calls []attemptCall
			cfg := testConfig()
			// Not testConfig's 300ms per attempt, which these cases are not about: an
			// answer slower than that (a loaded race pass) timed the attempt out, and a
			// case that wants that answer saw a timeout and more attempts. The cases of
			// a timeout set timeoutCase.
			cfg.Timeout = 10 * time.Second
			cfg.OnAttempt = func(tg Target, a *contract.Alert, attempt int, reason string, wait time.Duration) {
				if tg.Name != "hook" || a.AlertID != testAlert().AlertID {
					t.Errorf("OnAttempt for %q, alert %s", tg.Name, a.AlertID)
				}
				calls = append(calls, attemptCall{attempt, reason, wait})
			}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s := newSender(t, cfg)
			a := testAlert()
			out := s.Deliver(context.Background(), Target{Name: "hook", Type: TypeWebhook, URL: url, Secret: testSecret}, a)

			got := out
			got.Elapsed = 0
			want := tc.want
			if want.Attempts < 0 {
				want.Attempts = got.Attempts
			}
			if pre, post, ok := strings.Cut(want.Reason, "*"); ok && strings.HasPrefix(got.Reason, pre) && strings.HasSuffix(got.Reason, post) {
				want.Reason = got.Reason
			}
			if got != want {
				t.Errorf("outcome\n got %+v\nwant %+v", got, want)
			}
			if out.Elapsed <= 0 {
				t.Errorf("Elapsed %s", out.Elapsed)
			}
			if strings.Contains(out.Reason, "s3cr3t") {
				t.Errorf("reason %q quotes the URL", out.Reason)
			}
			// One OnAttempt per retried attempt (the budget case's count varies).
			if tc.want.Attempts >= 0 && len(calls) != len(tc.retries) {
				t.Errorf("OnAttempt calls %+v, want %+v", calls, tc.retries)
			}
			for i := range min(len(calls), len(tc.retries)) {
				c, w := calls[i], tc.retries[i]
				if c.attempt != w.attempt || c.reason != w.reason || (w.wait != 0 && c.wait != w.wait) || c.wait < 0 {
					t.Errorf("OnAttempt call %d: %+v, want %+v", i, c, w)
				}
			}
			if rc == nil {
				return
			}
			hits := rc.seen()
			if tc.hits >= 0 && len(hits) != tc.hits {
				t.Fatalf("receiver saw %d requests, want %d", len(hits), tc.hits)
			}
			checkHits(t, hits, a)
			if tc.check != nil {
				tc.check(t, hits, out)
			}
		})
	}
}

// TestDeliverBadTarget: a target that cannot be sent to is final before any request,
// and the reason does not quote its URL.
func TestDeliverBadTarget(t *testing.T) {
	t.Parallel()
	s := newSender(t, testConfig())
	for _, tc := range []struct {
		name   string
		target Target
		reason string
	}{
		{"scheme", Target{Name: "x", Type: TypeWebhook, URL: "ftp://example.com/s3cr3t"}, `bad URL: scheme "ftp" is not http or https`},
		{"user info", Target{Name: "x", Type: TypeWebhook, URL: "https://u:s3cr3t@example.com/"}, "bad URL: user info (user:password@) is not allowed; sign with the destination's secret instead"},
		{"unparsable", Target{Name: "x", Type: TypeWebhook, URL: "http://example.com/s3cr3t%zz"}, `bad URL: invalid URL escape "%zz"`},
		{"no host", Target{Name: "x", Type: TypeWebhook, URL: "https:///s3cr3t"}, "bad URL: no host"},
		// url.Parse takes any digits; every dial refuses them, so retrying is futile.
		{"port", Target{Name: "x", Type: TypeWebhook, URL: "http://127.0.0.1:99999/s3cr3t"}, "bad URL: port 99999 is not a number from 1 to 65535"},
		{"type", Target{Name: "x", Type: "email", URL: "https://example.com/s3cr3t"}, `notify: destination "x": unknown type "email" (want webhook, slack or pagerduty)`},
		{"pagerduty without routing key", Target{Name: "pd", Type: TypePagerDuty, URL: "https://events.pagerduty.com/v2/enqueue"}, `notify: destination "pd": a pagerduty destination needs its routing key as the secret`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := s.Deliver(context.Background(), tc.target, testAlert())
			want := Outcome{Final: true, Reason: tc.reason}
			out.Elapsed = 0
			if out != want {
				t.Errorf("outcome\n got %+v\nwant %+v", out, want)
			}
		})
	}
}

// TestDeliverCanceled: when ctx ends, Deliver returns promptly, Canceled and not
// delivered, whether it was waiting to retry or waiting on the receiver.
func TestDeliverCanceled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		respond  func(n int, w http.ResponseWriter, r *http.Request, cancel func())
		cfg      func(c *SenderConfig, cancel func())
		before   bool // cancel before Deliver
		attempts int
	}{{
		name: "during the backoff wait",
		respond: func(_ int, w http.ResponseWriter, _ *http.Request, _ func()) {
			w.WriteHeader(http.StatusInternalServerError)
		},
		cfg: func(c *SenderConfig, cancel func()) {
			// The wait would be 10-30s; the test cancels 50ms into it.
			c.InitialBackoff, c.MaxBackoff, c.MaxElapsed = 20*time.Second, 20*time.Second, time.Minute
			c.OnAttempt = func(Target, *contract.Alert, int, string, time.Duration) { time.AfterFunc(50*time.Millisecond, cancel) }
		},
		attempts: 1,
	}, {
		name: "during an attempt",
		respond: func(_ int, w http.ResponseWriter, r *http.Request, cancel func()) {
			cancel()
			hang(w, r)
		},
		cfg:      func(c *SenderConfig, _ func()) { c.Timeout = 20 * time.Second },
		attempts: 1,
	}, {
		name:     "before Deliver",
		respond:  func(int, http.ResponseWriter, *http.Request, func()) {},
		before:   true,
		attempts: 0,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { tc.respond(n, w, r, cancel) })
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg, cancel)
			}
			if tc.before {
				cancel()
			}
			s := newSender(t, cfg)
			out := s.Deliver(ctx, Target{Name: "hook", Type: TypeWebhook, URL: rc.srv.URL, Secret: testSecret}, testAlert())
			if out.Delivered || !out.Canceled || out.Final || out.Reason != "canceled" || out.Attempts != tc.attempts {
				t.Errorf("outcome %+v, want canceled after %d attempts", out, tc.attempts)
			}
			// Promptly: well before any wait or timeout the config would make.
			if out.Elapsed > 5*time.Second {
				t.Errorf("returned after %s", out.Elapsed)
			}
			if len(rc.seen()) != tc.attempts {
				t.Errorf("receiver saw %d requests, want %d", len(rc.seen()), tc.attempts)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"Thu, 01 Jan 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Thursday, 01-Jan-26 12:01:00 GMT", time.Minute, true}, // RFC 850, which RFC 9110 still accepts
		{"Thu, 01 Jan 2026 11:00:00 GMT", 0, true},              // past: no wait
		{"99999999999999999999", 1<<63 - 1, true},               // beyond uint63: saturates too (delta-seconds have no bound)
		{"9999999999", 1<<63 - 1, true},                         // seconds that overflow a Duration saturate
		{"+5", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRetryAfter(tc.v, now)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSenderConfig(t *testing.T) {
	t.Parallel()
	d := SenderConfig{}.EnsureDefaults()
	if d.Timeout != 5*time.Second || d.MaxAttempts != 6 || d.MaxElapsed != time.Minute ||
		d.InitialBackoff != 200*time.Millisecond || d.MaxBackoff != 10*time.Second ||
		d.MaxRetryAfter != time.Minute || d.AllowPrivate || d.UserAgent != "hindsight-notify" || d.Now == nil || d.OnAttempt != nil {
		t.Errorf("defaults %+v", d)
	}
	if err := (SenderConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  SenderConfig
		want string
	}{
		{"negative timeout", SenderConfig{Timeout: -time.Second}, "notify: sender config: Timeout is negative (-1s)"},
		{"negative attempts", SenderConfig{MaxAttempts: -1}, "notify: sender config: MaxAttempts is negative (-1)"},
		{"negative budget", SenderConfig{MaxElapsed: -1}, "notify: sender config: MaxElapsed is negative (-1ns)"},
		{"backoff cap below start", SenderConfig{InitialBackoff: time.Second, MaxBackoff: 500 * time.Millisecond}, "notify: sender config: MaxBackoff (500ms) is below InitialBackoff (1s)"},
		{"backoff cap below default start", SenderConfig{MaxBackoff: 100 * time.Millisecond}, "notify: sender config: MaxBackoff (100ms) is below InitialBackoff (200ms)"},
		{"user agent with a line break", SenderConfig{UserAgent: "x\r\nX-Evil: 1"}, "notify: sender config: UserAgent contains a line break or NUL"},
	} {
		err := tc.cfg.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
		if s, err := NewSender(tc.cfg); err == nil || s != nil {
			t.Errorf("%s: NewSender accepted it", tc.name)
		}
	}
}
