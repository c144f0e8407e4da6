package lakehouse_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestJunkManifestAtTheLastVersionStallsArchiving: a junk object among the manifests
// named with the highest version int64 holds ("manifest/v9223372036854775807.json",
// within the 12-19 digit pattern) is skipped as corrupt, and the next commit claims
// version max+1, which overflows: the archiver retries putting
// "manifest/v-9223372036854775808.json" for ever, nothing it archives becomes visible,
// and the error (seen only at shutdown) is a storage timeout, not the junk object
// (junk at a lower version is passed over: TestForeignAndCorruptObjects).
func TestJunkManifestAtTheLastVersionStallsArchiving(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "file")
	if err := bkt.Put(ctx, "manifest/v9223372036854775807.json", bytes.NewReader([]byte("junk"))); err != nil {
		t.Fatal(err)
	}
	cfg := archiverConfig(b, bkt, "top")
	stop := startArchiver(t, cfg)
	defer stopArchivers(t, stop)
	h := newHistory(7)
	h.produce(t, b.Client(t), 200)
	end := h.ends()[0]
	var snap *lakehouse.Snapshot
	if poll.Within(15*time.Second, func() bool {
		s, err := lake.Snapshot(ctx)
		if err != nil {
			return false
		}
		snap = s
		return s.Watermark(0) >= end
	}) {
		return
	}
	var v int64 = -1
	if snap != nil {
		v = snap.Version()
	}
	t.Errorf("the lake never showed offsets 0-%d archived (snapshot version %d); objects under manifest/: %v",
		end, v, slices.Sorted(maps.Keys(objects(t, bkt, "manifest/"))))
}
