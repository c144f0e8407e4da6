package lakehouse_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestRemoveStaleTempsUnderAFolder: the daemon's state store removes killed writes'
// temporaries under one partition's folder; those of another folder, and one being
// written (its mtime recent), stay.
func TestRemoveStaleTempsUnderAFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := lakehousetest.OpenBucket(t, "file://"+dir)
	day := time.Now().Add(-24 * time.Hour)
	write := func(name string, at time.Time) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("state/p=0000/1-1.snap.17a.tmp", day)
	write("state/p=0000/2-2.snap.17b.tmp", time.Now()) // in flight
	write("state/p=0001/1-1.snap.17c.tmp", day)
	n, err := lakehouse.RemoveStaleTemps(b, "state/p=0000/", time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want 1", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "state", "*", "*.tmp"))
	for i := range left {
		left[i], _ = filepath.Rel(dir, left[i])
		left[i] = filepath.ToSlash(left[i])
	}
	if want := []string{"state/p=0000/2-2.snap.17b.tmp", "state/p=0001/1-1.snap.17c.tmp"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	if _, err := lakehouse.RemoveStaleTemps(b, "state/p=0000", time.Hour); err == nil {
		t.Error("a prefix that is no folder was taken")
	}
}
