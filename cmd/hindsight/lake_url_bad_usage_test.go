package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// A --lake that names no store the lake commands know — a plain path given where a
// URL is asked for (the likeliest slip: `--lake /var/lib/hindsight/lake`), a scheme
// other than file://, s3:// and mem://, a file:// URL without a directory — is a bad
// command line, as a --lake naming a directory that does not exist is (exit status
// 2, "no lake at …"). Those exit 1, the status of a lake that failed (storage down,
// unreadable manifests), because only a file:// URL is checked before the bucket is
// opened and OpenBucket's refusal is returned as it is.
func TestLakeURLThatNamesNoStoreIsBadUsage(t *testing.T) {
	t.Parallel()
	bkt, dir := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, bkt, 1, 2, 3, nil)
	// The lake is there: with file:// the commands read it.
	if out, err := run(t, "", "lake", "stats", "--lake", "file://"+dir); err != nil || !strings.Contains(out, "manifest v1") {
		t.Fatalf("lake stats of the lake itself: %v\n%s", err, out)
	}
	missing := "file://" + filepath.Join(t.TempDir(), "missing")
	for _, lake := range []string{dir, "gs://bucket/lake", "file://", missing} {
		for _, sub := range []string{"ls", "stats", "compact"} {
			out, err := run(t, "", "lake", sub, "--lake", lake)
			if err == nil {
				t.Errorf("hindsight lake %s --lake %s succeeded:\n%s", sub, lake, out)
				continue
			}
			if code := exitCode(err); code != 2 {
				t.Errorf("hindsight lake %s --lake %s: exit status %d (%v), want 2 for bad usage, as for a lake that does not exist", sub, lake, code, err)
			}
		}
	}
}
