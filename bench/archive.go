package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// ArchiveConfig configures RunArchive.
type ArchiveConfig struct {
	Workload
	// Events is the number of events archived. Default 500,000, at most MaxEvents.
	Events int
	// Partitions of the events topic. Default 4, at most ingest.MaxPartitions.
	Partitions int32
	// Repeat is how many times the archiver and the baseline each read everything,
	// alternately; the fastest of each counts, the figure least disturbed by other
	// processes. Default 3.
	Repeat int
	// Logger receives the archiver's logs. Default: none.
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *ArchiveConfig) EnsureDefaults() {
	c.Workload.EnsureDefaults()
	orDefault(&c.Events, 500_000)
	orDefault(&c.Partitions, 4)
	orDefault(&c.Repeat, 3)
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
}

// Validate reports configuration mistakes.
func (c *ArchiveConfig) Validate() error {
	return checkCounts(&c.Workload, c.Events, 0, "", 0, c.Partitions)
}

// ArchiveRun is one archiver's pass over the topic.
type ArchiveRun struct {
	Elapsed     time.Duration
	CPU         time.Duration // of this whole process, the in-process broker included
	Stored      int64         // bytes written
	Files       int
	EventsPerS  float64
	PerInterval []float64
}

// ArchiveReport is what RunArchive measured.
type ArchiveReport struct {
	Config ArchiveConfig
	// RawBytes is the events' JSON.
	RawBytes int64
	// Parquet is the lakehouse archiver; JSONLines the baseline.
	Parquet, JSONLines ArchiveRun
	Wall               time.Duration
}

// RunArchive loads Events workload events into an in-process broker, then measures
// the lakehouse archiver (RunArchiver into an in-memory bucket: consume, sort, encode
// zstd Parquet, commit the manifest) reading them all, against a baseline reading the
// same records and writing them as zstd JSON lines (baseline.ZstdJSONLines),
// alternately Repeat times, the fastest of each counting. The lake must hold every
// event each time.
func RunArchive(ctx context.Context, cfg ArchiveConfig) (*ArchiveReport, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &ArchiveReport{Config: cfg}
	h, err := archivedHistory(ctx, cfg.Workload, cfg.Events, cfg.Partitions, cfg.Logger, nil)
	if err != nil {
		return nil, err
	}
	defer h.close()
	rep.RawBytes, rep.Parquet = h.raw, h.archived
	rep.Parquet.Stored, rep.Parquet.Files = h.stats.Bytes, h.stats.Files
	for i := range cfg.Repeat {
		if i > 0 {
			// Another archiver, another group, a new lake: it reads everything again.
			bkt := lakehouse.NewMemBucket()
			run, err := archive(ctx, h.broker.Addr, bkt, cfg.Events, cfg.Logger, nil)
			if err != nil {
				return nil, err
			}
			st, err := lakeStats(ctx, bkt, cfg.Events, h.raw)
			if err != nil {
				return nil, err
			}
			if run.Elapsed < rep.Parquet.Elapsed {
				rep.Parquet = run
				rep.Parquet.Stored, rep.Parquet.Files = st.Bytes, st.Files
			}
		}
		run, err := archiveJSONLines(ctx, h.broker.Addr, h.end, cfg.Events)
		if err != nil {
			return nil, err
		}
		if i == 0 || run.Elapsed < rep.JSONLines.Elapsed {
			rep.JSONLines = run
		}
	}
	rep.Wall = time.Since(start)
	return rep, nil
}

// history is n workload events in an in-process broker, archived into a lake.
type history struct {
	broker   *ingest.Embedded
	end      map[int32]int64 // per partition, the offset after the last event
	raw      int64           // bytes of JSON
	bkt      *lakehouse.MemBucket
	archived ArchiveRun // the archiver's pass
	stats    lakehouse.Stats
}

// archivedHistory starts a broker, loads n events and archives them with the
// lakehouse archiver, timed, typing the JSONPaths columns; the lake must then hold
// every event.
func archivedHistory(ctx context.Context, w Workload, n int, partitions int32, logger *slog.Logger, columns []string) (*history, error) {
	broker, err := ingest.StartEmbedded(ingest.EmbeddedConfig{Addr: "127.0.0.1:0", Partitions: partitions})
	if err != nil {
		return nil, err
	}
	h := &history{broker: broker, bkt: lakehouse.NewMemBucket()}
	if h.end, h.raw, err = loadEvents(ctx, broker.Addr, w, n); err != nil {
		broker.Close()
		return nil, err
	}
	if h.archived, err = archive(ctx, broker.Addr, h.bkt, n, logger, columns); err != nil {
		broker.Close()
		return nil, err
	}
	if h.stats, err = lakeStats(ctx, h.bkt, n, h.raw); err != nil {
		broker.Close()
		return nil, err
	}
	return h, nil
}

func (h *history) close() { h.broker.Close() }

// loadEvents produces n workload events, keyed by customer and stamped with their
// event time, to the events topic, and returns the end offset of each partition and
// the bytes of JSON sent.
func loadEvents(ctx context.Context, addr string, w Workload, n int) (map[int32]int64, int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("events"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	var (
		mu      sync.Mutex
		end     = map[int32]int64{}
		prodErr error
		raw     int64
	)
	gen := w.generator()
	for range n {
		ev := gen.Next()
		raw += int64(len(ev.JSON))
		cl.Produce(ctx, &kgo.Record{Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				prodErr = errors.Join(prodErr, err)
				return
			}
			end[r.Partition] = max(end[r.Partition], r.Offset+1)
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, 0, fmt.Errorf("bench: producing events: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if prodErr != nil {
		return nil, 0, fmt.Errorf("bench: producing events: %w", prodErr)
	}
	return end, raw, nil
}

// archive runs the lakehouse archiver over the events topic, typing the JSONPaths
// columns, until it has consumed n records, then stops it, which flushes and commits
// what it holds: the time is from start to the last commit. The archiver's count of
// records read can run ahead of what it archives (records read again after a
// rebalance), so the manifest decides: while it lacks rows, the archiver runs again,
// from its group's committed offsets, for those it lacks (timed too).
func archive(ctx context.Context, addr string, bkt lakehouse.Bucket, n int, logger *slog.Logger, columns []string) (ArchiveRun, error) {
	var run ArchiveRun
	cols := lakehouse.NewColumnSet(max(len(columns), 1))
	if err := cols.Set(columns); err != nil {
		return run, fmt.Errorf("bench: typed columns: %w", err)
	}
	group := "bench-archive-" + strconv.FormatUint(rand.Uint64()>>24, 36)
	cpu0, t0 := selfCPU(), time.Now()
	for missing, round := int64(n), 0; missing > 0; round++ {
		if round == 3 {
			return run, fmt.Errorf("bench: after %d archiver runs the lake still lacks %d of %d events", round, missing, n)
		}
		if err := archiveRound(ctx, addr, bkt, group, cols, logger, float64(missing), &run, round == 0); err != nil {
			return run, err
		}
		snap, err := lakehouse.NewLake(bkt, nil).Snapshot(ctx)
		if err != nil {
			return run, fmt.Errorf("bench: reading the lake: %w", err)
		}
		missing = int64(n) - snap.Stats().Rows
	}
	run.Elapsed, run.CPU = time.Since(t0), selfCPU()-cpu0
	run.EventsPerS = float64(n) / run.Elapsed.Seconds()
	return run, nil
}

// archiveRound runs the archiver of group until it has read want records, then stops
// it (which flushes), sampling its progress into run when sample.
func archiveRound(ctx context.Context, addr string, bkt lakehouse.Bucket, group string, cols *lakehouse.ColumnSet, logger *slog.Logger,
	want float64, run *ArchiveRun, sample bool) error {
	reg := prometheus.NewRegistry()
	actx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(actx, lakehouse.ArchiverConfig{
			Brokers: []string{addr}, Bucket: bkt, Group: group,
			Logger: logger, Registerer: reg, CompactInterval: -1, Columns: cols,
			// Files close on size or when the run stops, never on a timer mid-run.
			RollAge: time.Hour,
		})
	}()
	// As throughputBench.follow: samples every sampleStep, the end looked for every
	// archiveCheck, so that a pass ends when its last record is read, not at the next
	// sample (up to a tenth of a second more than it took); the interval it ends in is
	// sampled over its own length.
	tick := time.NewTicker(sampleStep)
	defer tick.Stop()
	end := time.NewTicker(archiveCheck)
	defer end.Stop()
	started := time.Now()
	last, lastAt := 0.0, started
	for {
		var now time.Time
		sampled := false
		select {
		case err := <-done:
			return fmt.Errorf("bench: archiver stopped early: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case now = <-tick.C:
			sampled = true
		case <-end.C:
			// Now, not the tick's due time, which can be before lastAt: as
			// throughputBench.follow.
			now = time.Now()
		}
		consumed, err := archiverConsumed(reg)
		if errors.Is(err, errNoSeries) && time.Since(started) < archiverRegisters {
			// RunArchiver registers its metrics as it starts, in its goroutine, which
			// the first check can come before: "exports no" failed a run at 0.36 s.
			continue
		}
		if err != nil {
			return err
		}
		if sampled {
			if sample {
				run.PerInterval = append(run.PerInterval, (consumed-last)/sampleStep.Seconds())
			}
			last, lastAt = consumed, now
		}
		if consumed >= want {
			if d := now.Sub(lastAt); sample && consumed > last && d > 0 {
				run.PerInterval = append(run.PerInterval, spanRates(consumed-last, d)...)
			}
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		return fmt.Errorf("bench: archiver: %w", err)
	}
	return nil
}

// archiverConsumed is the records the archiver has taken in from Kafka (archived,
// buffered or refused): one counter, so no two readings can count a record twice.
func archiverConsumed(reg *prometheus.Registry) (float64, error) {
	return counter(reg, "hindsight_lake_records_read_total")
}

// feedMissed is the records the archiver read from Kafka again: those its feed
// dropped and those it handed over that the archiver could not take.
func feedMissed(reg *prometheus.Registry) (int64, error) {
	dropped, err := counter(reg, "hindsight_lake_feed_dropped_records_total")
	if err != nil {
		return 0, err
	}
	unused, err := counter(reg, "hindsight_lake_feed_unused_records_total")
	return int64(dropped + unused), err
}

// counter is the value of the unlabelled counter name in reg.
func counter(reg *prometheus.Registry, name string) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, fmt.Errorf("bench: archiver metrics: %w", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue(), nil
		}
	}
	return 0, fmt.Errorf("%w: %s", errNoSeries, name)
}

// errNoSeries: the registry holds no such counter (yet: an archiver registers its
// metrics as it starts).
var errNoSeries = errors.New("bench: the archiver exports no")

// archiverRegisters bounds how long an archive round waits for its archiver to
// register the counter it follows before it takes the counter for missing.
const archiverRegisters = 30 * time.Second

// lakeStats checks that the lake holds exactly n events of raw bytes.
func lakeStats(ctx context.Context, bkt lakehouse.Bucket, n int, raw int64) (lakehouse.Stats, error) {
	snap, err := lakehouse.NewLake(bkt, nil).Snapshot(ctx)
	if err != nil {
		return lakehouse.Stats{}, fmt.Errorf("bench: reading the lake: %w", err)
	}
	st := snap.Stats()
	if st.Rows != int64(n) || st.RawBytes != raw {
		return st, fmt.Errorf("bench: the lake holds %d rows of %d raw bytes, want %d of %d (per partition: %+v)", st.Rows, st.RawBytes, n, raw, st.Partitions)
	}
	return st, nil
}

// archiveJSONLines is the baseline: read every partition to end, as the archiver's
// client would, and write each as zstd JSON lines.
func archiveJSONLines(ctx context.Context, addr string, end map[int32]int64, n int) (ArchiveRun, error) {
	var run ArchiveRun
	cpu0, t0 := selfCPU(), time.Now()
	offsets := map[int32]kgo.Offset{}
	for p := range end {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"events": offsets}),
		kgo.FetchMaxBytes(64<<20), kgo.FetchIsolationLevel(kgo.ReadCommitted())) // as the archiver's client
	if err != nil {
		return run, err
	}
	defer cl.Close()
	values := make([][][]byte, len(end))
	index := map[int32]int{}
	for p := range end {
		index[p] = len(index)
	}
	remaining, consumed := len(end), 0
	rates := stepRates{t0: t0}
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return run, err
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) { ferr = fmt.Errorf("bench: reading partition %d: %w", p, err) })
		if ferr != nil {
			return run, ferr
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			i := index[fp.Partition]
			for _, r := range fp.Records {
				if r.Offset < end[fp.Partition] {
					values[i] = append(values[i], r.Value)
					consumed++
					if r.Offset == end[fp.Partition]-1 {
						remaining--
					}
				}
			}
		})
		rates.read(time.Now(), consumed)
	}
	run.PerInterval = rates.perSecond()
	for _, out := range baseline.ZstdJSONLines(values) {
		run.Stored += int64(len(out))
		run.Files++
	}
	run.Elapsed, run.CPU = time.Since(t0), selfCPU()-cpu0
	if consumed != n {
		return run, fmt.Errorf("bench: baseline read %d events, want %d", consumed, n)
	}
	run.EventsPerS = float64(n) / run.Elapsed.Seconds()
	return run, nil
}

// Result is the report's entry for this benchmark.
func (r *ArchiveReport) Result() Result {
	pq, jl := r.Parquet, r.JSONLines
	n := float64(r.Config.Events)
	return Result{
		Name:     "archive",
		Subject:  "lakehouse archiver: Kafka → sorted zstd Parquet + manifest, in-memory bucket",
		Baseline: "the same records read from Kafka and written as zstd JSON lines (internal/baseline)",
		Params: r.Config.Workload.params(map[string]string{
			"events": strconv.Itoa(r.Config.Events), "partitions": strconv.Itoa(int(r.Config.Partitions)),
			"repeat": strconv.Itoa(r.Config.Repeat),
		}),
		Metrics: []Metric{
			{Name: "throughput", Unit: "events/s", Value: pq.EventsPerS, Baseline: ptr(jl.EventsPerS), Target: "≥ 500,000"},
			{Name: "throughput per CPU second", Unit: "events/cpu-s", Value: n / pq.CPU.Seconds(), Baseline: ptr(n / jl.CPU.Seconds())},
			{Name: "raw JSON", Unit: "MB/s", Value: float64(r.RawBytes) / 1e6 / pq.Elapsed.Seconds(), Baseline: ptr(float64(r.RawBytes) / 1e6 / jl.Elapsed.Seconds())},
			{Name: "stored", Unit: "bytes", Value: float64(pq.Stored), Baseline: ptr(float64(jl.Stored))},
			{Name: "stored per event", Unit: "bytes", Value: float64(pq.Stored) / n, Baseline: ptr(float64(jl.Stored) / n)},
			{Name: "files", Unit: "files", Value: float64(pq.Files), Baseline: ptr(float64(jl.Files))},
			{Name: "elapsed", Unit: "s", Value: pq.Elapsed.Seconds(), Baseline: ptr(jl.Elapsed.Seconds())},
		},
		Ratios: []Ratio{
			{Name: "throughput vs baseline", Value: pq.EventsPerS / jl.EventsPerS, Better: HigherIsBetter, Gated: true},
			{Name: "smaller than raw JSON", Value: float64(r.RawBytes) / float64(pq.Stored), Better: HigherIsBetter, Target: "≥ 5", Gated: true, Margin: StableMargin},
			{Name: "smaller than baseline", Value: float64(jl.Stored) / float64(pq.Stored), Better: HigherIsBetter, Gated: true, Margin: StableMargin},
		},
		Throughput: []Series{
			{Name: "archive: parquet", Step: Duration(sampleStep), Values: pq.PerInterval},
			{Name: "archive: baseline", Step: Duration(sampleStep), Values: jl.PerInterval},
		},
		Wall: Duration(r.Wall),
	}
}
