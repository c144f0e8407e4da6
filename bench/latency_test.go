package bench_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/internal/testwide"
)

const childEnv = "HINDSIGHT_BENCH_BROKER_CHILD"

// TestMain doubles as the broker child process: the benchmark re-executes this test
// binary with childEnv set, as `hindsight bench latency` re-executes hindsight.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		var cfg ingest.EmbeddedConfig
		for _, a := range os.Args[1:] {
			if v, ok := strings.CutPrefix(a, "--addr="); ok {
				cfg.Addr = v
			}
			if v, ok := strings.CutPrefix(a, "--partitions="); ok {
				n, _ := strconv.Atoi(v)
				cfg.Partitions = int32(n)
			}
			if v, ok := strings.CutPrefix(a, "--retention-bytes="); ok {
				cfg.RetentionBytes, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if err := bench.ServeBroker(context.Background(), cfg, os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	testwide.Short(4)
	goleak.VerifyTestMain(m) // fails the binary if a test left a goroutine running
}

// childCommand runs this test binary as the broker process; env(1) marks it so, for
// the child alone, which lets the tests that start one run in parallel.
func childCommand(t testing.TB) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{"env", childEnv + "=1", exe}
}

// TestLatencyRunAccountsForEveryEvent checks the measurement itself at a low rate:
// every measured event's alert comes back, through Hindsight and through the
// pass-through baseline, and the figures are consistent.
func TestLatencyRunAccountsForEveryEvent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a latency benchmark (5 s): make test runs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := bench.RunLatency(ctx, bench.LatencyConfig{
		BrokerCommand: childCommand(t), Rate: 2000, Duration: time.Second, Warmup: 500 * time.Millisecond,
		Rules: 20, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if rep.Sent < 1800 || rep.Sent > 2000 {
		t.Errorf("sent %d measured events, want about 2000/s × 1s", rep.Sent)
	}
	if rep.Missing != 0 || rep.Probes != rep.Sent || rep.Received != rep.Sent || rep.ProduceErr != 0 {
		t.Errorf("sent %d, received %d, missing %d, produce errors %d", rep.Sent, rep.Received, rep.Missing, rep.ProduceErr)
	}
	if !(0 < rep.P50 && rep.P50 <= rep.P99 && rep.P99 <= rep.P999 && rep.P999 <= rep.Max) {
		t.Errorf("percentiles out of order: %+v", rep)
	}
	// Every 20th probe is a webhook probe: each is received by the loopback receiver
	// through the notify stage, after its alert reached the topic.
	if w := rep.Webhook; w == nil || w.Probes != rep.Sent/20 || w.Received != w.Probes || w.P50 <= 0 || w.P50 > w.P99 || w.DeltaP50 <= 0 {
		t.Errorf("webhook figures %+v; want %d probes, all received, positive latencies and delivery time", w, rep.Sent/20)
	}
	if rep.CPUSelf <= 0 || rep.CPUBroker <= 0 || rep.CPUOthers < 0 {
		t.Errorf("CPU not measured: self %v broker %v others %v", rep.CPUSelf, rep.CPUBroker, rep.CPUOthers)
	}
	if rep.Rules != 22 { // the latency rule, the webhook rule and 20 others
		t.Errorf("%d rules active, want 22", rep.Rules)
	}
	// The second pass, archive off, times every event as the first did.
	if off := rep.ArchiveOff; off == nil || off.Sent < 1800 || off.Sent > 2000 || off.Missing != 0 || off.Received != off.Sent || !(0 < off.P50 && off.P50 <= off.P99) {
		t.Errorf("archive-off pass %+v; want about 2000 sent, all received, ordered percentiles", off)
	} else if r := rep.Result().Ratio("p99, archive on vs off"); r == nil || math.Abs(r.Value/(float64(rep.P99)/float64(off.P99))-1) > 1e-9 {
		t.Errorf("archive on vs off ratio %+v, want %v", r, float64(rep.P99)/float64(off.P99))
	}
	if rep.GC.Cycles < 1 || rep.GC.CPU <= 0 || rep.GC.MaxPause <= 0 || rep.GC.MaxPause > rep.Wall {
		t.Errorf("GC figures %+v over a %v phase", rep.GC, rep.Wall)
	}
	bl := rep.Baseline
	if bl == nil {
		t.Fatal("no pass-through baseline")
	}
	if bl.Sent < 1800 || bl.Sent > 2000 || bl.Missing != 0 || bl.Received != bl.Sent || bl.ProduceErr != 0 {
		t.Errorf("pass-through: sent %d, received %d, missing %d, produce errors %d", bl.Sent, bl.Received, bl.Missing, bl.ProduceErr)
	}
	if !(0 < bl.P50 && bl.P50 <= bl.P99 && bl.P99 <= bl.Max) {
		t.Errorf("pass-through percentiles out of order: %+v", bl)
	}
	res := rep.Result()
	// The broker child kept DefaultBrokerRetentionBytes per partition, and says so.
	if !rep.BrokerChild || rep.BrokerRetention != bench.DefaultBrokerRetentionBytes || res.Params["broker_retention_bytes"] != strconv.Itoa(bench.DefaultBrokerRetentionBytes) {
		t.Errorf("broker child %v, retention %d, param %q; want the default, %d", rep.BrokerChild, rep.BrokerRetention, res.Params["broker_retention_bytes"], bench.DefaultBrokerRetentionBytes)
	}
	if r := res.Ratio("p50 vs pass-through"); r == nil || r.Value <= 0 || !r.Gated {
		t.Errorf("p50 ratio %+v", r)
	}
	if r := res.Ratio("alerts delivered"); r == nil || r.Value != 1 {
		t.Errorf("alerts delivered %+v, want 1", r)
	}
	// The distribution rises from the median to the maximum; the series cover the run.
	q := res.Latency[0].Quantiles
	if len(q) < 10 || q[0].Q != 0.5 || q[0].Ms != float64(rep.P50)/1e6 || q[len(q)-1].Ms != float64(rep.Max)/1e6 {
		t.Errorf("quantiles %+v", q)
	}
	sent := 0.0
	for _, v := range rep.SentPerS {
		sent += v * 0.1
	}
	if want := float64(rep.Sent) * 1.5; sent < want*0.99 || sent > want*1.01 {
		t.Errorf("the sent series adds up to %.0f events, want %.0f (warmup included)", sent, want)
	}
}

// With probes, only every Nth event is timed; all of them still flow through. A
// negative webhook period and warmup ask for none, even with the defaults applied
// before the run as the CLI applies them.
func TestLatencyProbesAreAccounted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// 400ms of sending under -short (800 events, 200 probes): the accounting checked
	// below is per event, not per second; make test sends for a second.
	sending := time.Second
	if testing.Short() {
		sending = 400 * time.Millisecond
	}
	cfg := bench.LatencyConfig{
		BrokerCommand: childCommand(t), Rate: 2000, Duration: sending, Warmup: -1,
		Rules: 20, ProbeEvery: 4, WebhookEvery: -1, NoBaseline: true, NoBreakdown: true, Logger: testlog.New(t),
	}
	cfg.EnsureDefaults()
	rep, err := bench.RunLatency(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if rep.Probes < rep.Sent/4 || rep.Probes > rep.Sent/4+1 || rep.Received != rep.Probes || rep.Missing != 0 {
		t.Errorf("sent %d, probes %d, received %d, missing %d: want a quarter timed, all received", rep.Sent, rep.Probes, rep.Received, rep.Missing)
	}
	if rep.Webhook != nil || rep.Rules != 21 || rep.Config.Warmup != 0 || rep.Config.WebhookEvery != 0 {
		t.Errorf("webhook figures %+v, %d rules, warmup %v, webhook period %d: want none, 21 (no webhook rule), 0, 0",
			rep.Webhook, rep.Rules, rep.Config.Warmup, rep.Config.WebhookEvery)
	}
	sent := 0.0
	for _, v := range rep.SentPerS {
		sent += v * 0.1
	}
	if want := float64(rep.Sent); sent < want*0.99 || sent > want*1.01 {
		t.Errorf("the sent series adds up to %.0f events, want %.0f (no warmup)", sent, want)
	}
	if rep.Baseline != nil || rep.Result().Ratio("p50 vs pass-through") != nil {
		t.Error("NoBaseline ran a baseline")
	}
	if rep.ArchiveOff != nil {
		t.Error("NoBreakdown ran the archive-off pass")
	}
}

// Repeat makes the Hindsight pass that many times, each accounting for every probe;
// the report's figures are the slowest run's, and it lists every run's p99. Too many
// runs, or runs against brokers that are not the benchmark's own, are refused.
func TestLatencyRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("two latency runs of a second each, and their drains: make test runs it")
	}
	t.Parallel()
	for _, bad := range []bench.LatencyConfig{
		{BrokerCommand: []string{"x"}, Repeat: 21},
		{Kafka: ingest.KafkaConfig{Brokers: []string{"127.0.0.1:1"}}, Repeat: 2},
	} {
		bad.EnsureDefaults()
		if err := bad.Validate(); err == nil {
			t.Errorf("repeat %d with brokers %v: no error", bad.Repeat, bad.Kafka.Brokers)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := bench.RunLatency(ctx, bench.LatencyConfig{
		BrokerCommand: childCommand(t), Rate: 1000, Duration: time.Second, Warmup: -1, Repeat: 2,
		Rules: 10, NoBaseline: true, NoBreakdown: true, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs listed, want 2", len(rep.Runs))
	}
	slowest := max(rep.Runs[0].P99, rep.Runs[1].P99)
	within := 0
	for i, r := range rep.Runs {
		if r.Missing != 0 || !(0 < r.P50 && r.P50 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("run %d: %+v; want none missing and ordered percentiles", i+1, r)
		}
		if r.P99 <= 20*time.Millisecond {
			within++
		}
	}
	if rep.P99 != slowest || rep.Missing != 0 || rep.Received != rep.Probes {
		t.Errorf("report p99 %v (runs %v, %v), received %d of %d probes: want the slowest run's, all received", rep.P99, rep.Runs[0].P99, rep.Runs[1].P99, rep.Received, rep.Probes)
	}
	res := rep.Result()
	if res.Params["repeat"] != "2" {
		t.Errorf("params %v, want repeat 2", res.Params)
	}
	for i, r := range rep.Runs {
		if m := res.Metric(fmt.Sprintf("p99, run %d of 2", i+1)); m == nil || m.Value != float64(r.P99)/1e6 {
			t.Errorf("run %d's p99 metric %+v, want %v ms", i+1, m, float64(r.P99)/1e6)
		}
	}
	if m := res.Metric("runs with p99 within 20 ms"); m == nil || m.Value != float64(within) {
		t.Errorf("runs within the target %+v, want %d", m, within)
	}
	if !strings.Contains(rep.String(), "p99 of each of 2 runs: ") {
		t.Errorf("the report lacks the runs' line:\n%s", rep)
	}
}

// BenchmarkIngestToAlert runs the latency benchmark at 20,000 events/s for 5 s per
// iteration and reports its percentiles (run with -benchtime=1x).
func BenchmarkIngestToAlert(b *testing.B) {
	cmd := childCommand(b)
	for b.Loop() {
		rep, err := bench.RunLatency(context.Background(), bench.LatencyConfig{BrokerCommand: cmd, Duration: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.P50)/1e6, "p50-ms")
		b.ReportMetric(float64(rep.P99)/1e6, "p99-ms")
		b.ReportMetric(float64(rep.P999)/1e6, "p999-ms")
		b.ReportMetric(rep.Achieved, "events/s")
		b.ReportMetric(float64(rep.Missing), "missing")
		b.ReportMetric(100*rep.CPUSelf.Seconds()/rep.Wall.Seconds(), "cpu-self-%")
		b.ReportMetric(100*rep.CPUBroker.Seconds()/rep.Wall.Seconds(), "cpu-broker-%")
	}
}
