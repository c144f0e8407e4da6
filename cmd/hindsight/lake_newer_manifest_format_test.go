package main

import (
	"context"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// A manifest of a format above lakehouse.ManifestFormat is a newer hindsight's commit
// (an archiver upgraded before the cron job's `lake compact`), not junk. This version
// reads it as a corrupt object ("format 2, want 1"), skips it, and, since it lists no
// file the older manifest does not, commits on top of the older one: a compaction of
// the files v1 lists lands as format-1 manifests v3 and v4, which the newer writer
// then reads as the newest, whatever v2 recorded lost; the pass exits 0, "compacted 6
// files into 2". It should refuse (exit non-zero) and leave the newer manifest the
// newest.
func TestLakeCompactDoesNotCommitOverANewerManifestFormat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, dir := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, bkt, 2, 3, 5, nil)
	lakehousetest.PutNewerFormatManifest(t, bkt)

	out, err := run(t, "", "lake", "compact", "--lake", "file://"+dir)
	var manifests []string
	if err := bkt.List(ctx, "manifest/", func(a lakehouse.ObjectAttributes) error {
		manifests = append(manifests, a.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(manifests) != 2 {
		t.Errorf("lake compact over a newer-format manifest v2 committed on the older v1: manifests %v, want v1 and v2 alone\n%s", manifests, out)
	}
	if err == nil {
		t.Errorf("lake compact over a newer-format manifest exited 0:\n%s", out)
	}
}
