package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// hookReceiver is a loopback webhook receiver that dedupes by Idempotency-Key, as
// docs/notifications.md tells receivers to, and verifies each request's signature. It
// answers after a random delay of delay/4 to 5/4 delay.
type hookReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]int // requests per key
	badSigs  int
	requests int
}

func newHookReceiver(t *testing.T, secret string, delay time.Duration) *hookReceiver {
	h := &hookReceiver{keys: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(notify.HeaderTimestamp)
		ok := r.Header.Get(notify.HeaderSignature) == notify.Sign([]byte(secret), ts, body)
		// Deliveries are in flight when the daemon is killed; one whose sender went away
		// before the answer was not delivered, as far as the sender knows.
		select {
		case <-time.After(delay/4 + rand.N(delay)):
		case <-r.Context().Done():
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.requests++
		if !ok {
			h.badSigs++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.keys[r.Header.Get(notify.HeaderIdempotencyKey)]++
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) distinct() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k := range h.keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestNotifyKill9: the built binary delivers a rule's alerts to a webhook named by
// destinations apply, and is killed with SIGKILL during delivery, again and again. At
// the end the receiver's set of (alert_id, status), after dedupe, is exactly the
// alerts the rule raised: none lost, none invented, every signature valid.
func TestNotifyKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: kill -9 during delivery: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2, MinSessionTimeout: 200 * time.Millisecond})
	dir := t.TempDir()
	hindsightBinary(t)
	const secret = "kill9-secret"
	env := []string{"HINDSIGHT_SECRET_TEST_HOOK_KEY=" + secret} // the daemons' environment, not the test's: t.Setenv forbids t.Parallel
	recv := newHookReceiver(t, secret, 600*time.Millisecond)

	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, `rules:
  - id: first-login
    scope: "*"
    when: {path: $.type, op: ==, value: login}
    threshold: 1
    alert: {severity: high, notify: [hook]}
destinations:
  - {scope: "*", name: hook, type: webhook, url: "`+recv.srv.URL+`/alerts", secret: {env: HINDSIGHT_SECRET_TEST_HOOK_KEY}}
`)
	if out, err := run(t, "", "rules", "apply", "-f", rules, "--brokers", b.Addr, "--allow-private"); err != nil {
		t.Fatalf("rules apply: %v\n%s", err, out)
	} else if !strings.Contains(out, "published  destination:*/hook upsert") {
		t.Fatalf("rules apply printed:\n%s", out)
	}

	const customers = 240
	var recs []*kgo.Record
	var want []string
	for i := range customers {
		c := fmt.Sprintf("c-%03d", i)
		recs = append(recs, livetest.Event(c, `{"type":"login"}`))
		want = append(want, contract.AlertID("*", "first-login", 1, c, 1)+":"+contract.StatusFiring)
	}
	slices.Sort(want)
	b.Produce(t, recs...)

	args := []string{"--brokers", b.Addr, "--group", "notify-kill9", "--lake", "file://" + filepath.Join(dir, "lake"),
		"--commit-interval", "100ms", "--snapshot-interval", "250ms", "--session-timeout", "1s", "--instance-id", "nk9",
		"--notify-allow-private", "--notify-concurrency", "16"}
	rng := rand.New(rand.NewPCG(3, 4))
	kills := 0
	for i := range 4 {
		before := len(recv.distinct())
		p := startLiveProcEnv(t, dir, fmt.Sprintf("run%d", i), env, args...)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s log:\n%s", p.name, p.tail(40))
			}
		})
		// Killed once some deliveries of this run are in: mid-delivery, as the receiver
		// takes 20ms an answer.
		target := before + 10 + rng.IntN(30)
		poll.Until(t, 60*time.Second, fmt.Sprintf("run %d to deliver %d alerts", i, target), func() bool {
			return len(recv.distinct()) >= min(target, customers)
		})
		p.kill()
		kills++
		if len(recv.distinct()) == customers {
			break
		}
	}
	final := startLiveProcEnv(t, dir, "final", env, args...)
	poll.Until(t, 60*time.Second, "every alert delivered", func() bool { return len(recv.distinct()) >= customers })
	// Anything still in flight lands too: the final run, stopped, has ended its
	// deliveries.
	stopLiveProcs(t, final)
	got := recv.distinct()
	if !slices.Equal(got, want) {
		t.Errorf("receiver's (alert_id:status) set has %d keys, want the %d alerts raised", len(got), len(want))
	}
	recv.mu.Lock()
	requests, bad := recv.requests, recv.badSigs
	recv.mu.Unlock()
	if bad > 0 {
		t.Errorf("%d requests failed signature verification", bad)
	}
	if n := b.TopicRecords(t, "alerts.undelivered"); n != 0 {
		t.Errorf("%d undelivered records; the receiver always answers", n)
	}
	t.Logf("%d kills; %d alerts; %d requests (%d redelivered after kills)", kills, customers, requests, requests-customers)
	if t.Failed() {
		t.Logf("final log:\n%s", final.tail(60))
	}
}

// TestDestinationsAndMutesCommands: destinations apply, list and delete, and mutes add,
// list and delete, against a broker on loopback; a private URL is refused unless
// --allow-private, and nothing of a refused file is published.
func TestDestinationsAndMutesCommands(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	file := filepath.Join(dir, "destinations.yaml")
	writeFile(t, file, `destinations:
  - {scope: "*", name: secops, type: webhook, url: "https://hooks.example.com/h", secret: {env: SECOPS_KEY}}
  - {scope: c-1, name: pager, type: pagerduty, url: "https://events.pagerduty.com/v2/enqueue", secret: {file: /run/pd}}
  - {scope: "*", name: internal, type: webhook, url: "http://10.1.2.3/hook"}
`)
	out, err := run(t, "", "destinations", "apply", "-f", file, "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "destination */internal: address 10.1.2.3 is private") {
		t.Fatalf("apply of a private URL: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if n := b.TopicRecords(t, "controls"); n != 0 {
		t.Fatalf("%d controls published from a refused file", n)
	}
	out, err = run(t, "", "destinations", "apply", "-f", file, "--brokers", b.Addr, "--allow-private")
	if err != nil || strings.Count(out, "published  destination:") != 3 {
		t.Fatalf("apply --allow-private: %v\n%s", err, out)
	}
	out, err = run(t, "", "destinations", "list", "--brokers", b.Addr)
	want := []string{"*      internal  webhook    http://10.1.2.3/hook", "*      secops    webhook    https://hooks.example.com/h",
		"env SECOPS_KEY", "c-1    pager     pagerduty", "file /run/pd", "3 destinations"}
	for _, w := range want {
		if err != nil || !strings.Contains(out, w) {
			t.Errorf("destinations list lacks %q (%v):\n%s", w, err, out)
		}
	}
	if out, err := run(t, "", "destinations", "delete", "internal", "--brokers", b.Addr); err != nil || !strings.Contains(out, "published  destination:*/internal delete") {
		t.Errorf("destinations delete: %v\n%s", err, out)
	}
	if _, err := run(t, "", "destinations", "delete", "nope", "--brokers", b.Addr); exitCode(err) != 2 {
		t.Errorf("delete of a missing destination: %v", err)
	}

	if out, err := run(t, "", "mutes", "add", "deploy", "--scope", "c-1", "--for", "2h", "--reason", "deploy", "--by", "ana", "--brokers", b.Addr); err != nil || !strings.Contains(out, "published  mute:c-1/deploy upsert") {
		t.Fatalf("mutes add: %v\n%s", err, out)
	}
	out, err = run(t, "", "mutes", "list", "--brokers", b.Addr)
	if err != nil || !strings.Contains(out, "c-1    deploy  *") || !strings.Contains(out, "ana  deploy") || !strings.Contains(out, "1 mute") {
		t.Errorf("mutes list: %v\n%s", err, out)
	}
	if out, err := run(t, "", "mutes", "delete", "deploy", "--scope", "c-1", "--brokers", b.Addr); err != nil || !strings.Contains(out, "published  mute:c-1/deploy delete") {
		t.Errorf("mutes delete: %v\n%s", err, out)
	}
	out, err = run(t, "", "mutes", "list", "--brokers", b.Addr, "--json")
	if err != nil || strings.TrimSpace(out) != "{\n  \"mutes\": []\n}" {
		t.Errorf("mutes list --json after the delete: %v\n%s", err, out)
	}
	// A negative or zero --for was a mute without end, from the environment too.
	for d, want := range map[string]string{"-1h": "must not be negative", "0s": "length must be positive"} {
		if _, err := run(t, "", "mutes", "add", "bad", "--for", d, "--brokers", b.Addr); exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
			t.Errorf("mutes add --for %s: exit %d (%v), want 2", d, exitCode(err), err)
		}
	}
	t.Setenv("HINDSIGHT_FOR", "0s")
	if _, err := run(t, "", "mutes", "add", "bad", "--brokers", b.Addr); exitCode(err) != 2 || !strings.Contains(err.Error(), "length must be positive") {
		t.Errorf("HINDSIGHT_FOR=0s mutes add: exit %d (%v), want 2", exitCode(err), err)
	}
	os.Unsetenv("HINDSIGHT_FOR")
	// A mute lasts at least its --for: its end, in whole seconds, is rounded up
	// (rounded down, one shorter than a second had ended when it was published).
	before := time.Now()
	if _, err := run(t, "", "mutes", "add", "blink", "--for", "500ms", "--brokers", b.Addr); err != nil {
		t.Fatalf("mutes add --for 500ms: %v", err)
	}
	var listed struct{ Mutes []rule.Mute }
	out, err = run(t, "", "mutes", "list", "--brokers", b.Addr, "--json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed.Mutes) != 1 || listed.Mutes[0].Until.Before(before.Add(500*time.Millisecond)) {
		t.Errorf("mutes add --for 500ms at %s: %v, listed %+v", before.UTC().Format(time.RFC3339Nano), err, listed.Mutes)
	}
	if _, err := run(t, "", "mutes", "add", "bad", "--until", "tomorrow", "--brokers", b.Addr); exitCode(err) != 2 {
		t.Errorf("mutes add --until tomorrow: %v", err)
	}
}
