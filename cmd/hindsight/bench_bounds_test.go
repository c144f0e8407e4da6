package main

import (
	"strings"
	"testing"
	"time"
)

// hindsight bench's count flags had no upper bound: --customers, --events and --rules
// of 2^50 panicked in internal/workload ("makeslice: len out of range"), exit status 2
// as if it were a usage error, and --partitions 1000000 started a broker of a million
// partitions. Above its maximum each is refused before anything starts, exit status 2
// naming the flag, and the help gives the maximum (as demo's and live's bounds).
func TestBenchRefusesCountsAboveTheMaximum(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "eval", "--customers", "1125899906842624", "--duration", "100ms"}, "bench: customers 1125899906842624 is above the maximum 1000000 (--customers)"},
		{[]string{"bench", "eval", "--events", "1125899906842624", "--duration", "100ms"}, "bench: events 1125899906842624 is above the maximum 10000000 (--events)"},
		{[]string{"bench", "eval", "--rules", "1125899906842624", "--duration", "100ms"}, "bench: rules 1125899906842624 is above the maximum 100000 (--rules)"},
		{[]string{"bench", "archive", "--partitions", "1000000", "--events", "1000", "--repeat", "1"}, "bench: events partitions 1000000 is above the maximum 4096 (--partitions)"},
		{[]string{"bench", "all", "--only", "eval", "--customers", "1000001", "--duration", "100ms"}, "bench: customers 1000001 is above the maximum 1000000 (--customers)"},
	} {
		code, out, timedOut := runBounded(t, 15*time.Second, tt.args...)
		if code != 2 || timedOut || !strings.Contains(out, tt.want) || strings.Contains(out, "panic") {
			t.Errorf("hindsight %s: exit status %d (killed after 15s: %v), want 2 and %q; output:\n%.1500s", strings.Join(tt.args, " "), code, timedOut, tt.want, out)
		}
	}
	for _, tt := range []struct{ cmd, want string }{
		{"eval", "(at most 1000000, whose ids the generator holds)"},
		{"eval", "distinct events evaluated round and round (at most 10000000)"},
		{"eval", "active rules (at least 10; at most 100000,"},
		{"archive", "events partitions (at most 4096)"},
		{"throughput", "at least 10, at most 100000)"},
		{"latency", "events per second (at most 1000000)"},
		{"all", "latency: events per second (at most 1000000)"},
	} {
		help, err := run(t, "", "bench", tt.cmd, "--help")
		if err != nil || !strings.Contains(help, tt.want) {
			t.Errorf("bench %s --help (%v) does not say %q:\n%s", tt.cmd, err, tt.want, help)
		}
	}
}
