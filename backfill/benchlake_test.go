package backfill

// Fixtures of the backfill benchmarks: lakes written by the real archiver from a real
// Kafka-protocol broker (kfake on loopback), and oracle counts replayed with the live
// evaluator's code. Nothing here runs in a plain `go test`: only benchmarks call it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

const (
	benchCustomers  = 1000
	benchPartitions = 4
	// benchLakeEvents is the size of the one-customer benchmark's lake. At the
	// generator's 10 ms step they span 27.8 hours of event time: 28 hours × 4
	// partitions ≈ 112 files of ~90k events each.
	benchLakeEvents = 10_000_000
	benchLakeSeed   = 20261123
)

// benchRowGroupRows is the lake's Parquet row group length: the archiver's default
// (0), or HINDSIGHT_BENCH_ROW_GROUP_ROWS to measure another.
func benchRowGroupRows(tb testing.TB) int {
	s := os.Getenv("HINDSIGHT_BENCH_ROW_GROUP_ROWS")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("HINDSIGHT_BENCH_ROW_GROUP_ROWS=%q: want a positive integer", s)
	}
	return n
}

// benchLakeDir is where the 10M-event lake is cached between runs.
func benchLakeDir(rowGroupRows int) string {
	if d := os.Getenv("HINDSIGHT_BENCH_LAKE"); d != "" {
		return d
	}
	if rowGroupRows > 0 {
		return filepath.Join(os.TempDir(), fmt.Sprintf("hindsight-bench-lake-10m-rg%d", rowGroupRows))
	}
	return filepath.Join(os.TempDir(), "hindsight-bench-lake-10m")
}

// lakeSpec describes a built lake; it is saved next to a cached lake.
type lakeSpec struct {
	Seed       uint64 `json:"seed"`
	Customers  int    `json:"customers"`
	Events     int64  `json:"events"`
	Partitions int32  `json:"partitions"`
	// RowGroupRows is the archiver's RowGroupRows; 0 is its default.
	RowGroupRows int `json:"row_group_rows,omitempty"`
	// Typed is set when the archiver typed the paths of the bench rules, Filtered when
	// its files carry customer filters: a lake built before either is rebuilt.
	Typed    bool `json:"typed,omitempty"`
	Filtered bool `json:"filtered,omitempty"`
	// End is, per partition, the offset after the last record: the Start of a job
	// that reads everything from the lake and nothing from Kafka.
	End map[int32]int64 `json:"end"`
	// PartitionOf is the partition each customer's events went to (Kafka's key hash).
	PartitionOf  map[string]int32 `json:"partition_of"`
	BuildSeconds float64          `json:"build_seconds"`
	// Oracle holds, per condition (its JSON), the number of each customer's events
	// that satisfy it, replayed with rule.Rule.Matches over the generated stream.
	Oracle map[string]map[string]int64 `json:"oracle"`
}

// conditionKey names a rule's condition in lakeSpec.Oracle.
func conditionKey(r *rule.Rule) string {
	b, err := json.Marshal(r.When)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// want is the oracle's answer for job over every event of the lake.
func (s *lakeSpec) want(job Job) map[string]int64 {
	all, ok := s.Oracle[conditionKey(job.Rule)]
	if !ok {
		panic("no oracle for " + conditionKey(job.Rule))
	}
	out := map[string]int64{}
	for c, n := range all {
		if n > 0 && job.Rule.AppliesTo(c) && (job.Customer == "" || c == job.Customer) {
			out[c] = n
		}
	}
	return out
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// openBenchLake returns the cached 10M-event lake, building it first if the cache
// does not hold exactly the expected rows (and the oracle of every rule given).
func openBenchLake(b *testing.B, rules []*rule.Rule) (*lakehouse.Lake, *lakeSpec, string) {
	b.Helper()
	ctx := context.Background()
	rg := benchRowGroupRows(b)
	dir := benchLakeDir(rg)
	lakeURL := "file://" + filepath.Join(dir, "lake")
	specPath := filepath.Join(dir, "spec.json")
	if spec, err := readSpec(specPath); err == nil && spec.Seed == benchLakeSeed && spec.Events == benchLakeEvents &&
		spec.Customers == benchCustomers && spec.Partitions == benchPartitions && spec.RowGroupRows == rg && spec.Typed && spec.Filtered {
		lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{Logger: quietLog})
		if err != nil {
			b.Fatal(err)
		}
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st := snap.Stats(); st.Rows == benchLakeEvents && endsMatch(snap, spec.End) {
			if addOracle(spec, rules) {
				if err := writeSpec(specPath, spec); err != nil {
					b.Fatal(err)
				}
			}
			b.Cleanup(func() { lake.Close() })
			return lake, spec, filepath.Join(dir, "cache")
		}
		lake.Close()
		fmt.Fprintf(os.Stderr, "bench lake at %s is incomplete: rebuilding\n", dir)
	}
	for _, sub := range []string{"lake", "cache", "spec.json"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "building a %d-event bench lake at %s (once; reused while its manifest holds them)\n", benchLakeEvents, dir)
	broker, err := kafkatest.StartBroker(kafkatest.Options{Partitions: benchPartitions})
	if err != nil {
		b.Fatal(err)
	}
	spec, err := buildLake(ctx, broker.Addr, lakeURL, benchLakeSeed, benchLakeEvents, rg, rules, true)
	broker.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := writeSpec(specPath, spec); err != nil {
		b.Fatal(err)
	}
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lake.Close() })
	return lake, spec, filepath.Join(dir, "cache")
}

func endsMatch(snap *lakehouse.Snapshot, end map[int32]int64) bool {
	if len(end) != benchPartitions {
		return false
	}
	for p, e := range end {
		if snap.Watermark(p) != e-1 {
			return false
		}
	}
	return true
}

func readSpec(path string) (*lakeSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s lakeSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func writeSpec(path string, s *lakeSpec) error {
	data, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// addOracle replays the seeded stream for the rules the spec has no oracle for yet.
// It reports whether it added any.
func addOracle(s *lakeSpec, rules []*rule.Rule) bool {
	var missing []*rule.Rule
	for _, r := range rules {
		if _, ok := s.Oracle[conditionKey(r)]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return false
	}
	counts := make([]map[string]int64, len(missing))
	for i := range counts {
		counts[i] = map[string]int64{}
	}
	gen := workload.New(s.Seed, workload.Config{Customers: s.Customers})
	doc := jsonpath.NewDocument()
	for range s.Events {
		ev := gen.NextShared()
		if doc.Reset(ev.JSON) != nil {
			continue
		}
		for i, r := range missing {
			if r.Matches(doc) {
				counts[i][ev.Customer]++
			}
		}
	}
	if s.Oracle == nil {
		s.Oracle = map[string]map[string]int64{}
	}
	for i, r := range missing {
		s.Oracle[conditionKey(r)] = counts[i]
	}
	return true
}

// buildLake produces n seeded workload events to the broker's events topic and runs the
// real archiver until the lake at lakeURL holds all of them. Files roll by event-time
// hour only (RollBytes and RollAge are far above what an hour holds and takes), so the
// lake has one file per partition and hour. With trim, records the lake holds are
// deleted from the broker as the archive advances, which keeps kfake's memory bounded;
// without, the broker keeps every record (for a replay baseline).
func buildLake(ctx context.Context, brokerAddr, lakeURL string, seed uint64, n int64, rowGroupRows int, rules []*rule.Rule, trim bool) (*lakeSpec, error) {
	began := time.Now()
	spec := &lakeSpec{Seed: seed, Customers: benchCustomers, Events: n, Partitions: benchPartitions, RowGroupRows: rowGroupRows, Typed: true, Filtered: true,
		End: map[int32]int64{}, PartitionOf: map[string]int32{}, Oracle: map[string]map[string]int64{}}
	counts := make([]map[string]int64, len(rules))
	for i := range counts {
		counts[i] = map[string]int64{}
	}

	// The archiver types what the rules read, as the live stage has it do for its
	// active rules.
	cols := lakehouse.NewColumnSet(64)
	var paths []string
	for _, r := range rules {
		for _, p := range r.Paths() {
			paths = append(paths, p.String())
		}
	}
	if err := cols.Set(paths); err != nil {
		return nil, err
	}
	actx, stopArchiver := context.WithCancel(ctx)
	defer stopArchiver()
	archived := make(chan error, 1)
	go func() {
		archived <- lakehouse.RunArchiver(actx, lakehouse.ArchiverConfig{
			Brokers: []string{brokerAddr}, BucketURL: lakeURL, Logger: quietLog, Columns: cols,
			RollBytes: 512 << 20, MaxBufferedBytes: 1 << 30, RowGroupRows: rowGroupRows,
			// Only the last hour of each partition is sealed by age, once production
			// has stopped; an hour of one partition (~50 MB) arrives in seconds.
			RollAge:         20 * time.Second,
			CompactInterval: -1,
		})
	}()
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{Logger: quietLog})
	if err != nil {
		return nil, err
	}
	defer lake.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.DefaultProduceTopic("events"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	var trimWG sync.WaitGroup
	trimCtx, stopTrim := context.WithCancel(ctx)
	defer func() { stopTrim(); trimWG.Wait() }()
	if trim {
		trimWG.Go(func() { trimArchived(trimCtx, kadm.NewClient(cl), lake) })
	}

	var mu sync.Mutex
	var produceErr error
	gen := workload.New(seed, workload.Config{Customers: benchCustomers})
	doc := jsonpath.NewDocument()
	for i := range n {
		ev := gen.Next()
		if doc.Reset(ev.JSON) == nil {
			for ri, r := range rules {
				if r.Matches(doc) {
					counts[ri][ev.Customer]++
				}
			}
		}
		cl.Produce(ctx, &kgo.Record{Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				produceErr = errors.Join(produceErr, err)
				return
			}
			spec.End[r.Partition] = max(spec.End[r.Partition], r.Offset+1)
			spec.PartitionOf[string(r.Key)] = r.Partition
		})
		if (i+1)%1_000_000 == 0 {
			fmt.Fprintf(os.Stderr, "  produced %d events (%.0fs)\n", i+1, time.Since(began).Seconds())
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	mu.Lock()
	err = produceErr
	mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("producing: %w", err)
	}
	for i, r := range rules {
		spec.Oracle[conditionKey(r)] = counts[i]
	}

	deadline := time.Now().Add(30 * time.Minute)
	for {
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		if endsMatch(snap, spec.End) {
			break
		}
		select {
		case err := <-archived:
			return nil, fmt.Errorf("archiver stopped early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("archiver did not catch up in 30m: %+v", snap.Partitions())
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopArchiver()
	if err := <-archived; err != nil {
		return nil, fmt.Errorf("archiver: %w", err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	st := snap.Stats()
	if st.Rows != n {
		return nil, fmt.Errorf("lake holds %d rows, want %d", st.Rows, n)
	}
	spec.BuildSeconds = time.Since(began).Seconds()
	fmt.Fprintf(os.Stderr, "  lake built in %.0fs: %d files, %d rows, %.0f MB stored, %.1fx smaller than the JSON\n",
		spec.BuildSeconds, st.Files, st.Rows, float64(st.Bytes)/1e6, st.Ratio)
	return spec, nil
}

// trimArchived deletes from the broker the records the lake already holds.
func trimArchived(ctx context.Context, adm *kadm.Client, lake *lakehouse.Lake) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		snap, err := lake.Snapshot(ctx)
		if err != nil {
			continue
		}
		var offs kadm.Offsets
		for _, p := range snap.Partitions() {
			offs.Add(kadm.Offset{Topic: "events", Partition: p.Partition, At: p.Watermark + 1, LeaderEpoch: -1})
		}
		_, _ = adm.DeleteRecords(ctx, offs)
	}
}
