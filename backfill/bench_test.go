package backfill

// Benchmarks of the backfill targets (docs/architecture.md, "Targets"):
//
//   - BenchmarkBackfillOneCustomer10M: one customer's backfill in a 10M-event lake
//     (target ≤ 1 s), with the files pruned and the rows scanned.
//   - BenchmarkGlobalBackfillVsKafkaReplay: a global rule's backfill scan rate against
//     replaying the same events from Kafka through the live evaluator's matching code,
//     measured in the same run (target ≥ 5×).
//
// Run them alone; they are heavy (the first builds a 10M-event lake once, ~1 GB on disk,
// cached under $HINDSIGHT_BENCH_LAKE):
//
//	go test ./backfill -run '^$' -bench BackfillOneCustomer10M -benchtime 5x
//	go test ./backfill -run '^$' -bench GlobalBackfillVsKafkaReplay -benchtime 3x

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/baseline"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/loadavg"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// Conditions of the benchmark rules. The first compiles to DuckDB SQL; the second
// needs the Go evaluator (a wildcard over an array) as a UDF, behind the native
// prefilter on $.type; the third is the UDF alone, on every row.
const (
	condNative   = `{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.geo.country","op":"in","value":["US","DE"]}]}`
	condUDF      = `{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]}`
	condUDFEvery = `{"path":"$.actor.roles[*]","op":"==","value":"admin"}`
)

func benchRule(tb testing.TB, id, scope, cond string) *rule.Rule {
	tb.Helper()
	r, err := rule.ParseRule([]byte(fmt.Sprintf(`{"id":%q,"scope":%q,"threshold":5,"when":%s}`, id, scope, cond)))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// logLoad prints the load average: the machine is shared, so figures mean little
// without it.
func logLoad(b *testing.B, when string) {
	load := loadavg.Read()
	if load == "" {
		load = "unknown"
	}
	fmt.Fprintf(os.Stderr, "%s %s: load average %s\n", b.Name(), when, load)
}

// cpuTime is the CPU time of the whole process (DuckDB's threads and the in-process
// kfake broker included): on a shared machine it varies less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBackfillOneCustomer10M measures Runner.Run for one customer over a lake of
// 10M events (1,000 customers, 4 partitions, one file per partition and event-time
// hour), with Start at the end offsets so that nothing comes from Kafka:
//   - customer-rule: a customer's own rule (natively compiled);
//   - global-rule: a global rule needing the UDF, restricted with Job.Customer;
//
// for a large tenant (c-0003, ~1.3% of the events) and a tail one (c-0500, ~0.08%),
// with the local file cache warm and, for the customer rule, cold (a new empty cache
// directory each op: every selected file is copied from the bucket again; the OS page
// cache stays warm, which we do not drop on a shared machine). Each op's counts are
// checked against the oracle. Each reports x-vs-full-scan: the time of full-scan (the
// native rule, global, over every file, warm) in this run divided by its own.
func BenchmarkBackfillOneCustomer10M(b *testing.B) {
	ctx := context.Background()
	native := benchRule(b, "bench-native", rule.GlobalScope, condNative)
	udf := benchRule(b, "bench-udf", rule.GlobalScope, condUDF)
	lake, spec, cacheDir := openBenchLake(b, []*rule.Rule{native, udf})
	logLoad(b, "start")
	defer logLoad(b, "end")
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	all := snap.Files(lakehouse.Filter{})
	var lakeRows int64
	var lakeRowGroups int
	for _, f := range all {
		lakeRows += f.Rows
		lakeRowGroups += f.RowGroups
	}
	fmt.Fprintf(os.Stderr, "lake: %d files, %d row groups, %d rows\n", len(all), lakeRowGroups, lakeRows)

	// The full scan every one-customer figure is compared with: the same native rule,
	// global, over every file, warm.
	var fullScan time.Duration
	b.Run("full-scan/global-rule/warm", func(b *testing.B) {
		job := Job{Rule: native, Start: spec.End}
		want := spec.want(job)
		runner, err := NewRunner(Config{Lake: lake, CacheDir: cacheDir, Logger: quietLog})
		if err != nil {
			b.Fatal(err)
		}
		defer runner.Close()
		run := func() *Result {
			res, err := runner.Run(ctx, job)
			if err != nil {
				b.Fatal(err)
			}
			if !maps.Equal(res.Counts, want) || res.Rows != lakeRows {
				b.Fatalf("full scan: %d rows, counts differ from the oracle", res.Rows)
			}
			return res
		}
		res := run()
		for b.Loop() {
			res = run()
		}
		fullScan = b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(res.Files), "files-read")
		b.ReportMetric(float64(res.TypedFiles), "typed-files")
	})

	customers := []struct{ name, id string }{{"big", "c-0003"}, {"tail", "c-0500"}}
	for _, c := range customers {
		cases := []struct {
			name string
			job  Job
			cold bool
		}{
			{"customer-rule/" + c.name + "/warm", Job{Rule: benchRule(b, "bench-native", c.id, condNative), Start: spec.End}, false},
			{"customer-rule/" + c.name + "/cold", Job{Rule: benchRule(b, "bench-native", c.id, condNative), Start: spec.End}, true},
			{"global-rule-udf/" + c.name + "/warm", Job{Rule: udf, Start: spec.End, Customer: c.id}, false},
			// A caller that knows the customer's partition (Kafka's key hash, with the
			// partition count unchanged since the events were written) lists only it.
			{"customer-rule/" + c.name + "/warm-own-partition", Job{Rule: benchRule(b, "bench-native", c.id, condNative),
				Start: map[int32]int64{spec.PartitionOf[c.id]: spec.End[spec.PartitionOf[c.id]]}}, false},
		}
		for _, tc := range cases {
			b.Run(tc.name, func(b *testing.B) {
				want := spec.want(tc.job)
				if len(want) != 1 || want[c.id] == 0 {
					b.Fatalf("oracle %v: the benchmark needs a non-zero count for %s", want, c.id)
				}
				dir := cacheDir
				if tc.cold {
					dir = b.TempDir()
				}
				newRunner := func() *Runner {
					r, err := NewRunner(Config{Lake: lake, CacheDir: dir, Logger: quietLog})
					if err != nil {
						b.Fatal(err)
					}
					return r
				}
				runner := newRunner()
				defer func() { runner.Close() }()
				run := func() *Result {
					res, err := runner.Run(ctx, tc.job)
					if err != nil {
						b.Fatal(err)
					}
					if !maps.Equal(res.Counts, want) {
						b.Fatalf("counts %v, oracle %v", res.Counts, want)
					}
					if res.TailRecords != 0 {
						b.Fatalf("%d records read from Kafka; the job must read only the lake", res.TailRecords)
					}
					return res
				}
				var res *Result
				if !tc.cold {
					res = run() // fills the local cache before timing
				}
				var cpu time.Duration
				for b.Loop() {
					if tc.cold {
						// Cold: no local copy and a new DuckDB database, so nothing
						// read before is cached but the OS's page cache.
						b.StopTimer()
						runner.Close()
						if err := os.RemoveAll(dir); err != nil {
							b.Fatal(err)
						}
						runner = newRunner()
						b.StartTimer()
					}
					cpu0 := cpuTime()
					res = run()
					cpu += cpuTime() - cpu0
				}
				b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
				if fullScan > 0 {
					b.ReportMetric(float64(fullScan)/float64(b.Elapsed()/time.Duration(b.N)), "x-vs-full-scan")
				}
				// The files Run selected: the same filter as Run's.
				var parts []int32
				maxOff := map[int32]int64{}
				for p, st := range tc.job.Start {
					parts = append(parts, p)
					maxOff[p] = st - 1
				}
				var inFiles int64
				var rowGroups int
				for _, f := range snap.Files(lakehouse.Filter{Partitions: parts, MaxOffset: maxOff, Customer: c.id}) {
					inFiles += f.Rows
					rowGroups += f.RowGroups
				}
				b.ReportMetric(float64(res.Files), "files-read")
				b.ReportMetric(float64(len(all)-res.Files), "files-pruned")
				b.ReportMetric(float64(inFiles), "rows-in-files-read")
				b.ReportMetric(float64(rowGroups), "row-groups-in-files-read")
				b.ReportMetric(float64(res.Rows), "rows-of-customer")
				b.ReportMetric(float64(res.Counts[c.id]), "count")
				b.ReportMetric(float64(spec.PartitionOf[c.id]), "partition")
			})
		}
	}
}

// BenchmarkGlobalBackfillVsKafkaReplay compares, over the same N events (default 2M,
// env HINDSIGHT_BENCH_REPLAY_EVENTS), per rule:
//   - kafka-replay (baseline, baseline.ReplayKafka): a franz-go consumer reads the events topic of a kfake
//     broker on loopback from the start, and each event goes through what the live
//     evaluator does per event (jsonpath.Document.Reset, rule.Matcher.Match), one
//     worker per partition as ingest runs them, counting per customer;
//   - backfill: Runner.Run over a lake the real archiver wrote from the same topic,
//     local cache warm;
//   - backfill-untyped: the same ignoring the typed columns the archiver wrote for
//     the rules' paths (the payload's JSON decides every row), to show what they are
//     worth;
//   - backfill-no-prefilter: that without the substring prefilter (see
//     literalPrefilter), to show what it is worth;
//   - go-evaluator: Document.Reset + Rule.Matches alone on one core over in-memory
//     events, the floor of any per-row Go evaluation (the UDF's work without DuckDB);
//
// and once, scan-cost/*: what reading the payload column, one JSON parse, one path
// extraction, a substring test and a Go UDF cost per row in DuckDB over that lake.
// The replay and the backfills must give the oracle's counts. Reported: events/s and
// cpu-ns/event (the whole process, kfake included), and on backfills x-vs-replay =
// replay time / backfill time of this run (x-vs-replay-cpu, the same in CPU time).
func BenchmarkGlobalBackfillVsKafkaReplay(b *testing.B) {
	ctx := context.Background()
	n := int64(2_000_000)
	if s := os.Getenv("HINDSIGHT_BENCH_REPLAY_EVENTS"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			b.Fatalf("HINDSIGHT_BENCH_REPLAY_EVENTS=%q: want a positive integer", s)
		}
		n = v
	}
	rules := []struct {
		name string
		r    *rule.Rule
	}{
		{"native", benchRule(b, "bench-native", rule.GlobalScope, condNative)},
		{"udf-prefiltered", benchRule(b, "bench-udf", rule.GlobalScope, condUDF)},
		{"udf-every-row", benchRule(b, "bench-udf-every", rule.GlobalScope, condUDFEvery)},
	}
	var rs []*rule.Rule
	for _, r := range rules {
		rs = append(rs, r.r)
	}
	broker := kafkatest.Start(b, kafkatest.Options{Partitions: benchPartitions})
	dir := b.TempDir()
	lakeURL := "file://" + filepath.Join(dir, "lake")
	fmt.Fprintf(os.Stderr, "producing %d events to kfake and archiving them\n", n)
	spec, err := buildLake(ctx, broker.Addr, lakeURL, benchLakeSeed+1, n, 0, rs, false)
	if err != nil {
		b.Fatal(err)
	}
	lake, err := lakehouse.OpenLake(ctx, lakeURL, lakehouse.StorageConfig{Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	defer lake.Close()
	logLoad(b, "start")
	defer logLoad(b, "end")

	for _, rc := range rules {
		job := Job{Rule: rc.r, Start: spec.End}
		want := spec.want(job)
		var replayPerEvent, replayCPU, goPerEvent time.Duration
		b.Run(rc.name+"/kafka-replay", func(b *testing.B) {
			set, err := rule.NewSet([]*rule.Rule{rc.r})
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuTime()
			for b.Loop() {
				got, err := baseline.ReplayKafka(ctx, []kgo.Opt{kgo.SeedBrokers(broker.Addr)}, "events", spec.End, set)
				if err != nil {
					b.Fatal(err)
				}
				if !maps.Equal(got, want) {
					b.Fatalf("replay counts differ from the oracle")
				}
			}
			replayPerEvent = b.Elapsed() / time.Duration(int64(b.N)*n)
			replayCPU = (cpuTime() - cpu0) / time.Duration(int64(b.N)*n)
			b.ReportMetric(float64(int64(b.N)*n)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(replayCPU.Nanoseconds()), "cpu-ns/event")
		})
		for _, variant := range []string{"backfill", "backfill-untyped", "backfill-no-prefilter"} {
			b.Run(rc.name+"/"+variant, func(b *testing.B) {
				runner, err := NewRunner(Config{Lake: lake, CacheDir: filepath.Join(dir, "cache"), Logger: quietLog})
				if err != nil {
					b.Fatal(err)
				}
				defer runner.Close()
				runner.noPrefilter = variant == "backfill-no-prefilter"
				// Without typed columns the rule reads the payload: what every backfill
				// did before the archiver typed paths.
				runner.noTyped = variant != "backfill"
				pred, err := Compile(rc.r, "payload")
				if err != nil {
					b.Fatal(err)
				}
				if pred.Native != (rc.name == "native") {
					b.Fatalf("rule %s compiled Native=%v: the benchmark's premise is wrong", rc.name, pred.Native)
				}
				run := func() *Result {
					res, err := runner.Run(ctx, job)
					if err != nil {
						b.Fatal(err)
					}
					if !maps.Equal(res.Counts, want) {
						b.Fatalf("backfill counts differ from the oracle")
					}
					if res.Rows != n || res.TailRecords != 0 {
						b.Fatalf("scanned %d rows and %d tail records, want %d and 0", res.Rows, res.TailRecords, n)
					}
					return res
				}
				res := run() // warms the local cache
				cpu0 := cpuTime()
				for b.Loop() {
					res = run()
				}
				per := b.Elapsed() / time.Duration(int64(b.N)*n)
				cpu := (cpuTime() - cpu0) / time.Duration(int64(b.N)*n)
				b.ReportMetric(float64(int64(b.N)*n)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(cpu.Nanoseconds()), "cpu-ns/event")
				b.ReportMetric(float64(res.Files), "files")
				if replayPerEvent > 0 {
					b.ReportMetric(float64(replayPerEvent)/float64(per), "x-vs-replay")
					b.ReportMetric(float64(replayCPU)/float64(cpu), "x-vs-replay-cpu")
				}
			})
		}
		b.Run(rc.name+"/go-evaluator", func(b *testing.B) {
			const sample = 100_000
			gen := workload.New(benchLakeSeed+1, workload.Config{Customers: benchCustomers})
			events := make([][]byte, sample)
			for i := range events {
				events[i] = gen.Next().JSON
			}
			doc := jsonpath.NewDocument()
			matched := 0
			for b.Loop() {
				for _, ev := range events {
					if doc.Reset(ev) == nil && rc.r.Matches(doc) {
						matched++
					}
				}
			}
			goPerEvent = b.Elapsed() / time.Duration(int64(b.N)*sample)
			if matched == 0 {
				b.Fatal("the rule matched nothing: the measurement would be meaningless")
			}
			b.ReportMetric(float64(int64(b.N)*sample)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(goPerEvent.Nanoseconds()), "ns/event")
		})
	}
	scanCost(b, lake, filepath.Join(dir, "cache"), n)
}

// scanCost breaks a global backfill's per-row cost down, over the local copies of the
// lake's files: reading the payload column alone (strlen: its bytes), one JSON parse (json_valid), one
// path extraction, a substring test, a Go UDF that does nothing (the cost of calling
// Go from DuckDB per row) and the rule UDF on every row.
func scanCost(b *testing.B, lake *lakehouse.Lake, cacheDir string, n int64) {
	ctx := context.Background()
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var quoted []string
	for _, f := range snap.Files(lakehouse.Filter{}) {
		p, err := lake.Fetch(ctx, f, cacheDir)
		if err != nil {
			b.Fatal(err)
		}
		quoted = append(quoted, "'"+strings.ReplaceAll(p, "'", "''")+"'")
	}
	src := "read_parquet([" + strings.Join(quoted, ", ") + "])"
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, "bench_noop", noopUDF{}); err != nil {
		b.Fatal(err)
	}
	every, err := Compile(benchRule(b, "e", rule.GlobalScope, condUDFEvery), "payload")
	if err != nil {
		b.Fatal(err)
	}
	if err := every.Register(conn); err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, expr string }{
		{"count-only", "count(*)"},
		{"read-payload", "sum(strlen(payload))"},
		{"contains", "count(*) FILTER (WHERE contains(payload, 'login.failed'))"},
		{"json_valid", "count(*) FILTER (WHERE json_valid(payload))"},
		{"json_extract_string", "count(*) FILTER (WHERE json_extract_string(payload, '$.type') = 'login.failed')"},
		{"udf-noop", "count(*) FILTER (WHERE bench_noop(payload))"},
		{"udf-rule", "count(*) FILTER (WHERE " + every.SQL + ")"},
	} {
		b.Run("scan-cost/"+q.name, func(b *testing.B) {
			var got int64
			cpu0 := cpuTime()
			for b.Loop() {
				if err := conn.QueryRowContext(ctx, "SELECT "+q.expr+" FROM "+src, every.Args...).Scan(&got); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*n), "ns/row")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(int64(b.N)*n), "cpu-ns/row")
		})
	}
}

// noopUDF is a Go scalar function that only looks at its argument's length.
type noopUDF struct{}

func (noopUDF) Config() duckdb.ScalarFuncConfig {
	str, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	boolean, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{str}, ResultTypeInfo: boolean}
}

func (noopUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		s, _ := values[0].(string)
		return len(s) > 0, nil
	}}
}
