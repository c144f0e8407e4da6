package ingest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestBrokerLogLevels: kfake's log goes to the daemon's at the daemon's level, its
// losses of data as errors, counted, and its chatter (a line per group join, per
// reconciliation) out of the default level's sight. kfake's formats are taken from its
// source: they are what it logs.
func TestBrokerLogLevels(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	b := &brokerLog{log: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	b.Logf(kfake.LogLevelDebug, "RECONCILE SEND: member=%s epoch=%d partitions=%d", "m", 1, 4)
	b.Logf(kfake.LogLevelInfo, "consumerJoin: group=%s member=%s epoch=%d sent=%d epochMap=%d members=%d", "g", "m", 1, 1, 1, 1)
	if out.Len() != 0 {
		t.Fatalf("kfake's debug and info lines shown at the daemon's info level:\n%s", out.String())
	}
	b.Logf(kfake.LogLevelWarn, "consumerHeartbeatLate: group=%s member=%s gap=%dms interval=%dms", "g", "m", 9000, 3000)
	b.Logf(kfake.LogLevelWarn, "partition %s-%d segment %d: truncating %d corrupt bytes", "events", 0, 0, 181)
	b.Logf(kfake.LogLevelWarn, "persist batch %s-%d: %v", "events", 1, "write: no space left on device")
	b.Logf(kfake.LogLevelWarn, "consumerSessionTimeout: group=%s member=%s epoch=%d remaining=%d", "g", "m", 3, 0)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`level=INFO msg="embedded broker" said="consumerHeartbeatLate: group=g member=m gap=9000ms interval=3000ms"`,
		`level=ERROR msg="the embedded broker found corrupt data in its data directory and dropped it: the records from there on are lost" said="partition events-0 segment 0: truncating 181 corrupt bytes" kind=corrupt`,
		`level=ERROR msg="the embedded broker could not write to its data directory: what it did not write is lost, or refused to its producer" said="persist batch events-1: write: no space left on device" kind=write_failed`,
		`level=WARN msg="embedded broker" said="consumerSessionTimeout: group=g member=m epoch=3 remaining=0"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d: %s\nwant it to hold %s", i, lines[i], w)
		}
	}
	if b.corrupt.Load() != 1 || b.writeFailed.Load() != 1 {
		t.Errorf("counted %d corrupt, %d failed writes; want 1 and 1", b.corrupt.Load(), b.writeFailed.Load())
	}
}
