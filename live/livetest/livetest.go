// Package livetest holds helpers for end-to-end tests of the live daemon against a real
// Kafka-protocol broker on loopback (internal/kafkatest): starting a daemon, producing
// rules and events, reading alerts and statuses back, and bounded waits.
package livetest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// StartLive starts a live daemon on b with an HTTP port chosen by the system, lets mod
// adjust the configuration, waits until its rules are loaded, and stops it (checking
// Group is the consumer group StartLive gives t's daemon unless told otherwise: one
// per test, so that tests running in parallel share nothing on a broker or in a hook.
func Group(t testing.TB) string { return "live-" + strings.ReplaceAll(t.Name(), "/", "-") }

// for a clean exit) when t ends. Stop it earlier with the returned cancel.
func StartLive(t testing.TB, b *kafkatest.Broker, mod func(*live.Config)) (*live.Daemon, context.CancelFunc) {
	t.Helper()
	return StartLiveStoppingWith(t, b, mod, nil)
}

// StartLiveStoppingWith is StartLive for a daemon whose stop cannot finish its work (a
// snapshot the store refuses: live.ErrFinalSnapshot): it checks that the daemon ends
// with an error that is stopErr (errors.Is), or with none when stopErr is nil.
func StartLiveStoppingWith(t testing.TB, b *kafkatest.Broker, mod func(*live.Config), stopErr error) (*live.Daemon, context.CancelFunc) {
	t.Helper()
	cfg := Config(t, b)
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
			switch err := d.Wait(); {
			case stopErr == nil && err != nil:
				t.Errorf("live daemon exited with error: %v", err)
			case stopErr != nil && !errors.Is(err, stopErr):
				t.Errorf("live daemon exited with %v, want %v", err, stopErr)
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

// Config is the configuration StartLive starts a daemon with before its mod, for a
// test that starts one itself (one that must stop with an error, which StartLive's
// cleanup fails the test for).
func Config(t testing.TB, b *kafkatest.Broker) live.Config {
	return live.Config{
		Kafka:          ingest.KafkaConfig{Brokers: []string{b.Addr}},
		HTTPAddr:       "127.0.0.1:0",
		Group:          Group(t),
		CommitInterval: 100 * time.Millisecond,
		Logger:         testlog.New(t),
		// Live counting alone, unless a test turns the hand-off on: the lake and backfill
		// have their own tests, and these count what arrives after a rule.
		LakeURL:    "file://" + t.TempDir(),
		NoArchive:  true,
		NoBackfill: true,
	}
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

// ProduceEvents produces gen's next n events on the events topic (as kafkatest.Broker.Produce) and
// returns their records: the history that tests replay.
func ProduceEvents(t testing.TB, b *kafkatest.Broker, gen *workload.Generator, n int) []*kgo.Record {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		ev := gen.Next()
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
	}
	return b.Produce(t, recs...)
}

// Alerts decodes alert records.
func Alerts(t testing.TB, recs []*kgo.Record) []contract.Alert {
	t.Helper()
	alerts := decodeValues[contract.Alert](t, "alert", recs)
	for i, a := range alerts {
		if k := string(recs[i].Key); k != a.Customer {
			t.Errorf("alert record key %q, customer %q: the key must be the customer", k, a.Customer)
		}
	}
	return alerts
}

// Statuses decodes control-status records.
func Statuses(t testing.TB, recs []*kgo.Record) []contract.ControlStatus {
	t.Helper()
	return decodeValues[contract.ControlStatus](t, "control status", recs)
}

// decodeValues decodes each record's JSON value as a T (what names it in failures):
// the records the daemon writes.
func decodeValues[T any](t testing.TB, what string, recs []*kgo.Record) []T {
	t.Helper()
	out := make([]T, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Value, &out[i]); err != nil {
			t.Fatalf("record %q is not a %s: %v", r.Value, what, err)
		}
	}
	return out
}

// Request sends method url with body (nil: none), adjusted by mod (nil: as is), within
// a minute, and returns the answer with its whole body: the HTTP round trip of the
// tests that talk to a daemon.
func Request(t testing.TB, method, url string, body io.Reader, mod func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp, data
}

// GetJSON fetches url and decodes its JSON body into v, returning the status code.
func GetJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, body := Request(t, http.MethodGet, url, nil, nil)
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
	_, body := Request(t, http.MethodGet, url, nil, nil)
	return string(body)
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

// JSONText is v as encoding/json writes it.
func JSONText(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
