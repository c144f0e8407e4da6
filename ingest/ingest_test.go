package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/rule"
)

func TestDeadLetter(t *testing.T) {
	t.Parallel()
	ts := time.UnixMilli(1700000000123)
	src := &kgo.Record{Topic: "events", Partition: 3, Offset: 917, Key: []byte("c-1"), Value: []byte("{oops"), Timestamp: ts,
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t")}}}
	dl := DeadLetter(src, "events.dlq", ReasonInvalidJSON, errors.New("bad byte at 1"))
	h := map[string]string{}
	for _, x := range dl.Headers {
		h[x.Key] = string(x.Value)
	}
	want := map[string]string{"trace": "t", HeaderReason: ReasonInvalidJSON, HeaderError: "bad byte at 1", HeaderTopic: "events", HeaderPartition: "3", HeaderOffset: "917"}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	if dl.Topic != "events.dlq" || string(dl.Key) != "c-1" || string(dl.Value) != "{oops" || !dl.Timestamp.Equal(ts) {
		t.Errorf("dead letter = %+v", dl)
	}
	if len(src.Headers) != 1 {
		t.Errorf("the source record's headers were modified")
	}
}

// TestDeadLetterOfADeadLetter: a dead letter replayed into the events topic and refused
// again keeps its earlier hindsight.dlq. headers (and any a producer wrote), before the
// new ones: the last header of each name is this refusal's, as Kafka clients' "last
// header" accessors read it.
func TestDeadLetterOfADeadLetter(t *testing.T) {
	t.Parallel()
	first := DeadLetter(&kgo.Record{Topic: "events", Partition: 1, Offset: 5, Value: []byte(`{"a":1}`)}, "events.dlq", ReasonMissingKey, errors.New("no key"))
	replayed := &kgo.Record{Topic: "events", Partition: 2, Offset: 40, Key: []byte("c-1"), Value: []byte("{oops"), Headers: first.Headers}
	dl := DeadLetter(replayed, "events.dlq", ReasonInvalidJSON, errors.New("bad byte at 1"))
	last := map[string]string{}
	var reasons []string
	for _, h := range dl.Headers {
		last[h.Key] = string(h.Value)
		if h.Key == HeaderReason {
			reasons = append(reasons, string(h.Value))
		}
	}
	if !slices.Equal(reasons, []string{ReasonMissingKey, ReasonInvalidJSON}) {
		t.Errorf("%s headers %v, want the earlier refusal's, then this one's", HeaderReason, reasons)
	}
	if last[HeaderReason] != ReasonInvalidJSON || last[HeaderPartition] != "2" || last[HeaderOffset] != "40" {
		t.Errorf("the last dead-letter headers %v; want this refusal's (invalid_json, partition 2, offset 40)", last)
	}
}

// TestCutDeadLetter: a dead letter above the limit loses the end of its value, then of
// its key, then the original record's headers, never the dead-letter headers, and says
// how large it was.
func TestCutDeadLetter(t *testing.T) {
	t.Parallel()
	src := &kgo.Record{Topic: "events", Partition: 1, Offset: 7, Key: []byte("customer"), Value: []byte(strings.Repeat("v", 100)),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("0123456789")}}}
	full := RecordBytes(DeadLetter(src, "events.dlq", ReasonInvalidJSON, errors.New("bad")))
	// dlq is the dead letter with nothing of the original record: no key, value or
	// trace header, and with the header that says how large it was.
	bare := DeadLetter(&kgo.Record{Topic: src.Topic, Partition: src.Partition, Offset: src.Offset}, "events.dlq", ReasonInvalidJSON, errors.New("bad"))
	origHeader := kgo.RecordHeader{Key: HeaderOriginalBytes, Value: []byte(fmt.Sprint(full))}
	bare.Headers = append(bare.Headers, origHeader)
	dlq := RecordBytes(bare)
	trace := headerBytes(src.Headers[0])
	for _, tc := range []struct {
		name       string
		limit      int
		cut        bool
		value, key int
		trace      bool
	}{
		{"fits", full, false, 100, 8, true},
		// Length prefixes count: the value's (two bytes for 64 or more) is the same cut.
		{"value cut", full - 1, true, 100 - 1 - headerBytes(origHeader), 8, true},
		{"value gone", dlq + 8 + trace, true, 0, 8, true},
		{"key cut", dlq + 3 + trace, true, 0, 3, true},
		{"headers gone", dlq, true, 0, 0, false},
		{"below the dead-letter headers", 10, true, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := DeadLetter(src, "events.dlq", ReasonInvalidJSON, errors.New("bad"))
			if got := CutDeadLetter(rec, tc.limit); got != tc.cut {
				t.Fatalf("cut = %v, want %v", got, tc.cut)
			}
			h := map[string]string{}
			for _, x := range rec.Headers {
				h[x.Key] = string(x.Value)
			}
			_, trace := h["trace"]
			if len(rec.Value) != tc.value || len(rec.Key) != tc.key || trace != tc.trace {
				t.Errorf("value %d bytes, key %d, trace header %v; want %d, %d, %v", len(rec.Value), len(rec.Key), trace, tc.value, tc.key, tc.trace)
			}
			if h[HeaderReason] != ReasonInvalidJSON || h[HeaderOffset] != "7" || h[HeaderPartition] != "1" {
				t.Errorf("dead-letter headers lost: %v", h)
			}
			if tc.cut {
				if h[HeaderOriginalBytes] != fmt.Sprint(full) {
					t.Errorf("%s = %q, want %d", HeaderOriginalBytes, h[HeaderOriginalBytes], full)
				}
				if n := RecordBytes(rec); n > tc.limit && (tc.value > 0 || tc.key > 0 || tc.trace) {
					t.Errorf("%d bytes after the cut, limit %d", n, tc.limit)
				}
			} else if _, ok := h[HeaderOriginalBytes]; ok {
				t.Errorf("an uncut dead letter has %s", HeaderOriginalBytes)
			}
			if string(src.Value) != strings.Repeat("v", 100) || string(src.Key) != "customer" || len(src.Headers) != 1 {
				t.Errorf("the source record was modified")
			}
		})
	}
}

// TestCutDeadLetterDropsReplayedDLQHeaders: a record that carries hindsight.dlq.
// headers of its own (a dead letter replayed into the events topic) loses them to the
// cut like any other original header; only the headers DeadLetter added stay. They
// once stayed, and the dead letter, over the limit, was refused by the broker.
func TestCutDeadLetterDropsReplayedDLQHeaders(t *testing.T) {
	t.Parallel()
	src := &kgo.Record{Topic: "events", Offset: 9, Value: []byte(`{"type":`),
		Headers: []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("missing_key")}, {Key: "hindsight.dlq.note", Value: bytes.Repeat([]byte("n"), 5000)}}}
	rec := DeadLetter(src, "events.dlq", ReasonMissingKey, errors.New("no key"))
	if !CutDeadLetter(rec, 1000) {
		t.Fatal("not cut")
	}
	if n := RecordBytes(rec); n > 1000 {
		t.Errorf("%d bytes after the cut, limit 1000", n)
	}
	var keys []string
	for _, h := range rec.Headers {
		keys = append(keys, h.Key)
	}
	if want := []string{HeaderReason, HeaderError, HeaderTopic, HeaderPartition, HeaderOffset, HeaderOriginalBytes}; !slices.Equal(keys, want) {
		t.Errorf("headers %v, want the dead letter's own %v", keys, want)
	}
}

// An offset is committable only when every record produced on behalf of the events
// before it was delivered.
func TestPartStateCommittable(t *testing.T) {
	t.Parallel()
	s := newPartState(0)
	if _, ok := s.committable(); ok {
		t.Fatal("nothing handled, yet committable")
	}
	s.hold(10)
	s.hold(10)
	s.hold(12)
	s.handled = kgo.EpochOffset{Epoch: 1, Offset: 20}
	check := func(want int64) {
		t.Helper()
		off, ok := s.committable()
		if !ok || off.Offset != want {
			t.Fatalf("committable = %d, %v; want %d", off.Offset, ok, want)
		}
	}
	check(10)
	s.release(12) // out of order delivery
	check(10)
	s.release(10)
	check(10)
	s.release(10)
	check(20)
	s.committed = 20
	if _, ok := s.committable(); ok {
		t.Error("already committed offset offered again")
	}
	if len(s.holds) != 0 {
		t.Errorf("finished holds kept: %v", s.holds)
	}
}

func TestKafkaConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    KafkaConfig
		want string
	}{
		{"ok", KafkaConfig{Brokers: []string{"a:1, b:2"}}, ""},
		{"plain ok", KafkaConfig{Brokers: []string{"a:1"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "p"}, ""},
		{"no host:port", KafkaConfig{Brokers: []string{"a"}}, "host:port"},
		{"sasl without user", KafkaConfig{SASLMechanism: "scram-sha-256"}, "needs a user"},
		{"user without mechanism", KafkaConfig{SASLUser: "u"}, "without a SASL mechanism"},
		{"unknown mechanism", KafkaConfig{SASLMechanism: "gssapi", SASLUser: "u"}, "unknown SASL"},
		{"cert without key", KafkaConfig{TLSCertFile: "c.pem"}, "together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.EnsureDefaults()
			err := tc.c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
	c := KafkaConfig{Brokers: []string{"a:1,b:2"}}
	c.EnsureDefaults()
	if len(c.Brokers) != 2 || c.ClientID != "hindsight" {
		t.Errorf("defaults: %+v", c)
	}
	c.TLSCAFile = "/nonexistent/ca.pem"
	if _, err := c.Opts(); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("Opts with a missing CA file: %v", err)
	}
}

// SASL settings reach the broker: the right credentials read the controls topic, the
// wrong ones are refused.
func TestSASLPassThrough(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "scram-user", "scram-pass"),
		kfake.Superuser("PLAIN", "plain-user", "plain-pass"),
		kfake.SeedTopics(1, "controls", "controls.status"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	pub := KafkaConfig{Brokers: []string{addr}, SASLMechanism: "plain", SASLUser: "plain-user", SASLPassword: "plain-pass"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := &rule.Rule{ID: "a", Scope: "*", When: &rule.Condition{Path: "$.x"}, Threshold: rule.AtLeast(1)}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := PublishControls(ctx, pub, Topics{}, []*rule.Control{rule.Upsert(r)}); err != nil {
		t.Fatalf("publish with SASL/PLAIN: %v", err)
	}
	read := KafkaConfig{Brokers: []string{addr}, SASLMechanism: "scram-sha-256", SASLUser: "scram-user", SASLPassword: "scram-pass"}
	recs, err := ReadControls(ctx, ControlsConfig{Kafka: read})
	if err != nil || len(recs) != 1 || recs[0].Control == nil || recs[0].Control.Key().ID != "a" {
		t.Fatalf("read with SASL/SCRAM: %v %+v", err, recs)
	}
	wrong := read
	wrong.SASLPassword = "nope"
	// A second is ten times what the read with the right password takes here; kfake's
	// refusal makes this one wait it out whole.
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	defer scancel()
	// kfake drops the connection (real Kafka answers SASL_AUTHENTICATION_FAILED, on
	// which the reader gives up at once): either way nothing is read.
	if recs, err := ReadControls(sctx, ControlsConfig{Kafka: wrong}); err == nil {
		t.Fatalf("wrong SCRAM password read %d controls", len(recs))
	}
}

func TestEmbeddedAndEnsureTopics(t *testing.T) {
	t.Parallel()
	e, err := StartEmbedded(EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.Addr, "127.0.0.1:") || strings.HasSuffix(e.Addr, ":0") {
		t.Fatalf("embedded address %q", e.Addr)
	}
	kc := KafkaConfig{Brokers: []string{e.Addr}}
	kc.EnsureDefaults()
	var topics Topics
	topics.EnsureDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	want := map[string]int{"events": 3, "controls": 1, "alerts": 1, "events.dlq": 1, "controls.status": 1}
	checkTopics(ctx, t, kc, want)

	// On a broker without them, EnsureTopics creates the topics; again, it is a no-op.
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other := KafkaConfig{Brokers: c.ListenAddrs()}
	other.EnsureDefaults()
	for range 2 {
		if err := EnsureTopics(ctx, other, topics, 6); err != nil {
			t.Fatal(err)
		}
	}
	want["events"] = 6
	checkTopics(ctx, t, other, want)
}

func checkTopics(ctx context.Context, t *testing.T, kc KafkaConfig, want map[string]int) {
	t.Helper()
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range want {
		d, ok := td[name]
		if !ok || len(d.Partitions) != n {
			t.Errorf("topic %s: %d partitions (exists %v), want %d", name, len(d.Partitions), ok, n)
		}
	}
}

// TestPartStateCommittableNotPastHandled: a hold of a batch still being handled lies at
// or past what was handled; it holds the commit back, never moves it forward: the
// batch's events before it may not be handled yet (a handler emits for an event when
// it likes), and a first batch's hold makes nothing committable.
func TestPartStateCommittableNotPastHandled(t *testing.T) {
	t.Parallel()
	s := newPartState(0)
	s.hold(3) // the first batch, in hand
	if off, ok := s.committable(); ok {
		t.Errorf("nothing handled, a hold at 3: committable %d", off.Offset)
	}
	s.release(3)
	s.handled = kgo.EpochOffset{Epoch: 1, Offset: 10}
	s.hold(15) // the next batch, in hand
	if off, ok := s.committable(); !ok || off.Offset != 10 {
		t.Errorf("handled to 10, a hold at 15: committable %d, %v; want 10", off.Offset, ok)
	}
}
