package backfill

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// history is every record produced, as the oracle replays it.
type history []*kgo.Record

func produce(t *testing.T, b *kafkatest.Broker, gen *workload.Generator, n int) history {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		ev := gen.Next()
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
	}
	// A malformed event and a keyless one: both are in the lake and Kafka, and count
	// nowhere.
	recs = append(recs,
		&kgo.Record{Topic: "events", Key: []byte("c-0001"), Value: []byte(`{"type":"login.failed",`), Timestamp: recs[0].Timestamp},
		&kgo.Record{Topic: "events", Value: []byte(`{"type":"login.failed"}`), Timestamp: recs[0].Timestamp})
	b.Produce(t, recs...)
	return recs
}

// endOffsets is, per partition, the offset after h's last record: the start offsets
// of a job that counts all of h.
func (h history) endOffsets() map[int32]int64 {
	end := map[int32]int64{}
	for _, r := range h {
		end[r.Partition] = max(end[r.Partition], r.Offset+1)
	}
	return end
}

// archive runs the real archiver until the lake holds every record produced so far.
func archive(t *testing.T, b *kafkatest.Broker, bkt lakehouse.Bucket, lake *lakehouse.Lake, h history) {
	t.Helper()
	// Records live dead-letters get no row: the watermark passes them with the next
	// archived record, so wait for the last one the archiver keeps.
	want := map[int32]int64{}
	doc := jsonpath.NewDocument()
	for _, r := range h {
		if reason, _ := verdict.Accept(doc, r.Key, r.Value); reason == "" {
			want[r.Partition] = max(want[r.Partition], r.Offset)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(ctx, lakehouse.ArchiverConfig{
			Brokers: []string{b.Addr}, Bucket: bkt, RollAge: 100 * time.Millisecond, CompactInterval: -1,
		})
	}()
	var snap *lakehouse.Snapshot
	// Each look reads the lake's manifest: every 50 ms, not poll's 10.
	caught := poll.WithinEvery(60*time.Second, 50*time.Millisecond, func() bool {
		var err error
		if snap, err = lake.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		for p, off := range want {
			if snap.Watermark(p) < off {
				return false
			}
		}
		return true
	})
	if !caught {
		t.Fatalf("archiver did not catch up in 60s: %+v", snap.Partitions())
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatalf("archiver: %v", err)
	}
}

// oracle replays the full history: the counts a backfill of job must give.
func oracle(h history, job Job) map[string]int64 {
	counts := map[string]int64{}
	doc := jsonpath.NewDocument()
	var from time.Time
	if job.Rule.Lookback > 0 {
		// History starts at the millisecond (record times are whole milliseconds).
		from = job.AsOf.Add(-time.Duration(job.Rule.Lookback)).Truncate(time.Millisecond)
	}
	for _, r := range h {
		start, ok := job.Start[r.Partition]
		c := string(r.Key)
		if !ok || r.Offset >= start || !job.Rule.AppliesTo(c) || (job.Customer != "" && c != job.Customer) {
			continue
		}
		if !from.IsZero() && r.Timestamp.Before(from) {
			continue
		}
		if reason, _ := verdict.Accept(doc, r.Key, r.Value); reason == "" && job.Rule.Matches(doc) {
			counts[c]++
		}
	}
	return counts
}

// TestJobMatchesOracle: random rules and random start offsets, some inside the lake and
// some beyond its watermark (read from Kafka); the counts equal a full replay.
func TestJobMatchesOracle(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(3, workload.Config{Customers: 12, Step: time.Second})
	h := produce(t, b, gen, 3000)
	archive(t, b, bkt, lake, h)
	h = append(h, produce(t, b, gen, 800)...) // the tail: in Kafka, not in the lake
	end := h.endOffsets()
	runner, err := NewRunner(Config{Lake: lake, Brokers: []string{b.Addr}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	rules := workload.Rules(9, 30, workload.RulesConfig{Customers: 12, Nested: true, GlobalPercent: 50})
	if testing.Short() {
		// Still every kind of job: with a lookback, for one customer of a global rule,
		// reading the lake and the Kafka tail (checked below); make test runs all 30.
		rules = rules[:10]
	}
	rng := rand.New(rand.NewPCG(1, 2))
	asOf := h[len(h)-1].Timestamp
	var sawTail, sawLake, sawCustomer bool
	var counted int64
	for i, r := range rules {
		if i%3 == 0 {
			r.Lookback = rule.Duration(time.Duration(500+rng.IntN(3000)) * time.Second)
		}
		job := Job{Rule: r, Start: map[int32]int64{}, AsOf: asOf}
		for p, e := range end {
			if rng.IntN(5) > 0 { // some partitions are not part of the job
				job.Start[p] = rng.Int64N(e + 1)
			}
		}
		if len(job.Start) == 0 {
			job.Start[0] = end[0]
		}
		if r.Global() && i%4 == 0 {
			job.Customer = workload.CustomerID(rng.IntN(12))
			sawCustomer = true
		}
		res, err := runner.Run(context.Background(), job)
		if err != nil {
			t.Fatalf("rule %s: %v", r.Key(), err)
		}
		want := oracle(h, job)
		if !maps.Equal(res.Counts, want) {
			t.Fatalf("rule %s start %v customer %q:\n got  %v\n want %v", r.Key(), job.Start, job.Customer, res.Counts, want)
		}
		for _, n := range res.Counts {
			counted += n
		}
		sawTail = sawTail || res.TailRecords > 0
		sawLake = sawLake || res.Rows > 0
	}
	if counted < 100 {
		t.Fatalf("only %d events counted over all jobs: too little to show anything", counted)
	}
	t.Logf("%d rules, %d events counted", len(rules), counted)
	if !sawTail || !sawLake || !sawCustomer {
		t.Fatalf("jobs read the lake: %v, the Kafka tail: %v, one customer of a global rule: %v; each must be exercised", sawLake, sawTail, sawCustomer)
	}
}

func TestJobWithoutBrokersReportsTheGap(t *testing.T) {
	t.Parallel()
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r, _ := rule.ParseRule([]byte(`{"id":"x","scope":"*","threshold":1,"when":{"path":"$.a"}}`))
	_, err = runner.Run(context.Background(), Job{Rule: r, Start: map[int32]int64{0: 10}})
	if err == nil {
		t.Fatal("expected an error")
	}
	if !errors.Is(err, ErrTailUnavailable) {
		t.Fatalf("error %v, want ErrTailUnavailable", err)
	}
}
