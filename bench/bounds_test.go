package bench_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/bench"
	"github.com/hindsightdev/hindsight/rule"
)

// The count flags of `hindsight bench` had no upper bound: internal/workload's New made
// a slice of --customers ids and Rules one of --rules rules, and eval one of --events
// events, so 2^50 of any panicked ("makeslice: len out of range"), and --partitions
// 1000000 made a broker of a million partitions. Above its maximum each is refused by
// the config's Validate, naming the flag, before anything starts.
func TestConfigsRefuseCountsAboveTheirMaximum(t *testing.T) {
	t.Parallel()
	const huge = 1 << 50
	for _, tt := range []struct {
		name string
		cfg  interface {
			EnsureDefaults()
			Validate() error
		}
		want string
	}{
		{"eval customers", &bench.EvalConfig{Workload: bench.Workload{Customers: 1_000_001}}, "bench: customers 1000001 is above the maximum 1000000 (--customers)"},
		{"eval huge customers", &bench.EvalConfig{Workload: bench.Workload{Customers: huge}}, "above the maximum 1000000 (--customers)"},
		{"eval events", &bench.EvalConfig{Events: 10_000_001}, "bench: events 10000001 is above the maximum 10000000 (--events)"},
		{"eval rules", &bench.EvalConfig{Rules: huge}, "is above the maximum 100000 (--rules)"},
		{"archive partitions", &bench.ArchiveConfig{Partitions: 4097}, "bench: events partitions 4097 is above the maximum 4096 (--partitions)"},
		{"archive events", &bench.ArchiveConfig{Events: huge}, "is above the maximum 10000000 (--events)"},
		{"archive customers", &bench.ArchiveConfig{Workload: bench.Workload{Customers: huge}}, "(--customers)"},
		{"backfill partitions", &bench.BackfillConfig{Partitions: 1_000_000}, "events partitions 1000000 is above the maximum 4096 (--partitions)"},
		{"backfill rules", &bench.BackfillConfig{Rules: 100_001}, "bench: rules 100001 is above the maximum 100000 (--rules)"},
		{"backfill events", &bench.BackfillConfig{Events: huge}, "(--events)"},
		{"throughput partitions", &bench.ThroughputConfig{Partitions: 4097}, "(--partitions)"},
		{"throughput events", &bench.ThroughputConfig{Events: huge}, "(--events)"},
		{"throughput many rules", &bench.ThroughputConfig{ManyRules: 100_001}, "bench: rules 100001 is above the maximum 100000 (--many-rules)"},
		{"throughput customers", &bench.ThroughputConfig{Workload: bench.Workload{Customers: huge}}, "(--customers)"},
		{"latency partitions", &bench.LatencyConfig{BrokerCommand: []string{"x"}, Partitions: 4097}, "(--partitions)"},
		{"latency rules", &bench.LatencyConfig{BrokerCommand: []string{"x"}, Rules: 99_999}, "bench: rules 99999 is above the maximum 99998 (--rules)"},
		{"latency rate", &bench.LatencyConfig{BrokerCommand: []string{"x"}, Rate: 1_000_001}, "bench: rate 1000001 events/s is above the maximum 1000000 (--rate)"},
		{"latency customers", &bench.LatencyConfig{BrokerCommand: []string{"x"}, Workload: bench.Workload{Customers: huge}}, "(--customers)"},
		{"latency producer linger", &bench.LatencyConfig{BrokerCommand: []string{"x"}, ProducerLinger: 2 * time.Minute}, "bench: --producer-linger 2m0s: from 0 to 1m0s, the Kafka client's most"},
		{"latency alert linger", &bench.LatencyConfig{BrokerCommand: []string{"x"}, AlertLinger: -time.Second}, "bench: --alert-linger -1s: from 0 to 1m0s"},
		{"eval event size", &bench.EvalConfig{Workload: bench.Workload{EventSize: 100_000_000_000}}, "bench: event size 100000000000 is above the maximum 1048576 (--event-size)"},
		{"latency event size", &bench.LatencyConfig{BrokerCommand: []string{"x"}, Workload: bench.Workload{EventSize: 1<<20 + 1}}, "(--event-size)"},
		{"throughput events of a megabyte", &bench.ThroughputConfig{Events: 10_000, Workload: bench.Workload{EventSize: 1 << 20}}, "bench: 10000 events of up to 1048576 bytes are more than 8589934592 bytes (lower --events or --event-size)"},
		{"all", &bench.AllConfig{Only: []string{"archive"}, Archive: bench.ArchiveConfig{Partitions: 4097}}, "(--partitions)"},
	} {
		tt.cfg.EnsureDefaults()
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	// The maxima are served.
	for name, cfg := range map[string]interface {
		EnsureDefaults()
		Validate() error
	}{
		"eval":                       &bench.EvalConfig{Workload: bench.Workload{Customers: 1_000_000}, Events: 10_000_000, Rules: 100_000},
		"archive":                    &bench.ArchiveConfig{Partitions: 4096, Events: 10_000_000},
		"eval, events of a megabyte": &bench.EvalConfig{Workload: bench.Workload{EventSize: 1 << 20}, Events: 8192},
		"backfill":                   &bench.BackfillConfig{Partitions: 4096, Rules: 100_000},
		"throughput":                 &bench.ThroughputConfig{Partitions: 4096, ManyRules: 100_000},
		"latency":                    &bench.LatencyConfig{BrokerCommand: []string{"x"}, Partitions: 4096, Rules: 99_998, Rate: 1_000_000, ProducerLinger: time.Minute, AlertLinger: time.Minute},
	} {
		cfg.EnsureDefaults()
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s at the maxima: %v", name, err)
		}
	}
	// The daemons of the latency and throughput runs hold their rules to max_rules.
	if bench.MaxRules != rule.DefaultLimits.MaxRules || bench.MaxLatencyRules != bench.MaxRules-2 {
		t.Errorf("bench.MaxRules %d, MaxLatencyRules %d: want the daemon's default max_rules %d, and 2 less", bench.MaxRules, bench.MaxLatencyRules, rule.DefaultLimits.MaxRules)
	}
}
