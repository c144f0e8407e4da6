package main

import (
	"bufio"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bench eval runs through the command line: the table on stdout, the JSON report and
// the plot next to it; compare reads two reports back; a gate against a reference
// whose ratio is out of reach fails with the regression named.
func TestBenchCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "eval.json")
	traceFile, profile := filepath.Join(dir, "eval.trace"), filepath.Join(dir, "eval.pprof")
	// Small sizes, as bench's own tests use: the command's wiring is under test here,
	// not its figures. 50ms per evaluator, not 200ms: eval runs about ten of them, and
	// the throughput ratio against the baseline stays far above the 1 checked below
	// (26× at 50ms on the 2-core machine, 31× at 200ms).
	stdout, err := run(t, "", "bench", "eval", "--rules", "100", "--events", "256", "--duration", "50ms", "--high-card-groups", "20000", "--out", out,
		"--trace", traceFile, "--cpuprofile", profile)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	// What the tools that read them look for first: an execution trace's header and
	// a profile's gzip magic.
	if b, err := os.ReadFile(traceFile); err != nil || !strings.HasPrefix(string(b), "go 1.") || !strings.Contains(string(b[:16]), " trace") {
		t.Errorf("--trace wrote no execution trace (%v): %.16q", err, b)
	}
	if b, err := os.ReadFile(profile); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("--cpuprofile wrote no profile (%v): %.4q", err, b)
	}
	// The header reports the CPU time stolen from this machine over the run (Linux's
	// /proc/stat, which the tests run on).
	for _, want := range []string{"eval: live evaluator", "ratio: throughput vs baseline", "report " + out, ", CPU stolen by the hypervisor "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	rep, err := bench.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	ratio := rep.Results[0].Ratio("throughput vs baseline")
	if ratio == nil || ratio.Value <= 1 || rep.Results[0].Params["rules"] != "100" {
		t.Fatalf("report %+v", rep.Results[0])
	}
	if svg, err := os.ReadFile(bench.PlotPath(out)); err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("plot: %v", err)
	}

	stdout, err = run(t, "", "bench", "compare", out, out)
	if err != nil || !strings.Contains(stdout, "ratio: throughput vs baseline") {
		t.Fatalf("compare: %v\n%s", err, stdout)
	}

	ratio.Value *= 100 // a reference far beyond this run's reach
	ref := filepath.Join(dir, "ref.json")
	if err := rep.WriteFile(ref); err != nil {
		t.Fatal(err)
	}
	// The reference's params, so that the gate judges the ratio (other params fail it
	// before any ratio is looked at).
	stdout, err = run(t, "", "bench", "eval", "--rules", "100", "--events", "256", "--duration", "50ms", "--high-card-groups", "20000", "--gate", ref)
	if err == nil || !strings.Contains(stdout, "eval: ratio throughput vs baseline") {
		t.Fatalf("gate against an unreachable reference: %v\n%s", err, stdout)
	}
	if _, err := run(t, "", "bench", "all", "--only", "nope"); exitCode(err) != 2 {
		t.Errorf("an unknown benchmark: exit %d (%v), want 2", exitCode(err), err)
	}
}

// The benchmarks' broker child (`bench broker`, hidden) keeps --retention-bytes per
// partition of the events and alerts topics, and everything of the others.
func TestBenchBrokerRetention(t *testing.T) {
	t.Parallel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"bench", "broker", "--addr", "127.0.0.1:0", "--retention-bytes", "65536"})
	cmd.SetIn(inR)
	cmd.SetOut(outW)
	cmd.SetErr(outW)
	done := make(chan error, 1)
	go func() {
		err := cmd.Execute()
		outW.Close()
		done <- err
	}()
	defer func() {
		inW.Close() // the broker exits when its stdin closes
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	sc := bufio.NewScanner(outR)
	var addr string
	for addr == "" && sc.Scan() {
		addr, _ = strings.CutPrefix(sc.Text(), bench.BrokerReady)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }() // ends when the command's output closes
	if addr == "" {
		t.Fatal("the broker printed no address")
	}
	var topics ingest.Topics
	topics.EnsureDefaults()
	got := retentionByTopic(t, strings.TrimSpace(addr), topics.Events, topics.Alerts, topics.Controls)
	want := map[string]string{topics.Events: "65536", topics.Alerts: "65536", topics.Controls: "-1"}
	if !maps.Equal(got, want) {
		t.Errorf("retention.bytes by topic %v, want %v", got, want)
	}
}

// retentionByTopic is the retention.bytes of each of topics on the broker at addr.
func retentionByTopic(t *testing.T, addr string, topics ...string) map[string]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfgs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rc := range cfgs {
		for _, c := range rc.Configs {
			if c.Key == "retention.bytes" {
				got[rc.Name] = c.MaybeValue()
			}
		}
	}
	return got
}
