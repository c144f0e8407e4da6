package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/ingest"
)

// TestStartDaemonGivesUp points the latency benchmark's daemon at a loopback port
// where no broker listens: startDaemon must return an error that names the brokers
// rather than wait for them as the daemon itself does.
func TestStartDaemonGivesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a start's patience (2 s): make test runs it")
	}
	// Not parallel: it shortens the package's daemonStartLimit.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connections are refused from now on
	defer func(d time.Duration) { daemonStartLimit = d }(daemonStartLimit)
	daemonStartLimit = 2 * time.Second

	cfg := LatencyConfig{Kafka: ingest.KafkaConfig{Brokers: []string{addr}}, NoArchive: true}
	cfg.EnsureDefaults()
	d, stop, err := startDaemon(context.Background(), cfg, "bench-start-test", "file://"+t.TempDir())
	if err == nil {
		stop()
		t.Fatalf("startDaemon against %s with no broker: daemon %v, no error", addr, d)
	}
	if !strings.Contains(err.Error(), "had not read the controls topic") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q: want it to say the controls topic was not read and name %s", err, addr)
	}
}
