package backfill

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestJobCountsEvalCutShort: a rule whose path ($..a..b) runs out of jsonpath's work
// budget on an event misses it in backfill as in live; the job says how many of its
// evaluations were cut short (Result.EvalCutShort), those of the Go evaluator inside
// DuckDB (the lake) and over Kafka's tail alike, so that a caller can count them as
// live does (a review found them silent).
func TestJobCountsEvalCutShort(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	const depth, width = 990, 100_000
	deep := []byte(`{"x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth) + `,"y":{"a":{"b":1}}}`)
	ev := func(value []byte) *kgo.Record {
		return &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: value}
	}
	h := history(b.Produce(t, ev([]byte(`{"y":{"a":{"b":1}}}`)), ev(deep)))
	archive(t, b, bkt, lake, h)
	h = append(h, b.Produce(t, ev(deep), ev([]byte(`{"y":{"a":{"b":2}}}`)))...) // the tail: in Kafka, not in the lake
	runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r, err := rule.ParseRule([]byte(`{"id":"nested-b","scope":"*","threshold":1,"when":{"path":"$..a..b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), Job{Rule: r, Start: h.endOffsets()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 || res.TailRecords != 2 {
		t.Fatalf("%d rows, %d tail records; want 2 and 2: the test shows nothing", res.Rows, res.TailRecords)
	}
	if res.Counts["c-1"] != 2 || res.EvalCutShort != 2 {
		t.Errorf("count %d, %d evaluations cut short; want 2 (the shallow events) and 2 (the deep ones, lake and tail)", res.Counts["c-1"], res.EvalCutShort)
	}
}
