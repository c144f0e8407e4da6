package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Kafka client bounds --alert-linger (at most 1m) and --session-timeout (at most
// 596h31m23.647s, an int32 of milliseconds). live checks --session-timeout's floor
// before it starts (TestLiveRefusesInvalidEmbeddedArchiverFlags) but neither ceiling:
// a value past one is taken, the daemon makes its data directory, starts its embedded
// broker and listener, then stops with exit status 1 ("creating Kafka client: linger
// … is larger than allowed 1m0s").
func TestLiveRefusesDurationsPastTheKafkaClientsCeiling(t *testing.T) {
	t.Parallel()
	for _, flag := range [][]string{
		{"--alert-linger", "2m"},
		{"--session-timeout", "600h"},
	} {
		dataDir := filepath.Join(t.TempDir(), "data")
		args := append([]string{"live", "--data-dir", dataDir, "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0", "--no-backfill"}, flag...)
		code, last := runToEnd(t, args...)
		if code != 2 || !strings.Contains(last, flag[0]) {
			t.Errorf("hindsight %s: exit status %d (%s), want 2 naming %s and its most", strings.Join(flag, " "), code, last, flag[0])
		}
		if _, err := os.Stat(dataDir); err == nil {
			t.Errorf("hindsight %s: the daemon started before refusing the flag: it made %s", strings.Join(flag, " "), dataDir)
		}
	}
}
