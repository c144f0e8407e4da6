package bench_test

import (
	"context"
	"testing"

	"github.com/hindsightdev/hindsight/bench"
)

// ThroughputConfig.ArchiveCompression (bench throughput --archive-compression) is the
// archiving daemons' codec. One hindsight live refuses must be refused by Validate,
// which `hindsight bench` runs before anything starts (exit 2): it is not, so with
// Runs [floor] the run succeeds and reports as if the flag were fine (the CLI exits 0,
// seen with bin/hindsight bench throughput --events 2000 --many-rules 10 --runs floor
// --archive-compression bogus), and with an archiving run it fails only when that
// daemon starts, after the preload and the floor's passes.
func TestThroughputRefusesAnUnknownArchiveCompression(t *testing.T) {
	t.Parallel()
	cfg := bench.ThroughputConfig{Events: 2000, ManyRules: 10, Runs: []string{"floor"}, ArchiveCompression: "bogus"}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err == nil {
		t.Errorf("Validate accepted --archive-compression %q", cfg.ArchiveCompression)
	}
	rep, err := bench.RunThroughput(context.Background(), bench.ThroughputConfig{Events: 2000, ManyRules: 10, Runs: []string{"floor"},
		ArchiveCompression: "bogus", BrokerCommand: childCommand(t)})
	if err == nil {
		t.Errorf("RunThroughput with --archive-compression bogus succeeded: floor %.0f events/s, params %v", rep.Floor.EventsPerS, rep.Result().Params)
	}
}
