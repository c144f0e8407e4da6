package main

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/ingest"
)

// --max-decompressed-batch-bytes takes its bounds themselves: ingest.MaxRecordBytes
// (a batch of one largest record must be readable) and math.MaxInt32 (the Kafka
// client's most). The tests beside it try values far outside and one inside, so a
// check moved by one at either edge (refusing the floor, or the ceiling) passed them
// while refusing a value the help names as allowed.
func TestDecompressedBatchBoundEdgesAreTaken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		okay bool
	}{
		{int64(ingest.MaxRecordBytes) - 1, false},
		{int64(ingest.MaxRecordBytes), true},
		{math.MaxInt32, true},
		{math.MaxInt32 + 1, false},
	} {
		v := strconv.FormatInt(tc.n, 10)
		_, err := run(t, "", "archive", "--max-decompressed-batch-bytes", v, "--brokers", "127.0.0.1:1", "--metrics-addr", "", "--lake", "file://"+t.TempDir())
		if tc.okay {
			// Taken: the run goes on to ask the (absent) broker.
			if err == nil || !strings.Contains(err.Error(), "no broker answered") {
				t.Errorf("archive --max-decompressed-batch-bytes %s: exit %d (%v), want it taken (and the run to reach the broker check)", v, exitCode(err), err)
			}
			continue
		}
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--max-decompressed-batch-bytes") {
			t.Errorf("archive --max-decompressed-batch-bytes %s: exit %d (%v), want 2 naming the flag", v, exitCode(err), err)
		}
	}
}
