package backfill

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestJobStartPastTheLogsEndCountsWhatExists: a job whose start is past the end of
// Kafka's log (a by-hand job's offset, or a log that has not caught up) counts the
// records there are and does not wait for offsets that do not exist yet. (Mutation
// hunt: readHoles bounding the read by the log's end, logEnd-1 -> logEnd, waited for
// the record at the end until Kafka's poll timeout and failed with
// ErrTailUnavailable, and no test saw it.)
func TestJobStartPastTheLogsEndCountsWhatExists(t *testing.T) {
	t.Parallel()
	_, runner, job := loginsRig(t, 3)
	job.Start = map[int32]int64{0: 10}
	res, err := runner.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("a job starting at offset 10 of a log ending at 3: %v", err)
	}
	if want := map[string]int64{"c-1": 3}; !maps.Equal(res.Counts, want) || res.TailRecords != 3 || res.Incomplete() {
		t.Errorf("counts %v from %d tail records, missing %v; want %v from 3, nothing missing", res.Counts, res.TailRecords, res.Missing, want)
	}
}

// loginsRig is a one-partition broker holding n login failures of customer c-1, a
// runner over it and an empty lake, and a job of a rule matching every one of them
// as of the last (its Start is the caller's).
func loginsRig(t *testing.T, n int) (*kafkatest.Broker, *Runner, Job) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	h := history(b.Produce(t, recs...))
	runner, err := NewRunner(Config{Lake: lakehouse.NewLake(lakehouse.NewMemBucket(), nil), Brokers: []string{b.Addr}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runner.Close() })
	return b, runner, Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), AsOf: h[len(h)-1].Timestamp}
}
