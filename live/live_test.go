package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

const (
	adminFailed   = `{"type":"login.failed","actor":{"roles":["member","admin"]}}`
	memberFailed  = `{"type":"login.failed","actor":{"roles":["member"]}}`
	adminOK       = `{"type":"login.succeeded","actor":{"roles":["admin"]}}`
	downloaded    = `{"type":"file.downloaded","actor":{"roles":["member"]}}`
	adminFailRule = `{"id":"admin-fail","scope":"*","version":1,"when":{"all":[
		{"path":"$.type","op":"==","value":"login.failed"},
		{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"threshold":3}`
)

var ev = livetest.Event

const wait = 20 * time.Second

func waitSeen(t *testing.T, d *live.Daemon, n int64) {
	t.Helper()
	poll.Until(t, wait, fmt.Sprintf("%d events handled", n), func() bool { return d.EventsSeen() >= n })
	if got := d.EventsSeen(); got != n {
		t.Fatalf("daemon handled %d events, want %d", got, n)
	}
}

func waitRule(t *testing.T, d *live.Daemon, k rule.Key, version int64) {
	t.Helper()
	poll.Until(t, wait, fmt.Sprintf("rule %s version %d active", k, version), func() bool {
		v, ok := d.Count(k, "")
		return ok && v.Version == version
	})
}

func waitGone(t *testing.T, d *live.Daemon, k rule.Key) {
	t.Helper()
	poll.Until(t, wait, fmt.Sprintf("rule %s deleted", k), func() bool {
		_, ok := d.Count(k, "")
		return !ok
	})
}

func count(t *testing.T, d *live.Daemon, k rule.Key, customer string) int64 {
	t.Helper()
	v, ok := d.Count(k, customer)
	if !ok {
		t.Fatalf("rule %s is not active", k)
	}
	return v.Count
}

// alertsOn waits until the alerts topic holds exactly n records and returns them.
func alertsOn(t *testing.T, b *kafkatest.Broker, n int) []contract.Alert {
	t.Helper()
	b.WaitTopicRecords(t, "alerts", int64(n), wait)
	return livetest.Alerts(t, b.Consume(t, "alerts", n, wait))
}

func TestRulesArriveBetweenEvents(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	d, _ := livetest.StartLive(t, b, nil)

	// Events before the rule exists are never counted by the live stage.
	b.Produce(t, ev("c-1", adminFailed), ev("c-1", adminFailed), ev("c-1", adminFailed), ev("c-2", adminFailed))
	waitSeen(t, d, 4)

	r := livetest.ParseRule(t, adminFailRule)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)

	recs := b.Produce(t,
		ev("c-1", adminFailed), ev("c-1", adminOK), ev("c-2", adminFailed), ev("c-1", memberFailed),
		ev("c-1", adminFailed), ev("c-1", adminFailed), ev("c-1", adminFailed))
	waitSeen(t, d, 11)

	if got := count(t, d, r.Key(), "c-1"); got != 4 {
		t.Errorf("count c-1 = %d, want 4 (only the admin failures after the rule arrived)", got)
	}
	if got := count(t, d, r.Key(), "c-2"); got != 1 {
		t.Errorf("count c-2 = %d, want 1", got)
	}

	alerts := alertsOn(t, b, 1)
	crossing := recs[5] // c-1's third admin failure after the rule
	want := contract.Alert{
		AlertID: contract.AlertID("*", "admin-fail", 1, "c-1", 3), RuleID: "admin-fail", Scope: "*", Version: 1,
		Customer: "c-1", Count: 3, Threshold: rule.AtLeast(3), Partition: crossing.Partition, Offset: crossing.Offset,
		EventTime: crossing.Timestamp.UTC().Truncate(time.Millisecond), Source: "live",
		Aggregate: "count", Value: 3, Status: contract.StatusFiring, Severity: "medium", Samples: []int64{crossing.Offset},
	}
	if got := alerts[0]; !got.EventTime.Equal(want.EventTime) || !reflect.DeepEqual(withoutTime(got), withoutTime(want)) {
		t.Errorf("alert = %+v\nwant    %+v", got, want)
	}

	// The hand-off seam: per partition, the first event evaluated with the rule.
	starts := d.StartOffsets(r.Key())
	first := map[int32]int64{}
	for _, rec := range recs {
		if _, ok := first[rec.Partition]; !ok {
			first[rec.Partition] = rec.Offset
		}
	}
	for p, off := range first {
		if starts[p] != off {
			t.Errorf("start offset of partition %d = %d, want %d (first event after the rule)", p, starts[p], off)
		}
	}
}

func withoutTime(a contract.Alert) contract.Alert {
	a.EventTime = time.Time{}
	return a
}

// The original system's customer rule matched every customer's events.
func TestDefectCustomerRuleCountsOnlyItsCustomer(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	d, _ := livetest.StartLive(t, b, nil)

	global := livetest.ParseRule(t, `{"id":"downloads","scope":"*","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":3}`)
	own := livetest.ParseRule(t, `{"id":"downloads","scope":"c-1","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":2}`)
	b.Produce(t, livetest.Upsert(t, global), livetest.Upsert(t, own))
	waitRule(t, d, global.Key(), 1)
	waitRule(t, d, own.Key(), 1)

	var recs []*kgo.Record
	for range 3 {
		recs = append(recs, ev("c-1", downloaded))
	}
	for range 5 {
		recs = append(recs, ev("c-2", downloaded))
	}
	recs = b.Produce(t, recs...)
	waitSeen(t, d, 8)

	for _, c := range []struct {
		k        rule.Key
		customer string
		want     int64
	}{
		{global.Key(), "c-1", 3}, {global.Key(), "c-2", 5},
		{own.Key(), "c-1", 3}, {own.Key(), "c-2", 0},
	} {
		if got := count(t, d, c.k, c.customer); got != c.want {
			t.Errorf("count %s for %s = %d, want %d", c.k, c.customer, got, c.want)
		}
	}
	alerts := alertsOn(t, b, 3)
	got := map[string]contract.Alert{}
	for _, a := range alerts {
		got[a.Scope+"/"+a.RuleID+"@"+a.Customer] = a
	}
	for key, crossing := range map[string]*kgo.Record{"*/downloads@c-1": recs[2], "*/downloads@c-2": recs[5], "c-1/downloads@c-1": recs[1]} {
		a, ok := got[key]
		if !ok {
			t.Errorf("no alert %s; got %v", key, got)
			continue
		}
		if a.Offset != crossing.Offset || a.Partition != crossing.Partition || a.Count != a.Threshold.Count() {
			t.Errorf("alert %s = %+v, want crossing at %d/%d", key, a, crossing.Partition, crossing.Offset)
		}
	}
	if _, bad := got["c-1/downloads@c-2"]; bad {
		t.Errorf("c-1's own rule alerted for c-2")
	}
}

// The original system's rule replacement removed the wrong rules.
func TestDefectReplacingRuleKeepsOthers(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d, _ := livetest.StartLive(t, b, nil)

	a1 := livetest.ParseRule(t, `{"id":"a","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":100}`)
	bRule := livetest.ParseRule(t, `{"id":"b","scope":"*","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":100}`)
	aC1 := livetest.ParseRule(t, `{"id":"a","scope":"c-1","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, a1), livetest.Upsert(t, bRule), livetest.Upsert(t, aC1))
	waitRule(t, d, aC1.Key(), 1)
	waitRule(t, d, bRule.Key(), 1)
	waitRule(t, d, a1.Key(), 1)
	b.Produce(t, ev("c-1", downloaded), ev("c-1", downloaded), ev("c-2", downloaded))
	waitSeen(t, d, 3)

	// Replace */a with version 2: */b and c-1/a (same id, other scope) keep their counts.
	a2 := livetest.ParseRule(t, `{"id":"a","scope":"*","version":2,"when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, a2))
	waitRule(t, d, a2.Key(), 2)
	b.Produce(t, ev("c-1", downloaded))
	waitSeen(t, d, 4)

	for _, c := range []struct {
		k        rule.Key
		customer string
		want     int64
	}{
		{a2.Key(), "c-1", 1}, {a2.Key(), "c-2", 0}, // new version counts from zero
		{bRule.Key(), "c-1", 3}, {bRule.Key(), "c-2", 1},
		{aC1.Key(), "c-1", 3},
	} {
		if got := count(t, d, c.k, c.customer); got != c.want {
			t.Errorf("count %s for %s = %d, want %d", c.k, c.customer, got, c.want)
		}
	}

	// Deleting */a removes only */a.
	b.Produce(t, livetest.Delete(t, a2.Key()))
	waitGone(t, d, a2.Key())
	b.Produce(t, ev("c-1", downloaded))
	waitSeen(t, d, 5)
	if got := count(t, d, bRule.Key(), "c-1"); got != 4 {
		t.Errorf("after delete of */a: count */b c-1 = %d, want 4", got)
	}
	if got := count(t, d, aC1.Key(), "c-1"); got != 4 {
		t.Errorf("after delete of */a: count c-1/a c-1 = %d, want 4", got)
	}
	if n := d.Registry().Len(); n != 2 {
		t.Errorf("%d active rules after deleting one of three, want 2", n)
	}
}

// The original system never raised an alert when a threshold was reached.
func TestDefectThresholdRaisesAlert(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	d, _ := livetest.StartLive(t, b, nil)
	one := livetest.ParseRule(t, `{"id":"one","scope":"*","when":{"path":"$.type","op":"exists"},"threshold":1}`)
	five := livetest.ParseRule(t, `{"id":"five","scope":"*","when":{"path":"$.type"},"threshold":5}`)
	b.Produce(t, livetest.Upsert(t, one), livetest.Upsert(t, five))
	waitRule(t, d, one.Key(), 1)
	waitRule(t, d, five.Key(), 1)

	var recs []*kgo.Record
	for i := range 12 {
		recs = append(recs, ev(fmt.Sprintf("c-%d", i%3), downloaded))
	}
	recs = b.Produce(t, recs...)
	waitSeen(t, d, 12)
	// 3 customers × rule "one" + 0 for "five" (each customer has 4 events).
	alerts := alertsOn(t, b, 3)
	for _, a := range alerts {
		if a.RuleID != "one" || a.Count != 1 || a.Threshold.Count() != 1 {
			t.Errorf("unexpected alert %+v", a)
		}
	}
	// One more event each takes "five" to its threshold: exactly one alert per customer.
	more := b.Produce(t, ev("c-0", downloaded), ev("c-1", downloaded), ev("c-2", downloaded), ev("c-0", downloaded))
	waitSeen(t, d, 16)
	alerts = alertsOn(t, b, 6)
	seen := map[string]int{}
	for _, a := range alerts[3:] {
		seen[a.RuleID+"@"+a.Customer]++
		if a.RuleID != "five" || a.Count != 5 {
			t.Errorf("unexpected alert %+v", a)
		}
		for _, m := range more[:3] {
			if string(m.Key) == a.Customer && (m.Offset != a.Offset || m.Partition != a.Partition) {
				t.Errorf("alert %+v: crossing event is %d/%d", a, m.Partition, m.Offset)
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("alerts for five: %v, want one per customer", seen)
	}
	if got := count(t, d, five.Key(), "c-0"); got != 6 {
		t.Errorf("count keeps growing past the threshold: got %d, want 6", got)
	}
	if got := d.AlertsRaised(); got != 6 {
		t.Errorf("alerts raised = %d, want 6", got)
	}
}

func TestRuleUpdateReplacesVersion(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	d, _ := livetest.StartLive(t, b, nil)
	v1 := livetest.ParseRule(t, `{"id":"fail","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`)
	b.Produce(t, livetest.Upsert(t, v1))
	waitRule(t, d, v1.Key(), 1)
	b.Produce(t, ev("c-1", memberFailed), ev("c-1", adminFailed), ev("c-1", adminFailed))
	waitSeen(t, d, 3)
	if got := count(t, d, v1.Key(), "c-1"); got != 3 {
		t.Fatalf("v1 count = %d, want 3", got)
	}

	// v2 fixes the rule: only admins, threshold 2. It counts from zero.
	v2 := livetest.ParseRule(t, strings.Replace(adminFailRule, `"version":1`, `"version":2`, 1))
	v2.ID, v2.Threshold = "fail", rule.AtLeast(2)
	b.Produce(t, livetest.Upsert(t, v2))
	waitRule(t, d, v1.Key(), 2)
	if got := count(t, d, v1.Key(), "c-1"); got != 0 {
		t.Errorf("v2 count before any event = %d, want 0", got)
	}
	recs := b.Produce(t, ev("c-1", memberFailed), ev("c-1", adminFailed), ev("c-1", adminFailed))
	waitSeen(t, d, 6)
	if got := count(t, d, v1.Key(), "c-1"); got != 2 {
		t.Errorf("v2 count = %d, want 2", got)
	}

	// A stale upsert (version 1 again) is ignored and reported.
	b.Produce(t, livetest.Upsert(t, v1))
	alerts := alertsOn(t, b, 2)
	if alerts[0].Version != 1 || alerts[1].Version != 2 || alerts[1].Offset != recs[2].Offset || alerts[0].AlertID == alerts[1].AlertID {
		t.Errorf("alerts = %+v, want one per version, v2's at offset %d", alerts, recs[2].Offset)
	}
	// The daemon writes the active version back after the stale one, so that
	// compaction keeps it (TestCompactionKeepsActiveRules): it folds as unchanged.
	b.WaitTopicRecords(t, "controls.status", 4, wait)
	sts := livetest.Statuses(t, b.Consume(t, "controls.status", 4, wait))
	if len(sts) != 4 || sts[0].Status != "ok" || sts[1].Status != "ok" || sts[2].Status != "stale" || sts[2].Version != 1 ||
		sts[3].Status != "ok" || sts[3].Version != 2 || sts[3].Message != controls.Unchanged {
		t.Fatalf("statuses = %+v, want ok, ok, stale, and ok for version 2 unchanged", sts)
	}
	if v, _ := d.Count(v1.Key(), "c-1"); v.Version != 2 {
		t.Errorf("stale upsert replaced the rule: version %d", v.Version)
	}
	var body struct{ Rules []contract.RuleView }
	livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/v1/rules", &body)
	if len(body.Rules) != 1 || !strings.Contains(body.Rules[0].LastError, "not newer") {
		t.Errorf("/v1/rules = %+v, want the stale upsert as the rule's last error", body.Rules)
	}
}

func TestMalformedEventsGoToDeadLetters(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)

	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	recs := b.Produce(t,
		&kgo.Record{Topic: "events", Value: []byte(downloaded), Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-1")}}},
		ev("c-1", `{"type": "file.downloaded"`),
		ev("c-1", deep),
		ev("c-1", downloaded),
		ev("c-1", "not json at all"),
		ev("c-1", downloaded),
	)
	waitSeen(t, d, 6)
	if got := count(t, d, r.Key(), "c-1"); got != 2 {
		t.Errorf("count = %d, want 2 (the valid events around the bad ones)", got)
	}
	b.WaitTopicRecords(t, "events.dlq", 4, wait)
	dlq := b.Consume(t, "events.dlq", 4, wait)
	wantReasons := []string{ingest.ReasonMissingKey, ingest.ReasonInvalidJSON, ingest.ReasonTooDeep, ingest.ReasonInvalidJSON}
	for i, idx := range []int{0, 1, 2, 4} {
		h := headers(dlq[i])
		src := recs[idx]
		if h[ingest.HeaderReason] != wantReasons[i] || h[ingest.HeaderTopic] != "events" ||
			h[ingest.HeaderPartition] != fmt.Sprint(src.Partition) || h[ingest.HeaderOffset] != fmt.Sprint(src.Offset) || h[ingest.HeaderError] == "" {
			t.Errorf("dead letter %d headers = %v, want reason %s for offset %d", i, h, wantReasons[i], src.Offset)
		}
		if string(dlq[i].Value) != string(src.Value) || string(dlq[i].Key) != string(src.Key) {
			t.Errorf("dead letter %d does not carry the original record", i)
		}
	}
	if h := headers(dlq[0]); h["trace"] != "t-1" {
		t.Errorf("original headers not kept: %v", h)
	}
	// Dead letters count once delivered, which the consumer above may see first.
	poll.Until(t, wait, "the dead letters counted", func() bool { return d.DeadLetters() == 4 })
	metrics := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
	for _, line := range []string{
		`hindsight_dead_letters_total{reason="invalid_json"} 2`,
		`hindsight_dead_letters_total{reason="missing_key"} 1`,
		`hindsight_dead_letters_total{reason="too_deep"} 1`,
		`hindsight_events_total 6`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// TestLargeMalformedEventIsDeadLettered: a malformed event the broker took, too large
// to go to events.dlq whole with the dead-letter headers (the client takes batches of
// up to 1,000,012 bytes), goes there cut to --dead-letter-max-bytes, saying so; it was
// lost before, its offset committed, and counted as dead-lettered all the same.
func TestLargeMalformedEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	big := append([]byte(`{"blob":"`), strings.Repeat("x", 1_020_000)...) // not JSON: no end
	producer := b.Client(t, kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1_048_000))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := producer.ProduceSync(ctx,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: big},
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"ok"}`)},
	).FirstErr(); err != nil {
		t.Fatalf("the broker refused the events: %v", err)
	}
	waitSeen(t, d, 2)
	dlq := b.Consume(t, "events.dlq", 1, wait)
	if len(dlq) != 1 {
		t.Fatalf("events.dlq holds %d records, want 1", len(dlq))
	}
	h := headers(dlq[0])
	max := ingest.DefaultDeadLetterMaxBytes
	if h[ingest.HeaderReason] != ingest.ReasonInvalidJSON || h[ingest.HeaderOffset] != "0" || h[ingest.HeaderOriginalBytes] == "" ||
		!bytes.HasPrefix(big, dlq[0].Value) || len(dlq[0].Value) < max-1000 || len(dlq[0].Value) > max || string(dlq[0].Key) != "c-1" {
		t.Errorf("dead letter: %d bytes of value, key %q, headers %v; want the start of the event's %d bytes, cut to %d", len(dlq[0].Value), dlq[0].Key, h, len(big), max)
	}
	poll.Until(t, wait, "the dead letter counted", func() bool { return d.DeadLetters() == 1 })
	metrics := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
	for _, line := range []string{
		`hindsight_limit{name="dead_letter_max_bytes"} 983040`,
		`hindsight_limit_reached_total{name="dead_letter_max_bytes"} 1`,
		`hindsight_dead_letters_total{reason="invalid_json"} 1`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestInvalidControlsAreReportedAndDaemonKeepsRunning(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d, _ := livetest.StartLive(t, b, nil)

	badPath := `{"op":"upsert","rule":{"id":"bad","scope":"*","when":{"path":"$.type[?@ ==","op":"exists"},"threshold":1}}`
	typo := `{"op":"upsert","rule":{"id":"typo","scope":"*","when":{"path":"$.type"},"treshold":1}}`
	good := livetest.ParseRule(t, `{"id":"good","scope":"*","when":{"path":"$.type"},"threshold":2}`)
	goodRec := livetest.Upsert(t, good)
	b.Produce(t,
		&kgo.Record{Topic: "controls", Key: []byte("*/bad"), Value: []byte(badPath)},
		&kgo.Record{Topic: "controls", Key: []byte("*/typo"), Value: []byte(typo)},
		&kgo.Record{Topic: "controls", Key: []byte("*/not-good"), Value: goodRec.Value}, // key must be SCOPE/ID
		&kgo.Record{Topic: "controls", Key: []byte("*/x"), Value: []byte(`{"op":"upsert"`)},
		goodRec,
	)
	waitRule(t, d, good.Key(), 1)

	sts := livetest.Statuses(t, b.Consume(t, "controls.status", 5, wait))
	if len(sts) != 5 {
		t.Fatalf("got %d statuses, want 5", len(sts))
	}
	for i, want := range []struct{ status, field, msg string }{
		{"invalid", "when.path", "column"},
		{"invalid", "", "treshold"},
		{"invalid", "key", `must be the rule's SCOPE/ID "*/good"`},
		{"invalid", "", "not a valid JSON control"},
		{"ok", "", ""},
	} {
		s := sts[i]
		if s.Status != want.status || s.Offset != int64(i) || !strings.Contains(s.Message, want.msg) {
			t.Errorf("status %d = %+v, want %s mentioning %q", i, s, want.status, want.msg)
		}
		if want.field != "" && (len(s.Problems) == 0 || s.Problems[0].Field != want.field) {
			t.Errorf("status %d problems = %+v, want field %s", i, s.Problems, want.field)
		}
	}
	if p := sts[0].Problems; len(p) == 0 || p[0].Column == 0 {
		t.Errorf("bad path status has no column: %+v", p)
	}

	var body struct {
		Rules   []contract.RuleView
		Invalid []contract.RejectedControl
	}
	if code := livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/v1/rules", &body); code != 200 {
		t.Fatalf("/v1/rules status %d", code)
	}
	if len(body.Rules) != 1 || body.Rules[0].ID != "good" || body.Rules[0].Status != "live" {
		t.Errorf("/v1/rules rules = %+v, want only good, live", body.Rules)
	}
	if len(body.Invalid) != 4 || body.Invalid[0].Key != "*/bad" || !strings.Contains(body.Invalid[0].Error, "when.path") {
		t.Errorf("/v1/rules invalid = %+v", body.Invalid)
	}

	// Still running: the good rule counts and alerts.
	b.Produce(t, ev("c-9", downloaded), ev("c-9", downloaded))
	waitSeen(t, d, 2)
	if a := alertsOn(t, b, 1); a[0].RuleID != "good" || a[0].Customer != "c-9" {
		t.Errorf("alert = %+v", a[0])
	}
}

func TestHTTPAPI(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	d, _ := livetest.StartLive(t, b, nil)
	base := "http://" + d.HTTPAddr()
	poll.Until(t, wait, "healthz ok", func() bool { return livetest.GetJSON(t, base+"/healthz", nil) == 200 })

	r := livetest.ParseRule(t, `{"id":"dl","scope":"c-7","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":9}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	b.Produce(t, ev("c-7", downloaded), ev("c-7", downloaded), ev("c-7", adminOK))
	waitSeen(t, d, 3)

	var got map[string]any
	if code := livetest.GetJSON(t, base+"/v1/counts?scope=c-7&rule=dl&customer=c-7", &got); code != 200 {
		t.Fatalf("/v1/counts status %d", code)
	}
	want := map[string]any{"rule_id": "dl", "scope": "c-7", "version": 1.0, "customer": "c-7", "count": 2.0, "status": "live"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("/v1/counts = %v, want %v", got, want)
	}
	if code := livetest.GetJSON(t, base+"/v1/counts?rule=dl&customer=c-7", nil); code != 404 {
		t.Errorf("global scope by default: */dl does not exist, got status %d", code)
	}
	var all struct {
		Counts []contract.CountView `json:"counts"`
	}
	if code := livetest.GetJSON(t, base+"/v1/counts?scope=c-7&rule=dl", &all); code != 200 || len(all.Counts) != 1 || all.Counts[0].Customer != "c-7" || all.Counts[0].Count != 2 {
		t.Errorf("every customer's count: status %d, %+v; want c-7's 2 only", code, all.Counts)
	}
	if code := livetest.GetJSON(t, base+"/v1/counts?customer=c-7", nil); code != 400 {
		t.Errorf("missing rule: status %d, want 400", code)
	}
	metrics := livetest.GetText(t, base+"/metrics")
	for _, name := range []string{"hindsight_events_total 3", "hindsight_rules_active 1", "hindsight_eval_seconds_bucket",
		"hindsight_consumer_lag_records{partition=", "hindsight_alerts_total 0", "hindsight_events_per_second", "hindsight_dead_letters_total",
		`hindsight_events_deleted_unread_total{partition="0"} 0`} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	var health map[string]any
	livetest.GetJSON(t, base+"/healthz", &health)
	if health["status"] != "ok" || health["rules"] != 1.0 || len(health["partitions"].([]any)) != 4 {
		t.Errorf("/healthz = %v", health)
	}
}

// Shutdown commits what was processed, and a restarted daemon reloads every rule from
// the controls topic and resumes after the committed offsets.
func TestRestartKeepsRulesAndResumes(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	group := func(c *live.Config) { c.Group = "restart"; c.CommitInterval = time.Hour } // only the shutdown commit
	d, stop := livetest.StartLive(t, b, group)
	r := livetest.ParseRule(t, `{"id":"dl","scope":"*","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":3}`)
	del := livetest.ParseRule(t, `{"id":"gone","scope":"*","when":{"path":"$.type"},"threshold":3}`)
	b.Produce(t, livetest.Upsert(t, del), livetest.Upsert(t, r), livetest.Delete(t, del.Key()))
	waitRule(t, d, r.Key(), 1)
	waitGone(t, d, del.Key())
	first := b.Produce(t, ev("c-1", downloaded), ev("c-2", downloaded), ev("c-1", downloaded))
	waitSeen(t, d, 3)
	stop()
	if err := d.Wait(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	adm := kadm.NewClient(b.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	committed, err := adm.FetchOffsets(ctx, "restart")
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range first {
		o, ok := committed.Lookup("events", rec.Partition)
		if !ok || o.At <= rec.Offset {
			t.Errorf("partition %d: committed %+v, want past offset %d", rec.Partition, o, rec.Offset)
		}
	}

	d2, _ := livetest.StartLive(t, b, group)
	if rules := d2.Registry().Rules(); len(rules) != 1 || rules[0].ID != "dl" {
		t.Fatalf("rules after restart = %+v, want only dl", rules)
	}
	b.Produce(t, ev("c-1", downloaded))
	waitSeen(t, d2, 1) // only the new event: the three before were committed
	if got := count(t, d2, r.Key(), "c-1"); got != 1 {
		t.Errorf("count after restart = %d, want 1", got)
	}
}

func TestDeleteUnknownRuleIsReported(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "nope"}))
	sts := livetest.Statuses(t, b.Consume(t, "controls.status", 1, wait))
	if len(sts) != 1 || sts[0].Status != "not_found" || sts[0].ID != "nope" || sts[0].Op != "delete" {
		t.Errorf("statuses = %+v", sts)
	}
	if d.Registry().Len() != 0 {
		t.Errorf("rules appeared")
	}
}

func TestAlertIDDeterministic(t *testing.T) {
	t.Parallel()
	a := contract.AlertID("*", "r", 2, "c-1", 5)
	if a != contract.AlertID("*", "r", 2, "c-1", 5) || len(a) != 32 {
		t.Fatalf("alert id %q not stable", a)
	}
	others := []string{
		contract.AlertID("c-1", "r", 2, "c-1", 5), contract.AlertID("*", "r", 3, "c-1", 5),
		contract.AlertID("*", "r", 2, "c-2", 5), contract.AlertID("*", "r", 2, "c-1", 6),
		contract.AlertID("*", "r2", 2, "c-1", 5),
		// length-prefixed fields: moving a byte between fields changes the id
		contract.AlertID("*r", "", 2, "c-1", 5),
	}
	if slices.Contains(others, a) {
		t.Errorf("alert id collides: %q in %v", a, others)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*live.Config)
		want string
	}{
		{"defaults", func(*live.Config) {}, ""},
		{"bad start", func(c *live.Config) { c.StartAt = "middle" }, "start-at"},
		{"api token ending in a newline", func(c *live.Config) { c.APIToken = "s3cret\n" }, "api token has white space"},
		{"negative memory limit", func(c *live.Config) { c.MemoryLimit = -1 }, "memory limit -1"},
		{"bad http", func(c *live.Config) { c.HTTPAddr = "8080" }, "http address"},
		{"bad broker", func(c *live.Config) { c.Kafka.Brokers = []string{"nohost"} }, "host:port"},
		{"bad sasl", func(c *live.Config) { c.Kafka.SASLMechanism = "gssapi" }, "unknown SASL"},
		{"same topics", func(c *live.Config) { c.Topics.Alerts = "events" }, "both"},
		{"snappy archive", func(c *live.Config) { c.ArchiveCompression = "snappy" }, ""},
		{"bad archive codec", func(c *live.Config) { c.ArchiveCompression = "gzip" }, `archive-compression "gzip": use zstd or snappy`},
		{"archive buffer of one file", func(c *live.Config) { c.ArchiveMaxBufferedBytes = 64 << 20 }, ""},
		{"alert bound under an alert's own fields", func(c *live.Config) { c.AlertMaxBytes = 100 }, "alert max bytes 100: at least 4096"},
		{"alert bound over what the client takes", func(c *live.Config) { c.AlertMaxBytes = 2 << 20 }, "alert max bytes 2097152: at least 4096, room for an alert's own fields, and at most 982016, the dead-letter bound less 1024"},
		// An alert the brokers refuse is dead-lettered whole: with the headers that say why.
		{"alert bound at the dead-letter bound", func(c *live.Config) { c.AlertMaxBytes = ingest.DefaultDeadLetterMaxBytes }, "at most 982016, the dead-letter bound less 1024"},
		{"both bounds at what the client takes", func(c *live.Config) {
			c.DeadLetterMaxBytes, c.AlertMaxBytes = ingest.MaxRecordBytes, ingest.MaxRecordBytes-ingest.NotProducedRoom
		}, ""},
		{"dead letter bound over what the client takes", func(c *live.Config) { c.DeadLetterMaxBytes = ingest.MaxRecordBytes + 1 }, "dead letter max bytes 999952: at most 999951"},
		{"archive buffer under a file", func(c *live.Config) { c.ArchiveMaxBufferedBytes = 1 << 20 }, "archive max buffered bytes 1048576: at least the archiver's file size, 67108864"},
		// The console's bounds are checked at start, not found wrong by the first
		// request (the console would answer 503 to everything).
		{"preview sample over its maximum", func(c *live.Config) { c.PreviewSample, c.PreviewMaxSample = 11, 10 }, "preview sample 11 is above the largest sample a request may ask for, 10"},
		{"top customers over the counts bound", func(c *live.Config) { c.ConsoleTopCustomers, c.CountsMaxPageSize = 20, 10 }, "top customers 20 is above the largest counts listing 10"},
		{"windows page over its maximum", func(c *live.Config) { c.ConsoleWindowsPageSize, c.ConsoleWindowsMaxPageSize = 50, 40 }, "windows page size 50 is above the maximum page size 40"},
		{"recent alerts over their maximum", func(c *live.Config) { c.ConsoleRecentAlerts = console.MaxRecentAlerts + 1 }, "recent alerts 10001 is above the maximum 10000"},
		// The notify stage's bounds too: refused before the broker starts.
		{"notify recent over its maximum", func(c *live.Config) { c.Notify.Recent = notify.MaxRecent + 1 }, "(--notify-recent)"},
		{"notify undelivered waiting over its maximum", func(c *live.Config) { c.Notify.UndeliveredWaiting = notify.MaxUndeliveredWaiting + 1 }, "(--notify-undelivered-waiting)"},
		{"notify recent under no-notify", func(c *live.Config) { c.Notify.Recent, c.NoNotify = notify.MaxRecent+1, true }, ""},
		// A million partitions made the daemon neither ready nor refused 30 s on.
		{"events partitions at their maximum", func(c *live.Config) { c.Embedded.Partitions = ingest.MaxPartitions }, ""},
		{"events partitions over their maximum", func(c *live.Config) { c.Embedded.Partitions = ingest.MaxPartitions + 1 }, "events partitions 4097 is above the maximum 4096 (--partitions)"},
		{"events partitions 0: the default", func(c *live.Config) { c.Embedded.Partitions = 0 }, ""},
		// Only the maintenance pass applies retention: with none, it would never be.
		{"archive retention without maintenance", func(c *live.Config) { c.ArchiveRetention, c.ArchiveMaintainInterval = time.Hour, -1 },
			"(--archive-retention) with archive maintain interval -1ns (--archive-maintain-interval)"},
		{"archive retention without maintenance or archive", func(c *live.Config) {
			c.ArchiveRetention, c.ArchiveMaintainInterval, c.NoArchive = time.Hour, -1, true
		}, ""},
		{"no maintenance without retention", func(c *live.Config) { c.ArchiveMaintainInterval = -1 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c live.Config
			tc.mod(&c)
			c.EnsureDefaults()
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
	var c live.Config
	c.EnsureDefaults()
	if c.HTTPAddr != "127.0.0.1:8080" || c.Embedded.Addr != "127.0.0.1:9092" || c.Group != "hindsight-live" || c.Topics.DeadLetters != "events.dlq" {
		t.Errorf("defaults = %+v", c)
	}
}

var _ = json.Marshal

// Two daemons in one group split the events partitions; both read every control, and
// each customer is counted by exactly one of them.
func TestTwoInstancesShareTheGroup(t *testing.T) {
	t.Parallel() // own broker, lake and daemon: shares nothing, and spends its time waiting
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	group := func(c *live.Config) { c.Group = "shared" }
	d1, _ := livetest.StartLive(t, b, group)
	d2, _ := livetest.StartLive(t, b, group)
	poll.Until(t, wait, "partitions split between the two daemons", func() bool {
		p1, p2 := d1.Partitions(), d2.Partitions()
		return len(p1) > 0 && len(p2) > 0 && len(p1)+len(p2) == 4
	})
	r := livetest.ParseRule(t, `{"id":"dl","scope":"*","when":{"path":"$.type","op":"==","value":"file.downloaded"},"threshold":2}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d1, r.Key(), 1)
	waitRule(t, d2, r.Key(), 1)

	var recs []*kgo.Record
	for c := range 20 {
		for range c%3 + 1 {
			recs = append(recs, ev(fmt.Sprintf("c-%d", c), downloaded))
		}
	}
	b.Produce(t, recs...)
	poll.Until(t, wait, "all events handled by the pair", func() bool { return d1.EventsSeen()+d2.EventsSeen() == int64(len(recs)) })
	if d1.EventsSeen() == 0 || d2.EventsSeen() == 0 {
		t.Errorf("one daemon handled nothing: %d and %d", d1.EventsSeen(), d2.EventsSeen())
	}
	alerts := 0
	for c := range 20 {
		customer := fmt.Sprintf("c-%d", c)
		n1, n2 := count(t, d1, r.Key(), customer), count(t, d2, r.Key(), customer)
		if want := int64(c%3 + 1); n1+n2 != want || (n1 != 0 && n2 != 0) {
			t.Errorf("%s counted %d + %d, want %d by one daemon", customer, n1, n2, want)
		}
		if c%3+1 >= 2 {
			alerts++
		}
	}
	alertsOn(t, b, alerts)
}

// TestPlainAlertCarriesContext: a running total's alert carries the rule's severity and
// the values its alert.context paths select in the event that reached the threshold.
func TestPlainAlertCarriesContext(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"ctx","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2,`+
		`"alert":{"severity":"low","context":["$.actor.roles","$.type","$.ip"]}}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed","actor":{"roles":["admin"]}}`)},
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed","actor":{"roles": [ "ops" ]},"ip":"10.0.0.7"}`)})
	a := alertsOn(t, b, 1)[0]
	if a.Severity != "low" || a.Status != contract.StatusFiring || livetest.JSONText(t, a.Context) != `{"$.actor.roles":["ops"],"$.ip":"10.0.0.7","$.type":"login.failed"}` {
		t.Errorf("alert severity %q, status %q, context %s: want low, firing and the second event's values", a.Severity, a.Status, a.Context)
	}
}
