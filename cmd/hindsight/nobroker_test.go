package main

import (
	"net"
	"strings"
	"testing"
)

// TestNoBrokerFailsAtOnce: the commands that talk to Kafka say there is no
// broker, and what to do, instead of waiting out their 30s bound.
func TestNoBrokerFailsAtOnce(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, args := range [][]string{
		{"rules", "list"},
		{"rules", "apply", "-f", "../../testdata/rules/sample.yaml", "--skip-tests"},
		{"rules", "delete", "x"},
		{"destinations", "list"},
		{"mutes", "add", "m", "--for", "1h"},
		{"produce", "--customer", "c"},
		{"backfill", "-f", "../../testdata/rules/sample.yaml"},
		{"bench", "latency"},
		// The daemons too (README: "fails within 3 seconds"): they retried in the log
		// for ever.
		{"notify", "--http", ""},
		{"archive", "--metrics-addr", "", "--lake", "file://" + t.TempDir()},
	} {
		_, err := run(t, "", append(args, "--brokers", addr)...)
		if err == nil || !strings.Contains(err.Error(), "no broker answered at "+addr) || !strings.Contains(err.Error(), "start `hindsight live`") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
