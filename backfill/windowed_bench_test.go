package backfill_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// benchWindowedRule is a windowed group-by rule over the workload: MFA disabled (2% of
// the events) per actor in hourly windows.
const benchWindowedRule = `{"id":"mfa-off-per-actor","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"mfa.disabled"},
	"group_by":["$.actor.id"],"window":{"size":"1h"},"threshold":1}`

// BenchmarkWindowedBackfillVsKafkaReplay compares, over the same N events (default
// 1M, env HINDSIGHT_BENCH_WINDOWED_EVENTS; 4 partitions, 1,000 customers) and a
// windowed group-by rule:
//   - kafka-replay (baseline, baseline.ReplayKafkaWindows): a franz-go consumer reads
//     the events topic of a kfake broker on loopback from the start, each partition's
//     events through a window.Replay, as live evaluates them;
//   - backfill: what a live hand-off runs, backtest.PartitionState of each partition
//     over a lake the real archiver wrote from the same topic (typing the rule's
//     paths, as the live daemon has it do), two partitions at a time (the default
//     --backfill-concurrency): DuckDB reads only the rows the condition keeps
//     (backfill.MatchingRows);
//   - backfill-untyped: the same reading and evaluating every row in Go.
//
// Both must find the same crossings. Reported: events/s, and on backfill x-vs-replay =
// replay time / backfill time of this run.
func BenchmarkWindowedBackfillVsKafkaReplay(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if s := os.Getenv("HINDSIGHT_BENCH_WINDOWED_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("HINDSIGHT_BENCH_WINDOWED_EVENTS=%q: want a positive integer", s)
		}
		n = v
	}
	r := livetest.ParseRule(b, benchWindowedRule)
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		b.Fatal(err)
	}
	broker := kafkatest.Start(b, kafkatest.Options{Partitions: 4})
	gen := workload.New(17, workload.Config{Customers: 1000, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 20 * time.Millisecond})
	end := map[int32]int64{}
	cl := broker.Client(b)
	for done := 0; done < n; {
		batch := make([]*kgo.Record, 0, min(50_000, n-done))
		for range cap(batch) {
			ev := gen.Next()
			batch = append(batch, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time})
		}
		res := cl.ProduceSync(ctx, batch...)
		if err := res.FirstErr(); err != nil {
			b.Fatal(err)
		}
		for _, pr := range res {
			end[pr.Record.Partition] = max(end[pr.Record.Partition], pr.Record.Offset+1)
		}
		done += len(batch)
	}
	lake := archiveTyped(b, broker, end, r)

	var replayPerEvent time.Duration
	var want map[rule.Key]int
	b.Run("kafka-replay", func(b *testing.B) {
		for b.Loop() {
			got, err := baseline.ReplayKafkaWindows(ctx, []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, "events", end, set, window.Limits{})
			if err != nil {
				b.Fatal(err)
			}
			want = got
		}
		replayPerEvent = b.Elapsed() / time.Duration(b.N*n)
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(want[r.Key()]), "firings")
	})
	if want[r.Key()] == 0 {
		b.Fatal("the replay found no crossing: the benchmark measures nothing")
	}
	for _, variant := range []string{"backfill", "backfill-untyped"} {
		b.Run(variant, func(b *testing.B) {
			benchPartitionStates(b, ctx, lake, r, end, variant == "backfill", want[r.Key()], replayPerEvent, n)
		})
	}
}

// benchPartitionStates times PartitionState over every partition, two at a time, with
// typed reads or without, checking the crossings against want.
func benchPartitionStates(b *testing.B, ctx context.Context, lake *lakehouse.Lake, r *rule.Rule, end map[int32]int64, typed bool, want int, replayPerEvent time.Duration, n int) {
	{
		cfg := backtest.Config{Lake: lake}
		if typed {
			cfg.Matching = matchingIn(lake, b.TempDir(), nil)
		}
		var firings int
		for b.Loop() {
			var g errgroup.Group
			g.SetLimit(2)
			got := make(map[int32]int, len(end))
			for p, e := range end {
				got[p] = 0
				g.Go(func() error {
					crossed := 0
					h, err := backtest.PartitionState(ctx, cfg, r, p, e, func(int64, time.Time, window.Crossing) { crossed++ })
					if err == nil && len(h.Missing) > 0 {
						err = fmt.Errorf("partition %d: missing %v", p, h.Missing)
					}
					got[p] = crossed // distinct keys, each written by one goroutine before Wait
					return err
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
			firings = 0
			for _, c := range got {
				firings += c
			}
			if firings != want {
				b.Fatalf("backfill found %d crossings, the replay %d", firings, want)
			}
		}
		per := b.Elapsed() / time.Duration(b.N*n)
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(firings), "firings")
		if replayPerEvent > 0 {
			b.ReportMetric(float64(replayPerEvent)/float64(per), "x-vs-replay")
		}
	}
}

// archiveTyped archives the events topic up to end into a file lake, typing r's
// paths, and returns the lake.
func archiveTyped(b *testing.B, broker *kafkatest.Broker, end map[int32]int64, r *rule.Rule) *lakehouse.Lake {
	b.Helper()
	cols := lakehouse.NewColumnSet(16)
	var paths []string
	for _, p := range r.Paths() {
		paths = append(paths, p.String())
	}
	if err := cols.Set(paths); err != nil {
		b.Fatal(err)
	}
	bkt, _ := lakehousetest.FileBucket(b)
	lake := lakehouse.NewLake(bkt, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(ctx, lakehouse.ArchiverConfig{Brokers: []string{broker.Addr}, Bucket: bkt, Columns: cols,
			RollAge: time.Second, CompactInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	}()
	poll.Until(b, 5*time.Minute, "the lake to hold every event", func() bool {
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		for p, e := range end {
			if snap.Watermark(p) < e-1 {
				return false
			}
		}
		return true
	})
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return lake
}
