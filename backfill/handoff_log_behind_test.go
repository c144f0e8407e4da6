package backfill

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"
	"testing"
)

// TestHandoffWithKafkasLogListedBehindIsRetried: a hand-off's start is an offset the
// live stage has read, so every offset below it exists; a broker that lists the log's
// end below it (just restarted, or a leader newly elected and catching up) is behind,
// and the job fails with ErrTailUnavailable, for live to retry, rather than complete
// without the offsets it was not told of. Once the broker lists the whole log the job
// counts it all. (On the old code the first job completed, nothing missing, with the
// count of the 4 offsets listed of 10.)
func TestHandoffWithKafkasLogListedBehindIsRetried(t *testing.T) {
	t.Parallel()
	b, runner, job := loginsRig(t, 10)
	var behind atomic.Bool
	behind.Store(true)
	b.ListEndAt("events", 4, behind.Load)
	job.Start, job.StartRead = map[int32]int64{0: 10}, true
	if res, err := runner.Run(context.Background(), job); !errors.Is(err, ErrTailUnavailable) {
		var counts map[string]int64
		if res != nil {
			counts = res.Counts
		}
		t.Fatalf("a hand-off from offset 10 while Kafka lists its log ending at 4: err %v, counts %v; want ErrTailUnavailable", err, counts)
	}
	behind.Store(false)
	res, err := runner.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("the hand-off again, Kafka listing the whole log: %v", err)
	}
	if want := map[string]int64{"c-1": 10}; !maps.Equal(res.Counts, want) || res.TailRecords != 10 || res.Incomplete() {
		t.Errorf("counts %v from %d tail records, missing %v; want %v from 10, nothing missing", res.Counts, res.TailRecords, res.Missing, want)
	}
}
