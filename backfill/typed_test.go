package backfill_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestTypedColumnsKeepTheVerdict archives the odd payloads of the verdict tests three
// times — with no typed columns, with typed columns for every path the verdict rules
// read, and with the columns switched on, off and halved between batches so files of
// each kind sit side by side — and has backfill count every verdict rule over each
// lake: every count must equal the oracle (verdict.Accept, then rule.Matches), and
// the typed files must have been decided by their typed columns where the rule allows.
func TestTypedColumnsKeepTheVerdict(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: three lakes and every verdict rule over each; runs in make test")
	}
	ctx := context.Background()
	rules := backfill.VerdictRules(t)
	var all []string
	for _, r := range rules {
		for _, p := range r.Paths() {
			all = append(all, p.String())
		}
	}
	half := all[:len(all)/2]
	rng := rand.New(rand.NewPCG(16, 3))
	payloads := backfill.OddPayloads(rng, 2400)
	customers := []string{"c-1", "c-2", "c-ü"}
	keys := make([]string, len(payloads))
	for i := range keys {
		keys[i] = customers[rng.IntN(len(customers))]
	}

	for _, mode := range []struct {
		name    string
		batches [][]string // the typed paths while each quarter of the events is archived
		// compactTo, when set, compacts the lake before the backfill, each merged file
		// keeping at most that many of the paths its inputs typed (--lake-max-columns).
		compactTo int
	}{
		{"untyped", [][]string{nil, nil, nil, nil}, 0},
		{"typed", [][]string{all, all, all, all}, 0},
		{"mixed", [][]string{all, nil, half, all}, 0},
		{"compacted", [][]string{all, nil, half, all}, 2},
	} {
		t.Run(mode.name, func(t *testing.T) {
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
			bkt := lakehouse.NewMemBucket()
			lake := lakehouse.NewLake(bkt, nil)
			cols := lakehouse.NewColumnSet(64)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- lakehouse.RunArchiver(runCtx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt, Columns: cols,
					RollAge: 20 * time.Millisecond, CompactInterval: -1, LagInterval: 50 * time.Millisecond,
					Logger: slog.New(slog.DiscardHandler), KafkaOpts: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}})
			}()
			defer func() {
				stop()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()

			doc := jsonpath.NewDocument()
			want := map[string]map[string]int64{}
			for _, r := range rules {
				want[r.ID] = map[string]int64{}
			}
			ends := map[int32]int64{}
			quarter := len(payloads) / len(mode.batches)
			for q, paths := range mode.batches {
				if err := cols.Set(paths); err != nil {
					t.Fatal(err)
				}
				var recs []*kgo.Record
				for i := q * quarter; i < (q+1)*quarter; i++ {
					recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(keys[i]), Value: []byte(payloads[i])})
				}
				// One accepted event last, so that the lake's watermark passes the batch.
				recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-end"), Value: []byte(fmt.Sprintf(`{"q":%d}`, q))})
				for _, rec := range b.Produce(t, recs...) {
					ends[rec.Partition] = max(ends[rec.Partition], rec.Offset+1)
					if reason, _ := verdict.Accept(doc, rec.Key, rec.Value); reason != "" {
						continue
					}
					for _, r := range rules {
						if r.Matches(doc) {
							want[r.ID][string(rec.Key)]++
						}
					}
				}
				waitLake(t, lake, ends)
			}
			if mode.compactTo > 0 {
				rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, DeleteDelay: time.Hour, MaxColumns: mode.compactTo})
				if err != nil {
					t.Fatal(err)
				}
				if rep.FilesCompacted == 0 || rep.ColumnLimited == 0 {
					t.Fatalf("compaction merged %d files, %d of them limited: the mode shows nothing", rep.FilesCompacted, rep.ColumnLimited)
				}
				t.Logf("compacted %d files into %d, leaving %d typed paths to the payload", rep.FilesCompacted, rep.FilesWritten, rep.TypedPathsLeftOut)
			}

			// One DuckDB database for the mode's jobs (Config.DB): a job's own, opened and
			// closed per rule, was a quarter of the package's CPU; what is tested here is
			// what the jobs count, and the other runner tests keep the per-job database.
			db, err := sql.Open("duckdb", "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			runner, err := backfill.NewRunner(backfill.Config{Lake: lake, CacheDir: t.TempDir(), Brokers: []string{b.Addr}, DB: db})
			if err != nil {
				t.Fatal(err)
			}
			defer runner.Close()
			typedRules, prefilteredRules := 0, 0
			for i, r := range rules {
				res, err := runner.Run(ctx, backfill.Job{Rule: r, Start: ends})
				if err != nil {
					t.Fatalf("backfill of %s: %v", backfill.VerdictConditions[i], err)
				}
				if res.TailRecords != 0 || res.Incomplete() {
					t.Fatalf("backfill of %s read %d records from Kafka, missing %v: the lake should hold everything", backfill.VerdictConditions[i], res.TailRecords, res.Missing)
				}
				if !maps.Equal(res.Counts, want[r.ID]) {
					t.Errorf("%s: backfill counts %v, oracle %v", backfill.VerdictConditions[i], res.Counts, want[r.ID])
				}
				pred, err := backfill.Compile(r, "payload")
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case mode.compactTo > 0:
					// Merged files type some of the paths: the counts above are the test.
				case mode.name == "untyped" && res.TypedFiles != 0:
					t.Errorf("%s: %d files decided by typed columns in a lake without any", backfill.VerdictConditions[i], res.TypedFiles)
				case mode.name == "untyped" && res.PrefilteredFiles != 0:
					t.Errorf("%s: %d files prefiltered by typed columns in a lake without any", backfill.VerdictConditions[i], res.PrefilteredFiles)
				case mode.name != "untyped" && pred.TypedSQL != "" && res.TypedFiles == 0:
					t.Errorf("%s: no file decided by typed columns (%d files)", backfill.VerdictConditions[i], res.Files)
				case mode.name != "untyped" && pred.PrefilteredSQL != "" && res.PrefilteredFiles == 0:
					t.Errorf("%s: no file prefiltered by typed columns (%d files)", backfill.VerdictConditions[i], res.Files)
				case mode.name == "mixed" && res.TypedFiles == res.Files:
					t.Errorf("%s: every file decided by typed columns in a mixed lake", backfill.VerdictConditions[i])
				}
				if res.TypedFiles > 0 {
					typedRules++
				}
				if res.PrefilteredFiles > 0 {
					prefilteredRules++
				}
			}
			if mode.name != "untyped" && mode.compactTo == 0 && typedRules < len(rules)/2 {
				t.Fatalf("only %d of %d rules used typed columns", typedRules, len(rules))
			}
			if mode.name != "untyped" && prefilteredRules == 0 {
				t.Fatal("no rule had its rows chosen by typed columns: the test shows nothing of Predicate.Prefiltered")
			}
			t.Logf("%s: %d rules used typed columns, %d as a prefilter", mode.name, typedRules, prefilteredRules)
		})
	}
}

// waitLake waits until the lake holds every offset below ends.
func waitLake(t *testing.T, lake *lakehouse.Lake, ends map[int32]int64) {
	t.Helper()
	poll.Until(t, 60*time.Second, "lake caught up", func() bool {
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		for p, e := range ends {
			if snap.Watermark(p) < e-1 {
				return false
			}
		}
		return true
	})
}
