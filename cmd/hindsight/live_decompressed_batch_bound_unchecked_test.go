package main

import (
	"strings"
	"testing"
)

// --max-decompressed-batch-bytes has a floor (a record's most, 999951) and the Kafka
// client a ceiling (2147483647). archive refuses a value below the floor with exit
// status 2 naming the flag; live checks neither before it starts: the daemon starts
// its embedded broker, then stops with exit status 1 ("live daemon stopped"), and
// archive takes a value past the ceiling.
func TestDecompressedBatchBoundOutOfRangeRefusedAtStart(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"live below the floor", "100"},
		{"live past the client's ceiling", "2147483648"},
		{"archive past the client's ceiling", "2147483648"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if strings.HasPrefix(tc.name, "live") {
				args = []string{"live", "--ephemeral", "--http", "127.0.0.1:0", "--embedded-addr", "127.0.0.1:0", "--no-backfill"}
			} else {
				args = []string{"archive", "--brokers", "127.0.0.1:1", "--metrics-addr", "", "--lake", "file://" + t.TempDir()}
			}
			args = append(args, "--max-decompressed-batch-bytes", tc.value)
			_, err := run(t, "", args...)
			if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "--max-decompressed-batch-bytes") {
				t.Errorf("hindsight %s: exit status %d, %v; want 2 naming --max-decompressed-batch-bytes and its range", strings.Join(args, " "), exitCode(err), err)
			}
		})
	}
}
