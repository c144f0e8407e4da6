package live_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// contextRule alerts on every event of type x, with its note as context.
const contextRule = `{"id":"big","scope":"*","version":1,
	"when":{"path":"$.type","op":"==","value":"x"},"threshold":1,
	"alert":{"context":["$.note","$.user"]}}`

// startSized is a daemon of one events partition with contextRule active, its alerts
// bounded to alertMax bytes (0: the default), and its metrics registry.
func startSized(t *testing.T, alertMax int) (*kafkatest.Broker, *live.Daemon, *prometheus.Registry) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Registry, c.AlertMaxBytes = reg, alertMax })
	r := livetest.ParseRule(t, contextRule)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	return b, d, reg
}

// header is the last value of rec's header key ("" if none).
func header(rec *kgo.Record, key string) string {
	v := ""
	for _, h := range rec.Headers {
		if h.Key == key {
			v = string(h.Value)
		}
	}
	return v
}

// TestAlertOfLargeEventIsCutToFit: an alert whose context copies a 200 KB note of
// '<' (six bytes each as JSON) is 1.2 MB, past what the client and broker take. It
// was counted raised, refused (MESSAGE_TOO_LARGE) and lost behind a committed offset.
// Now it is cut to --alert-max-bytes: the note is left out and named, the small
// context value stays, and the cut counts as the limit reached.
func TestAlertOfLargeEventIsCutToFit(t *testing.T) {
	t.Parallel()
	b, d, reg := startSized(t, 0)
	note := strings.Repeat("<", 200_000)
	b.Produce(t, ev("c-1", `{"type":"x","user":"u1","note":"`+note+`"}`), ev("c-1", `{"type":"y"}`))
	waitSeen(t, d, 2)
	recs := b.Consume(t, "alerts", 1, wait)
	if len(recs) != 1 {
		t.Fatalf("the alerts topic holds %d records, want the 1 alert the event raised", len(recs))
	}
	if n := ingest.RecordBytes(recs[0]); n > live.DefaultAlertMaxBytes {
		t.Errorf("the alert record is %d bytes, over --alert-max-bytes %d", n, live.DefaultAlertMaxBytes)
	}
	var a contract.Alert
	if err := json.Unmarshal(recs[0].Value, &a); err != nil {
		t.Fatalf("decoding the alert: %v", err)
	}
	if string(a.Context["$.note"]) != "null" || string(a.Context["$.user"]) != `"u1"` || len(a.ContextCut) != 1 || a.ContextCut[0] != "$.note" || a.GroupCut != nil {
		t.Errorf("alert context %.60s…, context_cut %q, group_cut %q; want the note null and cut, the user kept", a.Context, a.ContextCut, a.GroupCut)
	}
	if a.Customer != "c-1" || a.Offset != 0 || a.Count != 1 {
		t.Errorf("alert of customer %q, offset %d, count %d; want c-1, 0, 1", a.Customer, a.Offset, a.Count)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "alert_max_bytes"); got != 1 {
		t.Errorf("hindsight_limit_reached_total{name=alert_max_bytes} = %v, want 1", got)
	}
	if got := promtest.Value(t, reg, "hindsight_limit", "name", "alert_max_bytes"); got != live.DefaultAlertMaxBytes {
		t.Errorf("hindsight_limit{name=alert_max_bytes} = %v, want %d", got, live.DefaultAlertMaxBytes)
	}
}

// TestAlertOverLimitWithAllCutIsDeadLettered: an alert that is over its bound with
// its context value left out (its customer id alone is 6 × 2,000 bytes as JSON, over
// a bound of 8,000; the event has no $.user, already null) goes to the dead-letter
// topic, with reason not_produced, the topic it was bound for and the alert as its
// value, its customer field empty (the key holds the customer id); nothing goes to the
// alerts topic.
func TestAlertOverLimitWithAllCutIsDeadLettered(t *testing.T) {
	t.Parallel()
	b, d, reg := startSized(t, 8000)
	customer := strings.Repeat("<", 2000)
	b.Produce(t, ev(customer, `{"type":"x","note":"n"}`))
	waitSeen(t, d, 1)
	dlq := b.Consume(t, "events.dlq", 1, wait)
	if len(dlq) != 1 {
		t.Fatalf("events.dlq holds %d records, want the 1 alert that did not fit", len(dlq))
	}
	rec := dlq[0]
	if r, topic := header(rec, ingest.HeaderReason), header(rec, ingest.HeaderTopic); r != ingest.ReasonNotProduced || topic != "alerts" {
		t.Errorf("dead letter reason %q, topic %q; want %q, alerts", r, topic, ingest.ReasonNotProduced)
	}
	if e := header(rec, ingest.HeaderError); !strings.Contains(e, "--alert-max-bytes 8000") || !strings.Contains(e, "the record key holds the customer id (2000 bytes)") {
		t.Errorf("dead letter error %q, want it to name --alert-max-bytes 8000 and the customer id in the key", e)
	}
	var a contract.Alert
	if err := json.Unmarshal(rec.Value, &a); err != nil || a.Customer != "" || a.RuleID != "big" || len(a.ContextCut) != 1 || a.Offset != 0 || a.Count != 1 {
		t.Errorf("dead letter value: customer %.10q…, rule %q, context_cut %q, offset %d, count %d (err %v); want the alert, its context cut, its customer in the key",
			a.Customer, a.RuleID, a.ContextCut, a.Offset, a.Count, err)
	}
	if string(rec.Key) != customer {
		t.Errorf("dead letter key %.10q…, want the customer", rec.Key)
	}
	if alerts := b.TopicRecords(t, "alerts"); alerts != 0 {
		t.Errorf("the alerts topic holds %d records, want none", alerts)
	}
	poll.Until(t, wait, "the dead letter counted", func() bool {
		return promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ingest.ReasonNotProduced) == 1
	})
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "alert_max_bytes"); got != 1 {
		t.Errorf("hindsight_limit_reached_total{name=alert_max_bytes} = %v, want 1", got)
	}
}

// TestAlertRefusedByBrokerIsDeadLettered: an alert within --alert-max-bytes that the
// alerts topic refuses for good (its max.message.bytes is smaller) goes to the
// dead-letter topic with the broker's error, and its event's offset is committed only
// once it is there.
func TestAlertRefusedByBrokerIsDeadLettered(t *testing.T) {
	t.Parallel()
	b, d, reg := startSized(t, 0)
	b.SetTopicConfig(t, "alerts", "max.message.bytes", "2000")
	b.Produce(t, ev("c-1", `{"type":"x","note":"`+strings.Repeat("n", 3000)+`"}`))
	dlq := b.Consume(t, "events.dlq", 1, wait)
	if len(dlq) != 1 {
		t.Fatalf("events.dlq holds %d records, want the 1 alert the broker refused", len(dlq))
	}
	if r, e := header(dlq[0], ingest.HeaderReason), header(dlq[0], ingest.HeaderError); r != ingest.ReasonNotProduced || !strings.Contains(e, "MESSAGE_TOO_LARGE") {
		t.Errorf("dead letter reason %q, error %q; want %q and the broker's MESSAGE_TOO_LARGE", r, e, ingest.ReasonNotProduced)
	}
	var a contract.Alert
	if err := json.Unmarshal(dlq[0].Value, &a); err != nil || a.Offset != 0 || len(a.Context["$.note"]) != 3002 {
		t.Errorf("dead letter value: offset %d, note of %d bytes (err %v); want the whole alert of offset 0", a.Offset, len(a.Context["$.note"]), err)
	}
	// Only now: a batch the broker refuses fails whole, and alerts produced together
	// may share one.
	b.Produce(t, ev("c-2", `{"type":"x","note":"short"}`))
	waitSeen(t, d, 2)
	if recs := b.Consume(t, "alerts", 1, wait); len(recs) != 1 || !strings.Contains(string(recs[0].Value), `"short"`) {
		t.Errorf("the alerts topic holds %d records, want the alert of the second event (another customer)", len(recs))
	}
	poll.Until(t, wait, "both events' offsets committed", func() bool { return b.GroupCommitted(t, "live-"+t.Name(), "events") == 2 })
	if got := promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ingest.ReasonNotProduced); got != 1 {
		t.Errorf("hindsight_dead_letters_total{reason=not_produced} = %v, want 1", got)
	}
	if got := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "alerts"); got != 1 {
		t.Errorf("hindsight_produce_errors_total{topic=alerts} = %v, want 1", got)
	}
}

// TestHistoryAlertOverLimitIsDeadLettered: an alert a hand-off raises from history
// (a plain count's crossing found there) is bounded as a live one is: over --alert-max-bytes with its
// context cut, it goes to the dead-letter topic through the daemon's producer of
// alerts raised outside a batch, and is counted there.
func TestHistoryAlertOverLimitIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.ArchiveRollAge = 50 * time.Millisecond
		c.Registry, c.AlertMaxBytes = reg, 8000
	})
	huge, small := strings.Repeat("<", 2000), "c-1"
	b.Produce(t, ev(huge, `{"type":"x","note":"a"}`), ev(small, `{"type":"x","note":"`+strings.Repeat("<", 2000)+`"}`))
	waitCommitted(t, b, d, "the history")
	r := livetest.ParseRule(t, contextRule)
	b.Produce(t, livetest.Upsert(t, r))
	dlq := b.Consume(t, "events.dlq", 1, wait)
	if len(dlq) != 1 || string(dlq[0].Key) != huge || header(dlq[0], ingest.HeaderReason) != ingest.ReasonNotProduced {
		t.Fatalf("events.dlq holds %d records, want the 1 history alert of the huge customer id, reason %s", len(dlq), ingest.ReasonNotProduced)
	}
	alerts := b.Consume(t, "alerts", 1, wait)
	var a contract.Alert
	if len(alerts) != 1 || json.Unmarshal(alerts[0].Value, &a) != nil || a.Customer != small || a.Source != contract.SourceBackfill || len(a.ContextCut) != 1 {
		t.Fatalf("the alerts topic holds %d records (%+v), want c-1's history alert, its note cut", len(alerts), a)
	}
	poll.Until(t, wait, "the dead letter counted", func() bool {
		return promtest.Value(t, reg, "hindsight_dead_letters_total", "reason", ingest.ReasonNotProduced) == 1
	})
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "alert_max_bytes"); got != 2 {
		t.Errorf("hindsight_limit_reached_total{name=alert_max_bytes} = %v, want 2 (one cut, one dead-lettered)", got)
	}
}

// TestDeadLetteredAlertIsWholeUnderDefaults: under the default bounds an alert's dead
// letter is the alert, whole and valid JSON: one over --alert-max-bytes with all cut (a
// customer id of 500 KB), and one just within it that the alerts topic refuses (its
// max.message.bytes is smaller). Both bounds were 960 KiB, and the headers that say
// why took the dead letter over its own bound: its value was cut mid-JSON, the event
// it named cut off (found by a review helper).
func TestDeadLetteredAlertIsWholeUnderDefaults(t *testing.T) {
	t.Parallel()
	b, d, _ := startSized(t, 0)
	b.SetTopicConfig(t, "alerts", "max.message.bytes", "500000")
	huge := strings.Repeat("a", 500_000)
	// An alert of c-2 with this note is a few hundred bytes under the bound.
	note := strings.Repeat("n", live.DefaultAlertMaxBytes-700)
	b.Produce(t, ev(huge, `{"type":"x","note":"n"}`))
	b.Consume(t, "events.dlq", 1, wait) // one at a time: a batch the broker refuses fails whole
	b.Produce(t, ev("c-2", `{"type":"x","note":"`+note+`"}`))
	waitSeen(t, d, 2)
	dlq := b.Consume(t, "events.dlq", 2, wait)
	if len(dlq) != 2 {
		t.Fatalf("events.dlq holds %d records, want 2", len(dlq))
	}
	for i, want := range []struct {
		key     string
		offset  int64
		note    int
		inError string
	}{{huge, 0, len("null"), "--alert-max-bytes"}, {"c-2", 1, len(note) + 2, "MESSAGE_TOO_LARGE"}} {
		rec := dlq[i]
		var a contract.Alert
		if err := json.Unmarshal(rec.Value, &a); err != nil {
			t.Errorf("dead letter %d (%d bytes, %s %q) is not the alert: %v", i, len(rec.Value), ingest.HeaderOriginalBytes, header(rec, ingest.HeaderOriginalBytes), err)
			continue
		}
		if string(rec.Key) != want.key || a.Offset != want.offset || len(a.Context["$.note"]) != want.note || !strings.Contains(header(rec, ingest.HeaderError), want.inError) {
			t.Errorf("dead letter %d: key of %d bytes, offset %d, note of %d bytes, error %q; want key of %d, offset %d, note of %d, error naming %s",
				i, len(rec.Key), a.Offset, len(a.Context["$.note"]), header(rec, ingest.HeaderError), len(want.key), want.offset, want.note, want.inError)
		}
	}
}

// TestDeadLetteredAlertOfHugeCustomerIsWhole: an event whose customer id (record key)
// is 982,500 bytes — one the broker and the client take — raises an alert over
// --alert-max-bytes with all cut, so its dead letter (reason not_produced) must hold
// the alert, whole, with the key holding the customer id (alertRecord's comment, the
// architecture's "Dead-letter record"). The dead letter is over --dead-letter-max-bytes
// because of its key, and the value — the alert — was cut first, to broken JSON (a
// review helper's test); the key is cut now.
func TestDeadLetteredAlertOfHugeCustomerIsWhole(t *testing.T) {
	t.Parallel()
	b, d, _ := startSized(t, 0)
	huge := strings.Repeat("a", 982_500)
	b.Produce(t, ev(huge, `{"type":"x","note":"n"}`), ev("c-2", `{"type":"y"}`))
	waitSeen(t, d, 2)
	dlq := b.Consume(t, "events.dlq", 1, wait)
	if len(dlq) != 1 {
		t.Fatalf("events.dlq holds %d records, want the 1 alert that did not fit", len(dlq))
	}
	rec := dlq[0]
	if r := header(rec, ingest.HeaderReason); r != ingest.ReasonNotProduced {
		t.Fatalf("dead letter reason %q, want %q", r, ingest.ReasonNotProduced)
	}
	var a contract.Alert
	if err := json.Unmarshal(rec.Value, &a); err != nil || a.RuleID != "big" || a.Offset != 0 {
		t.Errorf("dead letter value (%d bytes, %s %q, key %d bytes) is not the alert naming offset 0: rule %q, offset %d, err %v",
			len(rec.Value), ingest.HeaderOriginalBytes, header(rec, ingest.HeaderOriginalBytes), len(rec.Key), a.RuleID, a.Offset, err)
	}
}
