// Package e2etest holds helpers for end-to-end tests of the live daemon against a real
// Kafka-protocol broker on loopback (internal/kafkatest): starting a daemon, producing
// rules and events, reading alerts and statuses back, and bounded waits.
package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// Logger returns a logger that writes to t's log while t runs and drops lines after,
// so that goroutines finishing late cannot fail the test binary.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.mu.Lock()
		w.t.Log(strings.TrimRight(string(p), "\n"))
		w.mu.Unlock()
	}
	return len(p), nil
}

// WaitFor polls cond every 10ms until it holds, failing t after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartLive starts a live daemon on b with an HTTP port chosen by the system, lets mod
// adjust the configuration, waits until its rules are loaded, and stops it (checking
// for a clean exit) when t ends. Stop it earlier with the returned cancel.
func StartLive(t testing.TB, b *kafkatest.Broker, mod func(*live.Config)) (*live.Daemon, context.CancelFunc) {
	t.Helper()
	cfg := live.Config{
		Kafka:          ingest.KafkaConfig{Brokers: []string{b.Addr}},
		HTTPAddr:       "127.0.0.1:0",
		Group:          "live-" + strings.ReplaceAll(t.Name(), "/", "-"),
		CommitInterval: 100 * time.Millisecond,
		Logger:         Logger(t),
		// Live counting alone, unless a test turns the hand-off on: the lake and backfill
		// have their own tests, and these count what arrives after a rule.
		LakeURL:    "file://" + t.TempDir(),
		NoArchive:  true,
		NoBackfill: true,
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := live.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("starting live daemon: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.Done():
			if err := d.Wait(); err != nil {
				t.Errorf("live daemon exited with error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("live daemon did not stop within 30s")
		}
	})
	select {
	case <-d.RulesLoaded():
	case <-d.Done():
		t.Fatalf("live daemon stopped while starting: %v", d.Wait())
	case <-time.After(30 * time.Second):
		t.Fatalf("live daemon did not load rules within 30s")
	}
	return d, cancel
}

// ParseRule parses and validates a rule from JSON, failing t if it is invalid.
func ParseRule(t testing.TB, js string) *rule.Rule {
	t.Helper()
	r, err := rule.ParseRule([]byte(js))
	if err != nil {
		t.Fatalf("rule %s: %v", js, err)
	}
	return r
}

// Upsert is the controls record that publishes r.
func Upsert(t testing.TB, r *rule.Rule) *kgo.Record {
	t.Helper()
	rec, err := UpsertRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// UpsertRecord is Upsert returning its error, for goroutines other than the test's
// (which must not call t.Fatal).
func UpsertRecord(r *rule.Rule) (*kgo.Record, error) {
	v, err := rule.Upsert(r).Marshal()
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: "controls", Key: []byte(r.Key().String()), Value: v}, nil
}

// Delete is the controls record that deletes rule k.
func Delete(t testing.TB, k rule.Key) *kgo.Record {
	t.Helper()
	v, err := rule.Delete(k).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: "controls", Key: []byte(k.String()), Value: v}
}

// Event is an events record for customer with the given JSON value.
func Event(customer, js string) *kgo.Record {
	return &kgo.Record{Topic: "events", Key: []byte(customer), Value: []byte(js)}
}

// ProduceSync produces recs in order and returns them, in the order given, with
// partitions and offsets set.
func ProduceSync(t testing.TB, b *kafkatest.Broker, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	cl := b.Client(t, kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return recs // kgo sets Partition and Offset in place; res is in completion order
}

// Alerts decodes alert records.
func Alerts(t testing.TB, recs []*kgo.Record) []contract.Alert {
	t.Helper()
	out := make([]contract.Alert, 0, len(recs))
	for _, r := range recs {
		var a contract.Alert
		if err := json.Unmarshal(r.Value, &a); err != nil {
			t.Fatalf("alert record %q is not an alert: %v", r.Value, err)
		}
		if string(r.Key) != a.Customer {
			t.Errorf("alert record key %q, customer %q: the key must be the customer", r.Key, a.Customer)
		}
		out = append(out, a)
	}
	return out
}

// Statuses decodes control-status records.
func Statuses(t testing.TB, recs []*kgo.Record) []contract.ControlStatus {
	t.Helper()
	out := make([]contract.ControlStatus, 0, len(recs))
	for _, r := range recs {
		var s contract.ControlStatus
		if err := json.Unmarshal(r.Value, &s); err != nil {
			t.Fatalf("status record %q: %v", r.Value, err)
		}
		out = append(out, s)
	}
	return out
}

// TopicRecords is the number of records in topic (sum of end offsets; topics here are
// never compacted or truncated).
func TopicRecords(t testing.TB, b *kafkatest.Broker, topic string) int64 {
	t.Helper()
	adm := kadm.NewClient(b.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lo, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = lo.Error()
	}
	if err != nil {
		t.Fatalf("listing end offsets of %s: %v", topic, err)
	}
	var n int64
	lo.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// WaitTopicRecords waits until topic holds want records and fails if it holds more.
func WaitTopicRecords(t testing.TB, b *kafkatest.Broker, topic string, want int64, timeout time.Duration) {
	t.Helper()
	var n int64
	WaitFor(t, timeout, fmt.Sprintf("%d records on %s", want, topic), func() bool {
		n = TopicRecords(t, b, topic)
		if n > want {
			t.Fatalf("%s holds %d records, want %d", topic, n, want)
		}
		return n == want
	})
}

// GetJSON fetches url and decodes its JSON body into v, returning the status code.
func GetJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: body %q: %v", url, body, err)
		}
	}
	return resp.StatusCode
}

// GetText fetches url and returns its body.
func GetText(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(body)
}

// GroupCommitted sums the offsets group has committed on topic's partitions.
func GroupCommitted(t testing.TB, b *kafkatest.Broker, group, topic string) int64 {
	t.Helper()
	adm := kadm.NewClient(b.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("fetching offsets of group %s: %v", group, err)
	}
	var n int64
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			n += o.At
		}
	})
	return n
}

// FullReplay is the counting oracle: a rule version's count for a customer is the
// number of that customer's events in the whole history that satisfy it, whenever the
// rule arrived. Records without a key or with invalid JSON count for nothing, as in the
// daemon.
func FullReplay(history []*kgo.Record, r *rule.Rule) map[string]int64 {
	doc := jsonpath.NewDocument()
	out := map[string]int64{}
	for _, rec := range history {
		c := string(rec.Key)
		if !r.AppliesTo(c) {
			continue
		}
		if _, err := verdict.Accept(doc, rec.Key, rec.Value); err != nil {
			continue // dead-lettered live, never archived: it counts nowhere
		}
		if r.Matches(doc) {
			out[c]++
		}
	}
	return out
}
