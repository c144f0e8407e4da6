package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// lockedBuffer is a log sink the reader's goroutine writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestControlReaderWaitsForItsTopic starts a controls reader before its topic exists:
// it says it is waiting, retries until the topic appears, then reads what is published
// on it.
func TestControlReaderWaitsForItsTopic(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var topics Topics
	topics.EnsureDefaults()
	topics.Controls = "controls-late"
	var logs lockedBuffer
	r, err := NewControlReader(ControlsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Topics: topics,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan controls.Record, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(rs []controls.Record) {
			for _, x := range rs {
				got <- x
			}
		}, func() {})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if !poll.Within(10*time.Second, func() bool { return strings.Contains(logs.String(), "waiting for the controls topic") }) {
		t.Fatalf("no word of waiting for the topic after 10s; logs:\n%s", logs.String())
	}

	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.CreateTopic(cctx, 1, 1, nil, topics.Controls); err != nil {
		t.Fatal(err)
	}
	want := &rule.Rule{ID: "late", Scope: rule.GlobalScope, Threshold: rule.AtLeast(1), When: &rule.Condition{Path: "$.type"}}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	v, err := rule.Upsert(want).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b.Produce(t, &kgo.Record{Topic: topics.Controls, Key: []byte(want.Key().String()), Value: v})
	select {
	case rec := <-got:
		if rec.Err != nil || rec.Control == nil || rec.Control.Rule == nil || rec.Control.Rule.ID != "late" {
			js, _ := json.Marshal(rec)
			t.Errorf("read %s, want the upsert of rule late", js)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the control published once the topic existed was not read in 20s; logs:\n%s", logs.String())
	}
}

// controlsBroker starts a broker of one partition with the default topics made.
func controlsBroker(t *testing.T) (*kafkatest.Broker, Topics, KafkaConfig) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var topics Topics
	topics.EnsureDefaults()
	kc := KafkaConfig{Brokers: []string{b.Addr}}
	if err := EnsureTopics(context.Background(), kc, topics, 1); err != nil {
		t.Fatal(err)
	}
	return b, topics, kc
}

// TestControlsInTransactions: controls written in a Kafka transaction count once it
// commits, and an aborted one not at all. Before, the reader took the aborted upsert
// for a rule, and never caught up when the log ended on a transaction's marker (the
// daemon never loaded its rules; ReadControls waited until its deadline).
func TestControlsInTransactions(t *testing.T) {
	t.Parallel()
	b, topics, kc := controlsBroker(t)
	upsert := func(id string) *kgo.Record {
		r := &rule.Rule{ID: id, Scope: rule.GlobalScope, Threshold: rule.AtLeast(1), When: &rule.Condition{Path: "$.type"}}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		v, err := rule.Upsert(r).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return &kgo.Record{Topic: topics.Controls, Key: []byte(r.Key().String()), Value: v}
	}
	txn := b.TxnClient(t, "rules-gitops", []string{topics.Controls}, kgo.ProducerLinger(0))
	read := func() []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		recs, err := ReadControls(ctx, ControlsConfig{Kafka: kc, Topics: topics})
		if err != nil {
			t.Fatalf("reading the controls: %v", err)
		}
		var ids []string
		for _, r := range recs {
			if r.Err != nil || r.Control == nil || r.Control.Rule == nil {
				t.Fatalf("record at offset %d: %+v", r.Offset, r)
			}
			ids = append(ids, r.Control.Rule.ID)
		}
		return ids
	}

	inTxn(t, txn, kgo.TryCommit, upsert("committed")) // the log ends on its commit marker
	if got := read(); !slices.Equal(got, []string{"committed"}) {
		t.Errorf("after a committed transaction: read %v, want [committed]", got)
	}
	inTxn(t, txn, kgo.TryAbort, upsert("aborted"))
	b.Produce(t, upsert("plain"))
	if got := read(); !slices.Equal(got, []string{"committed", "plain"}) {
		t.Errorf("after an aborted transaction and a plain record: read %v, want [committed plain]", got)
	}
}

// inTxn produces recs in one transaction of txn, ended as commit says.
func inTxn(t *testing.T, txn *kgo.Client, commit kgo.TransactionEndTry, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := txn.EndTransaction(ctx, commit); err != nil {
		t.Fatal(err)
	}
}
