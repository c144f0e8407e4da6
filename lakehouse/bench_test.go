package lakehouse_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// benchPolls makes n workload events spread over partitions by customer, cut into
// polls of up to 2,000 records per partition, as franz-go would hand them over.
func benchPolls(n, partitions int) (polls [][]kgo.FetchTopicPartition, raw int64) {
	g := workload.New(42, workload.Config{Customers: 100})
	recs := make([][]*kgo.Record, partitions)
	for range n {
		ev := g.Next()
		p := int(fnv32(ev.Customer) % uint32(partitions))
		recs[p] = append(recs[p], &kgo.Record{Topic: "events", Partition: int32(p), Offset: int64(len(recs[p])),
			Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time})
		raw += int64(len(ev.JSON))
	}
	const perPoll = 2000
	for i := 0; ; i += perPoll {
		var poll []kgo.FetchTopicPartition
		for p := range recs {
			if i < len(recs[p]) {
				poll = append(poll, kgo.FetchTopicPartition{Topic: "events",
					FetchPartition: kgo.FetchPartition{Partition: int32(p), Records: recs[p][i:min(i+perPoll, len(recs[p]))]}})
			}
		}
		if poll == nil {
			return polls, raw
		}
		polls = append(polls, poll)
	}
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// BenchmarkArchive measures the archiver's write path — buffering, sorting, Parquet
// encoding with zstd, upload to a bucket, manifest commit — on realistic events, 200k
// per op over 4 partitions, against a baseline in the same run: the same events as
// zstd-compressed JSON lines (baseline.ZstdJSONLines: what an archiver without Parquet would write).
// parquet-typed-6 is the same writing typed columns for six paths besides, and
// typed-vs-plain runs the two in turn and reports typed-time-ratio (wall) and
// typed-cpu-ratio (the process's CPU time).
// Reported: events/s (wall), events/cpu-s (per core second), x-smaller (raw JSON
// bytes / stored bytes).
func BenchmarkArchive(b *testing.B) {
	const events, partitions = 200_000, 4
	polls, raw := benchPolls(events, partitions)
	ctx := context.Background()

	// typed: the columns of six paths, what a handful of rules read (strings, numbers,
	// a boolean, a nested member).
	typed := lakehouse.NewColumnSet(8)
	if err := typed.Set([]string{"$.type", "$.actor.geo.country", "$.severity", "$.risk.score", "$.session.mfa", "$.actor.id"}); err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		cols *lakehouse.ColumnSet
	}{{"parquet", nil}, {"parquet-typed-6", typed}} {
		b.Run(v.name, func(b *testing.B) { archiveParquet(b, ctx, polls, events, raw, v.cols) })
	}
	// The two in turn, each op one of each, so that a machine whose speed drifts
	// weighs on both alike: the typed archive's wall and CPU time over the plain
	// one's.
	b.Run("typed-vs-plain", func(b *testing.B) {
		var plain, withTypes, plainCPU, typesCPU time.Duration
		for b.Loop() {
			for _, v := range []struct {
				cols      *lakehouse.ColumnSet
				wall, cpu *time.Duration
			}{{nil, &plain, &plainCPU}, {typed, &withTypes, &typesCPU}} {
				runtime.GC() // each starts with no garbage of the other's
				began, cpu0 := time.Now(), cpuTime()
				archiveOnce(b, polls, v.cols)
				*v.wall += time.Since(began)
				*v.cpu += cpuTime() - cpu0
			}
		}
		b.ReportMetric(float64(withTypes)/float64(plain), "typed-time-ratio")
		b.ReportMetric(float64(typesCPU)/float64(plainCPU), "typed-cpu-ratio")
	})

	b.Run("jsonl-zstd-baseline", func(b *testing.B) {
		timeArchiving(b, events, raw, func() (stored int64) {
			values := make([][][]byte, partitions)
			for _, poll := range polls {
				for _, fp := range poll {
					for _, r := range fp.Records {
						values[fp.Partition] = append(values[fp.Partition], r.Value)
					}
				}
			}
			for _, out := range baseline.ZstdJSONLines(values) {
				stored += int64(len(out))
			}
			return stored
		})
	})
}

// timeArchiving runs archive b.N times and reports what BenchmarkArchive compares its
// two sides by; archive returns the bytes it stored.
func timeArchiving(b *testing.B, events int, raw int64, archive func() (stored int64)) {
	var stored int64
	b.SetBytes(raw)
	runtime.GC()
	cpu0, wall0 := cpuTime(), time.Now()
	b.ResetTimer()
	for range b.N {
		stored = archive()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*events)/time.Since(wall0).Seconds(), "events/s")
	b.ReportMetric(float64(b.N*events)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(raw)/float64(stored), "x-smaller")
}

// archiveOnce runs the archiver's write path over polls into a memory bucket, typing
// cols (nil: none), and returns the bucket.
func archiveOnce(b *testing.B, polls [][]kgo.FetchTopicPartition, cols *lakehouse.ColumnSet) lakehouse.Bucket {
	bkt := lakehouse.NewMemBucket()
	// An hour to flush, not the 30 s default: under valgrind (cachegrind, the way
	// docs/performance.md counts instructions) the final flush of an op takes longer.
	wp, err := lakehouse.NewWritePath(lakehouse.ArchiverConfig{Bucket: bkt, Logger: quietLog, Columns: cols,
		ShutdownTimeout: time.Hour}, bkt, []int32{0, 1, 2, 3})
	if err != nil {
		b.Fatal(err)
	}
	for _, poll := range polls {
		wp.Poll(poll)
	}
	if err := wp.Close(); err != nil {
		b.Fatal(err)
	}
	return bkt
}

// archiveParquet times the archiver's write path over polls, typing cols (nil: none).
func archiveParquet(b *testing.B, ctx context.Context, polls [][]kgo.FetchTopicPartition, events int, raw int64, cols *lakehouse.ColumnSet) {
	timeArchiving(b, events, raw, func() (stored int64) {
		bkt := archiveOnce(b, polls, cols)
		b.StopTimer()
		defer b.StartTimer()
		snap, err := lakehouse.NewLake(bkt, nil).Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		st := snap.Stats()
		if st.Rows != int64(events) || st.RawBytes != raw {
			b.Fatalf("archived %d rows / %d raw bytes, want %d / %d", st.Rows, st.RawBytes, events, raw)
		}
		if want := len(cols.Paths()); len(st.Columns) != want {
			b.Fatalf("%d typed columns in the lake, want %d", len(st.Columns), want)
		}
		return st.Bytes
	})
}

// BenchmarkFedIntake measures what the embedded archiver's intake of the live
// consumer's fetches costs the two stages together, 200k events per op typing six
// paths: the consumer parses each record to evaluate it (verdict.Accept), and the
// archiver takes the record into its open file. parse-each is how that went before
// the consumer noted its verdicts: the archiver parses every record again. noted is
// now: the consumer also reads the typed paths from its own parse into the batch's
// notes (FedBatch.Accepted), and the archiver takes them. in-turn runs the two one
// after the other and reports noted-cpu-ratio, noted's CPU over parse-each's.
// Reported: ns/record (wall) of each stage and of both.
func BenchmarkFedIntake(b *testing.B) {
	const events, partitions = 200_000, 4
	polls, _ := benchPolls(events, partitions)
	typed := lakehouse.NewColumnSet(8)
	if err := typed.Set([]string{"$.type", "$.actor.geo.country", "$.severity", "$.risk.score", "$.session.mfa", "$.actor.id"}); err != nil {
		b.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	// consume is the consumer's side of one op; with notes it returns them.
	consume := func(noted bool) [][]*lakehouse.FedBatch {
		var feed *lakehouse.Feed
		var notes [][]*lakehouse.FedBatch
		if noted {
			feed = lakehouse.NewFeed(events, 0, nil)
			lakehouse.SetFeedColumns(feed, typed)
			notes = make([][]*lakehouse.FedBatch, len(polls))
		}
		for i, poll := range polls {
			for _, fp := range poll {
				var n *lakehouse.FedBatch
				if noted {
					n = feed.Fetched(fp.Partition, fp.Records[0].Offset, fp.LogStartOffset, fp.Records)
					notes[i] = append(notes[i], n)
				}
				for k, r := range fp.Records {
					if reason, _ := verdict.Accept(doc, r.Key, r.Value); reason != "" {
						b.Fatalf("a workload event refused: %s", reason)
					}
					if n != nil {
						n.Accepted(k, doc)
					}
				}
				if n != nil {
					n.Handled()
				}
			}
		}
		return notes
	}
	intake := func(notes [][]*lakehouse.FedBatch) {
		if err := lakehouse.Intake(typed, polls, notes); err != nil {
			b.Fatal(err)
		}
	}
	perRecord := func(b *testing.B, d time.Duration, name string) {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N*events), name)
	}
	for _, noted := range []bool{false, true} {
		name := map[bool]string{false: "parse-each", true: "noted"}[noted]
		b.Run(name, func(b *testing.B) {
			var consumer, archiver time.Duration
			for b.Loop() {
				began := time.Now()
				notes := consume(noted)
				mid := time.Now()
				intake(notes)
				consumer += mid.Sub(began)
				archiver += time.Since(mid)
			}
			perRecord(b, consumer, "consumer-ns/record")
			perRecord(b, archiver, "archiver-ns/record")
			perRecord(b, consumer+archiver, "both-ns/record")
		})
	}
	b.Run("in-turn", func(b *testing.B) {
		var cpu [2]time.Duration
		for b.Loop() {
			for i, noted := range []bool{false, true} {
				runtime.GC()
				cpu0 := cpuTime()
				intake(consume(noted))
				cpu[i] += cpuTime() - cpu0
			}
		}
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "noted-cpu-ratio")
	})
}
