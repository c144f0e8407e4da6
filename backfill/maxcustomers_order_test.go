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

// boundedTailJob runs, bounded by maxCustomers and maxIDBytes, a job counting the
// matching events keys (one each, in this order, on one partition) read from Kafka's
// tail alone, with keep as Job.Keep.
func boundedTailJob(t *testing.T, keys []string, maxCustomers int, maxIDBytes int64, keep func(string) bool) *Result {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i, k := range keys {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(k), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	h := history(b.Produce(t, recs...))
	runner, err := NewRunner(Config{Lake: lakehouse.NewLake(lakehouse.NewMemBucket(), nil), Brokers: []string{b.Addr}, CacheDir: t.TempDir(),
		MaxCustomers: maxCustomers, MaxCustomerIDBytes: maxIDBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	res, err := runner.Run(context.Background(), Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	if res.TailRecords != int64(len(keys)) {
		t.Fatalf("the job read %d tail records, want %d", res.TailRecords, len(keys))
	}
	return res
}

// TestJobKeepsTheCustomersKeepSays: bounded to one customer, a job whose Keep answers
// true for a later customer (live already counts it for the rule's version) counts it
// all the same, and refuses only the customer Keep does not claim. (Mutation hunt:
// job.go's count ignoring Keep refused c-3 too, and no test saw it.)
func TestJobKeepsTheCustomersKeepSays(t *testing.T) {
	t.Parallel()
	var asked []string
	res := boundedTailJob(t, []string{"c-1", "c-2", "c-3"}, 1, -1, func(c string) bool {
		asked = append(asked, c)
		return c == "c-3"
	})
	want := map[string]int64{"c-1": 1, "c-3": 1}
	if !maps.Equal(res.Counts, want) || res.Refused != 1 || res.RefusedBy != LimitMaxCustomers {
		t.Errorf("counts %v, refused %d by %q; want %v, 1 refused by %q", res.Counts, res.Refused, res.RefusedBy, want, LimitMaxCustomers)
	}
	if len(asked) != 2 || asked[0] != "c-2" || asked[1] != "c-3" {
		t.Errorf("Keep was asked about %v, want [c-2 c-3]: only customers new to full counts", asked)
	}
}

// TestRefusedByNamesTheFirstLimitReached: a job's counts refused first for their ids'
// bytes ("bcd", 1+3 bytes past 3), then for their number ("f", past 2 customers), say
// max_customer_ids_bytes: the bound that first left history out. (Mutation hunt: the
// last limit reached overwriting RefusedBy passed every test.)
func TestRefusedByNamesTheFirstLimitReached(t *testing.T) {
	t.Parallel()
	res := boundedTailJob(t, []string{"a", "bcd", "e", "f"}, 2, 3, nil)
	want := map[string]int64{"a": 1, "e": 1}
	if !maps.Equal(res.Counts, want) || res.Refused != 2 || res.RefusedBy != LimitMaxCustomerIDBytes {
		t.Errorf("counts %v, refused %d by %q; want %v, 2 refused by %q", res.Counts, res.Refused, res.RefusedBy, want, LimitMaxCustomerIDBytes)
	}
}

// TestMaxCustomersKeepsPartitionOrderAcrossLakeAndTail: bounded to one customer, a job
// over two partitions keeps partition 0's customer, whose event only Kafka's tail
// holds, over partition 1's, which the lake holds: customers are taken by partition,
// then offset, as live's counters take them, not lake first. (Mutation hunt: running
// a bounded job's partitions together, runner.go's per-partition loop skipped, counted
// c-b from the lake and refused c-a, and no test saw it: TestJobCountsAtMostMaxCustomers
// checks how many are kept, not which.)
func TestMaxCustomersKeepsPartitionOrderAcrossLakeAndTail(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	produceTo := func(p int32, key string, at time.Time) *kgo.Record {
		t.Helper()
		r := &kgo.Record{Topic: "events", Partition: p, Key: []byte(key), Value: []byte(`{"type":"login.failed"}`), Timestamp: at}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pcl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("producing to partition %d: %v", p, err)
		}
		return r
	}
	h := history{produceTo(1, "c-b", t0)}
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	archive(t, b, bkt, lake, h)
	h = append(h, produceTo(0, "c-a", t0.Add(time.Second))) // the tail, read from Kafka
	runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir(), MaxCustomers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	res, err := runner.Run(context.Background(), Job{Rule: benchRule(t, "any", "*", `{"path":"$.type"}`), Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 1 || res.TailRecords != 1 {
		t.Fatalf("the job read %d lake rows and %d tail records, want 1 and 1", res.Rows, res.TailRecords)
	}
	want := map[string]int64{"c-a": 1}
	if !maps.Equal(res.Counts, want) || res.Refused != 1 {
		t.Errorf("bounded to one customer: counts %v, %d refused; want %v, 1 refused (partition 0's customer first)", res.Counts, res.Refused, want)
	}
}
