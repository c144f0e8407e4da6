package backfill

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestMaxCustomersChoiceByLakeOrTail: one history, c-z's event then c-a's, both
// matching, counted by a job bounded to one customer (--max-customers, live's
// --max-counters), first while the lake holds none of it (all read from Kafka's tail,
// kafka.go: customers taken in arrival order), then once the archiver has it (the count
// query: customers taken in order of their ids). The same inputs must give the same
// counts whichever reader had them; which customer is kept turns on how far the
// archiver had got.
func TestMaxCustomersChoiceByLakeOrTail(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	h := history(b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c-z"), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0},
		&kgo.Record{Topic: "events", Key: []byte("c-a"), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0.Add(time.Second)}))
	job := Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp}
	count := func(lake *lakehouse.Lake) []string {
		t.Helper()
		runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir(), MaxCustomers: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer runner.Close()
		res, err := runner.Run(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("lake rows %d, tail records %d: counts %v, refused %d by %q", res.Rows, res.TailRecords, res.Counts, res.Refused, res.RefusedBy)
		return slices.Sorted(maps.Keys(res.Counts))
	}
	fromTail := count(lakehouse.NewLake(lakehouse.NewMemBucket(), nil))
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	archive(t, b, bkt, lake, h)
	fromLake := count(lake)
	if !slices.Equal(fromTail, fromLake) {
		t.Errorf("bounded to one customer, the job kept %v reading the history from Kafka's tail and %v reading it from the lake: one history, two verdicts", fromTail, fromLake)
	}
}
