package backfill

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLookbackBoundaryIsOneVerdict: a rule's lookback may be any Go duration, so the
// start of its history (AsOf − lookback) may fall between two microseconds. The Kafka
// read compared record times with it to the nanosecond, the lake's query bound it to
// DuckDB, whose timestamps hold microseconds: an event recorded just before the start
// was out of history when read from Kafka, and in it when read from the lake. The
// start is now truncated to the millisecond (rule.Rule.HistoryFrom), as record times
// are, and both reads agree with the oracle.
func TestLookbackBoundaryIsOneVerdict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: at.Add(-time.Millisecond)},
		&kgo.Record{Topic: "events", Key: []byte("c-2"), Value: []byte(`{"type":"login.failed"}`), Timestamp: at},
		&kgo.Record{Topic: "events", Key: []byte("c-3"), Value: []byte(`{"type":"login.failed"}`), Timestamp: at.Add(time.Millisecond)})
	h := history(b.Consume(t, "events", 3, 10*time.Second))
	// Active from 1h after the second event (a control record's time, whole
	// milliseconds); its lookback 500ns short of 1h: history starts 500ns after it, in
	// the millisecond that event was recorded in.
	r, err := rule.ParseRule([]byte(`{"id":"lb","scope":"*","version":1,"lookback":"59m59.9999995s","threshold":100,
		"when":{"path":"$.type","op":"==","value":"login.failed"}}`))
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Rule: r, Start: h.endOffsets(), AsOf: at.Add(time.Hour)}
	want := map[string]int64{"c-2": 1, "c-3": 1}
	if got := oracle(h, job); !maps.Equal(got, want) {
		t.Fatalf("oracle %v, want %v: the millisecond of the start counts, the one before does not", got, want)
	}

	kafkaOnly, err := NewRunner(Config{Lake: lakehouse.NewLake(lakehouse.NewMemBucket(), nil), CacheDir: t.TempDir(), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := kafkaOnly.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.Counts, want) {
		t.Errorf("from Kafka: counts %v, want %v", res.Counts, want)
	}

	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	archive(t, b, bkt, lake, h)
	fromLake, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = fromLake.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if res.TailRecords != 0 || res.Files == 0 {
		t.Fatalf("the lake should hold every record: %d files, %d read from Kafka", res.Files, res.TailRecords)
	}
	if !maps.Equal(res.Counts, want) {
		t.Errorf("from the lake: counts %v, want %v", res.Counts, want)
	}
}
