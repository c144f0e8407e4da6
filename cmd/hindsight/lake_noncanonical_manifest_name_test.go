package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestNonCanonicalManifestNameStallsTheLake: an object among the manifests named with
// more leading zeros than the lake writes ("manifest/v0000000000002.json", 13 digits)
// matches the version pattern (12 to 19 digits) and is listed as version 2, but is
// read under the canonical key "manifest/v000000000002.json", which does not exist:
// taken for a manifest pruned between list and read, every listing retries, and after
// six the read fails ("vanished"). One such junk object makes `lake ls`, `lake stats`,
// `lake compact` (and every archiver and backfill) fail for good, where other junk
// among the manifests is skipped as foreign or corrupt; the error names neither the
// object nor the cause.
func TestNonCanonicalManifestNameStallsTheLake(t *testing.T) {
	t.Parallel()
	bkt, dir := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, bkt, 1, 3, 5, nil)
	if err := bkt.Put(context.Background(), "manifest/v0000000000002.json", bytes.NewReader([]byte("junk"))); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"ls", "stats", "compact"} {
		t.Run(cmd, func(t *testing.T) {
			out, err := run(t, "", "lake", cmd, "--lake", "file://"+dir)
			// Skipped as foreign, or at least refused naming it; not "vanished".
			if err != nil && !strings.Contains(err.Error(), "v0000000000002.json") {
				t.Errorf("lake %s over a lake with one junk object manifest/v0000000000002.json: %v\n%s", cmd, err, out)
			}
		})
	}
}
