package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// sink is a loopback receiver: it records each request's Idempotency-Key and answers
// per respond (n counts this key's requests from 0).
type sink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]int // requests per Idempotency-Key
	done map[string]bool
	// inflight counts requests being answered now.
	inflight int
}

func newSink(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request) bool) *sink {
	s := &sink{keys: map[string]int{}, done: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		key := r.Header.Get(notify.HeaderIdempotencyKey)
		s.mu.Lock()
		n := s.keys[key]
		s.keys[key]++
		s.inflight++
		s.mu.Unlock()
		ok := respond(n, w, r)
		s.mu.Lock()
		s.inflight--
		if ok {
			s.done[key] = true
		}
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// delivered lists the keys answered 2xx, sorted.
func (s *sink) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.done {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *sink) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.keys {
		n += c
	}
	return n
}

func ok200(int, http.ResponseWriter, *http.Request) bool { return true }

// TestStageDeliversThroughFailures runs the stage against receivers that fail in each
// way the issue lists, over Kafka on loopback: every alert reaches the receivers that
// recover, the undelivered topic holds exactly the deliveries past the budget (or
// refused at once), a hanging destination does not delay another, muted alerts are not
// delivered, and the alerts topic's offsets are committed once all is handled.
func TestStageDeliversThroughFailures(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	sinks := map[string]*sink{
		"ok": newSink(t, ok200),
		"flaky": newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
			return fail(n < 1, w, http.StatusInternalServerError)
		}),
		"limited": newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 0 {
				w.Header().Set("Retry-After", "1")
			}
			return fail(n < 1, w, http.StatusTooManyRequests)
		}),
		"slow": newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 0 { // headers, then a body that trickles past the attempt's timeout
				w.WriteHeader(http.StatusOK)
				for range 8 {
					_, _ = w.Write([]byte(" "))
					w.(http.Flusher).Flush()
					time.Sleep(100 * time.Millisecond)
				}
				return false
			}
			return true
		}),
		"hang": newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
			select { // past every attempt's timeout
			case <-release:
			case <-r.Context().Done():
			}
			return false
		}),
		"gone": newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool { return fail(true, w, http.StatusNotFound) }),
	}
	// A port nothing listens on: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + l.Addr().String() + "/hook"
	l.Close()

	var ctrls []*rule.Control
	for name, s := range sinks {
		ctrls = append(ctrls, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: name, Type: rule.DestWebhook, URL: s.srv.URL + "/hook",
			Secret: &rule.SecretRef{Env: "HINDSIGHT_SECRET_HOOK_KEY"}}))
	}
	ctrls = append(ctrls,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "refused", Type: rule.DestWebhook, URL: refusedURL}),
		// c-2's own "ok" is the hanging receiver: a customer's destination wins for its alerts.
		rule.UpsertDestination(&rule.Destination{Scope: "c-2", Name: "ok", Type: rule.DestWebhook, URL: sinks["hang"].srv.URL + "/c2"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-3", ID: "quiet", Rule: "*", Reason: "maintenance", By: "test"}),
	)
	b.Produce(t, controlRecords(t, ctrls...)...)

	// Alerts: ten of c-1 to ok and one failing destination each, plus c-2's (its own
	// hanging "ok"), one muted by record, one muted by c-3's mute, one naming a
	// destination that does not exist, and one with no destinations.
	type sent struct {
		a     contract.Alert
		names []string
	}
	var alerts []sent
	failing := []string{"flaky", "limited", "slow", "hang", "gone", "refused"}
	for i := range 12 {
		names := []string{"ok", failing[i%len(failing)]}
		alerts = append(alerts, sent{alertFor(fmt.Sprintf("a%02d", i), "c-1", names), names})
	}
	alerts = append(alerts,
		sent{alertFor("c2", "c-2", []string{"ok"}), []string{"ok"}},
		sent{func() contract.Alert { a := alertFor("muted", "c-1", []string{"ok"}); a.Muted = true; return a }(), nil},
		sent{alertFor("c3", "c-3", []string{"ok"}), nil},
		sent{alertFor("nowhere", "c-1", []string{"nowhere"}), []string{"nowhere"}},
		sent{alertFor("none", "c-1", nil), nil},
	)
	// A resolved record of a00: delivered as well, under its own key.
	resolved := alerts[0].a
	resolved.Status = contract.StatusResolved
	alerts = append(alerts, sent{resolved, []string{"ok", "flaky"}})
	var arecs []*kgo.Record
	for _, s := range alerts {
		v, _ := json.Marshal(s.a)
		arecs = append(arecs, &kgo.Record{Topic: "alerts", Key: []byte(s.a.Customer), Value: v})
	}
	b.Produce(t, arecs...)

	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-test",
		Sender: notify.SenderConfig{Timeout: 300 * time.Millisecond, MaxAttempts: 3, MaxElapsed: 10 * time.Second,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond,
		Getenv:         func(k string) string { return map[string]string{"HINDSIGHT_SECRET_HOOK_KEY": "s3cret"}[k] },
		Logger:         testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)

	// "ok" receives c-1's twelve alerts and the resolved record while "hang" still holds
	// its first requests: a hanging destination delays no other.
	wantOK := []string{}
	for _, s := range alerts {
		if s.a.Customer == "c-1" && !s.a.Muted && slices.Contains(s.names, "ok") {
			wantOK = append(wantOK, notify.IdempotencyKey(&s.a))
		}
	}
	slices.Sort(wantOK)
	// Which destination's worker sends first is the scheduler's choice: hang's first
	// request is awaited, not assumed, and then held while ok's are all delivered.
	poll.Until(t, 10*time.Second, "hang's first request", func() bool { return sinks["hang"].requests() > 0 })
	poll.Until(t, 10*time.Second, "ok's deliveries", func() bool { return slices.Equal(sinks["ok"].delivered(), wantOK) })
	for _, d := range st.Recent() {
		for _, ds := range d.Destinations {
			if ds.Name == "hang" && (ds.State == contract.DeliveryDelivered || ds.State == contract.DeliveryUndelivered) {
				t.Errorf("hang's delivery of %s is %s before ok's were all in", d.Alert.AlertID, ds.State)
			}
		}
	}

	// Everything ends: the recovering receivers have all their alerts; the others are
	// on the undelivered topic, each once.
	wantUndelivered := map[string]string{}
	for _, s := range alerts {
		for _, n := range s.names {
			key := notify.IdempotencyKey(&s.a) + " " + n
			switch {
			case n == "hang" || (n == "ok" && s.a.Customer == "c-2"):
				wantUndelivered[key] = "timeout after 300ms (3 attempts)"
			case n == "gone":
				wantUndelivered[key] = "HTTP 404 (final)"
			case n == "refused":
				wantUndelivered[key] = "connection refused after 3 attempts"
			case n == "nowhere":
				wantUndelivered[key] = `no destination "nowhere" for customer c-1`
			}
		}
	}
	undelivered := b.Consume(t, "alerts.undelivered", len(wantUndelivered), 30*time.Second)
	got := map[string]string{}
	for _, r := range undelivered {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		key := notify.IdempotencyKey(&u.Alert) + " " + u.Destination
		if _, dup := got[key]; dup {
			t.Errorf("undelivered twice: %s", key)
		}
		got[key] = u.Reason
		if want := wantUndelivered[key]; want == "" || !strings.HasPrefix(u.Reason, want) {
			t.Errorf("undelivered %s: %q, want %q", key, u.Reason, want)
		}
	}
	if len(got) != len(wantUndelivered) {
		t.Errorf("undelivered %d deliveries, want %d: %v", len(got), len(wantUndelivered), got)
	}
	for _, name := range []string{"flaky", "limited", "slow"} {
		var want []string
		for _, s := range alerts {
			if slices.Contains(s.names, name) {
				want = append(want, notify.IdempotencyKey(&s.a))
			}
		}
		slices.Sort(want)
		poll.Until(t, 10*time.Second, name+"'s deliveries", func() bool { return slices.Equal(sinks[name].delivered(), want) })
	}
	// Nothing reached ok for the muted alerts or c-3's.
	for _, k := range sinks["ok"].delivered() {
		if strings.HasPrefix(k, "muted") || strings.HasPrefix(k, "c3") {
			t.Errorf("muted alert %s delivered", k)
		}
	}
	// A give-up's record can be read from the undelivered topic before the stage has
	// marked the delivery undelivered in Recent (the race pass saw "retrying"): the
	// states are awaited, bounded, then checked.
	wantStates := map[string]string{"a00/firing/ok": "delivered", "a03/firing/hang": "undelivered", "muted/firing/ok": "muted",
		"c3/firing/ok": "muted", "a00/resolved/flaky": "delivered"}
	states := map[string]string{}
	recentStates := func() bool {
		clear(states)
		for _, d := range st.Recent() {
			for _, ds := range d.Destinations {
				states[d.Alert.AlertID+"/"+d.Alert.Status+"/"+ds.Name] = ds.State
			}
		}
		for k, want := range wantStates {
			if states[k] != want {
				return false
			}
		}
		return true
	}
	poll.Within(10*time.Second, recentStates)
	for k, want := range wantStates {
		if states[k] != want {
			t.Errorf("Recent: %s is %q, want %q", k, states[k], want)
		}
	}
	// The alerts' offsets are committed once each was delivered or recorded.
	close(release)
	poll.Until(t, 10*time.Second, "the alerts offsets committed", func() bool {
		return b.GroupCommitted(t, "notify-test", "alerts") == int64(len(alerts))
	})
}

// startBroker starts a broker with the topics as the live daemon makes them, the
// undelivered topic included.
func startBroker(t *testing.T) *kafkatest.Broker {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var topics ingest.Topics
	topics.EnsureDefaults()
	if err := ingest.EnsureTopics(context.Background(), ingest.KafkaConfig{Brokers: []string{b.Addr}}, topics, 1); err != nil {
		t.Fatal(err)
	}
	return b
}

// runStage runs st until the test ends, and fails the test if Run fails.
// oneAttemptStage is a stage of consumer group reading b, that gives a delivery one
// attempt of at most 5 s and commits every 50 ms; reg, when set, takes its metrics.
func oneAttemptStage(t *testing.T, b *kafkatest.Broker, group string, reg prometheus.Registerer) *notify.Stage {
	t.Helper()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group, Registerer: reg,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func runStage(t *testing.T, st *notify.Stage) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// startMember builds a stage of cfg and runs it, as one member of its group, until
// stop (at most once; the test's end stops it too), which fails the test if Run failed.
func startMember(t *testing.T, cfg notify.Config) (st *notify.Stage, stop func()) {
	t.Helper()
	st, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return st, stop
}

func fail(failing bool, w http.ResponseWriter, code int) bool {
	if failing {
		w.WriteHeader(code)
		return false
	}
	return true
}

// twoPartitionAlerts creates topic, of two partitions, on b, and returns what produces
// to each partition p the alert prefix+p of customer c-1 naming names, in status.
func twoPartitionAlerts(t *testing.T, b *kafkatest.Broker, topic string, names ...string) (produce func(prefix, status string)) {
	t.Helper()
	if _, err := kadm.NewClient(b.Client(t)).CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	return func(prefix, status string) {
		t.Helper()
		var recs []*kgo.Record
		for p := range int32(2) {
			a := alertFor(fmt.Sprintf("%s%d", prefix, p), "c-1", names)
			a.Status = status
			v, _ := json.Marshal(a)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte("c-1"), Value: v})
		}
		if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// alertFor is an alert of customer whose rule notifies names; id is its alert id.
func alertFor(id, customer string, names []string) contract.Alert {
	return contract.Alert{AlertID: id, RuleID: "r", Scope: "*", Version: 1, Customer: customer, Count: 3,
		Threshold: rule.AtLeast(3), EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Source: contract.SourceLive,
		Aggregate: "count", Value: 3, Status: contract.StatusFiring, Severity: "high", Notify: names}
}

// controlRecords are the records of cs on the controls topic.
func controlRecords(t testing.TB, cs ...*rule.Control) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	for _, c := range cs {
		v, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(c.RecordKey()), Value: v})
	}
	return recs
}

// holdUntil answers a request once release is closed (or the request ends).
func holdUntil(release <-chan struct{}) func(int, http.ResponseWriter, *http.Request) bool {
	return func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
			return true
		case <-r.Context().Done():
			return false
		}
	}
}

// pagerDuty is a receiver acting as PagerDuty's Events API does: a trigger opens its
// dedup_key's incident, a resolve closes it. Each key's first trigger is answered 503,
// with Retry-After when retryAfter is set (newPagerDuty), or held until release is
// closed and taken then only if its sender still waits for the answer
// (newHoldingPagerDuty: a receiver slow to accept). It logs what it got, in order:
// "KEY trigger 503", "KEY trigger abandoned by its sender", "KEY trigger", "KEY
// resolve".
type pagerDuty struct {
	srv      *httptest.Server
	mu       sync.Mutex
	triggers map[string]int
	open     map[string]bool
	log      []string
	held     int // first triggers held now
}

func newPagerDuty(t *testing.T, retryAfter string) *pagerDuty {
	return startPagerDuty(t, retryAfter, nil)
}

func newHoldingPagerDuty(t *testing.T, release <-chan struct{}) *pagerDuty {
	return startPagerDuty(t, "", release)
}

func startPagerDuty(t *testing.T, retryAfter string, release <-chan struct{}) *pagerDuty {
	pd := &pagerDuty{triggers: map[string]int{}, open: map[string]bool{}}
	pd.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Action string `json:"event_action"`
			Key    string `json:"dedup_key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		pd.mu.Lock()
		defer pd.mu.Unlock()
		if ev.Action == "trigger" {
			if pd.triggers[ev.Key]++; pd.triggers[ev.Key] == 1 {
				if release == nil {
					if retryAfter != "" {
						w.Header().Set("Retry-After", retryAfter)
					}
					w.WriteHeader(http.StatusServiceUnavailable)
					pd.log = append(pd.log, ev.Key+" trigger 503")
					return
				}
				pd.held++
				pd.mu.Unlock()
				select {
				case <-release:
				case <-r.Context().Done():
				}
				pd.mu.Lock()
				pd.held--
				if r.Context().Err() != nil {
					pd.log = append(pd.log, ev.Key+" trigger abandoned by its sender")
					return
				}
			}
		}
		switch ev.Action {
		case "trigger":
			pd.open[ev.Key] = true
		case "resolve":
			delete(pd.open, ev.Key)
		}
		pd.log = append(pd.log, ev.Key+" "+ev.Action)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(pd.srv.Close)
	return pd
}

// destination is the PagerDuty destination "pager" of scope sending here.
func (pd *pagerDuty) destination(scope string) *rule.Control {
	return rule.UpsertDestination(&rule.Destination{Scope: scope, Name: "pager", Type: rule.DestPagerDuty,
		URL: pd.srv.URL + "/v2/enqueue", Secret: &rule.SecretRef{Env: "HINDSIGHT_SECRET_PD_KEY"}})
}

// seen is what the receiver got, in order.
func (pd *pagerDuty) seen() []string {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return slices.Clone(pd.log)
}

func (pd *pagerDuty) triggered(key string) int {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.triggers[key]
}

// count is how many times the receiver logged line.
func (pd *pagerDuty) count(line string) int {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	n := 0
	for _, l := range pd.log {
		if l == line {
			n++
		}
	}
	return n
}

// holding is how many first triggers the receiver holds now.
func (pd *pagerDuty) holding() int {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.held
}

// opened are the keys whose incidents are open.
func (pd *pagerDuty) opened() []string {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return slices.Sorted(maps.Keys(pd.open))
}

// pdKey is the routing key the tests' PagerDuty destinations read (HINDSIGHT_SECRET_PD_KEY).
func pdKey(k string) string { return map[string]string{"HINDSIGHT_SECRET_PD_KEY": "R0UTINGKEY"}[k] }

// TestStageSkipsRecordsItCannotDeliver: alerts records live could not have written —
// a notify name in invalid UTF-8, a context value with an invalid escape (the decoder
// keeps raw values unchecked) — are skipped and counted, and the alert after them is
// delivered and every offset committed. Both once crashed the stage: the name as a
// metric label (Prometheus refuses invalid UTF-8), the context when its undelivered
// record would not encode; and as the record was never committed, on every restart.
func TestStageSkipsRecordsItCannotDeliver(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, ok200)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	named := alertFor("bad-name", "c-1", []string{"nowhere"})
	badName := bytes.Replace(named.AppendJSON(nil), []byte(`"nowhere"`), []byte("\"no\xffwhere\""), 1)
	a := alertFor("bad-context", "c-1", []string{"ops"})
	a.Context = map[string]json.RawMessage{"$.ip": json.RawMessage(`"PLACEHOLDER"`)}
	badContext := bytes.Replace(a.AppendJSON(nil), []byte(`"PLACEHOLDER"`), []byte(`"\x"`), 1)
	good, _ := json.Marshal(alertFor("good", "c-1", []string{"ops"}))
	b.Produce(t,
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: badName},
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: badContext},
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: good})
	reg := prometheus.NewRegistry()
	st := oneAttemptStage(t, b, "notify-bad-records", reg)
	runStage(t, st)
	poll.Until(t, 10*time.Second, "the good alert delivered", func() bool { return slices.Contains(hook.delivered(), "good:firing") })
	poll.Until(t, 10*time.Second, "every offset committed", func() bool {
		return b.GroupCommitted(t, "notify-bad-records", "alerts") == 3
	})
	if got := hook.delivered(); !slices.Equal(got, []string{"good:firing"}) {
		t.Errorf("delivered %v, want only the good alert", got)
	}
	if n := promtest.Sum(t, reg, "hindsight_notify_skipped_total"); n != 2 {
		t.Errorf("hindsight_notify_skipped_total = %v, want 2", n)
	}
}
