package main

import (
	"path/filepath"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// bench all takes --partitions ("events partitions of the started broker") beside the
// workload flags it gives every benchmark, but binds it to the latency benchmark's
// config alone: archive, backfill and throughput, which start
// brokers of their own with an events topic of their default partitions, run and
// report their own 4 or 6, the flag accepted with no effect and no word.
func TestBenchAllPartitionsReachEveryBenchmark(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "all.json")
	stdout, err := run(t, "", "bench", "all", "--only", "archive", "--quiet", "--events", "2000", "--partitions", "8", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	rep, err := bench.ReadReport(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Result("archive").Params["partitions"]; got != "8" {
		t.Errorf("bench all --only archive --partitions 8: the archive ran with partitions=%s", got)
	}
}
