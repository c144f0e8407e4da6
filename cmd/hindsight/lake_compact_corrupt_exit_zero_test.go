package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestLakeCompactCorruptFileExitsZero: a listed data file that is damaged (truncated,
// replaced by junk of its size, deleted) makes `hindsight lake compact` count "1 corrupt
// file" (the file named only in a log line) and exit 0, so a cron job or script
// running it sees success while a listed file, whose events backfill and backtest
// need, is damaged. The pass should exit non-zero when it found a corrupt file.
func TestLakeCompactCorruptFileExitsZero(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, bkt lakehouse.Bucket, path string)
	}{
		{"truncated", func(t *testing.T, bkt lakehouse.Bucket, path string) {
			putLakeObject(t, bkt, path, []byte("PAR1short"))
		}},
		{"junk of the same size", func(t *testing.T, bkt lakehouse.Bucket, path string) {
			rc, err := bkt.Get(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(rc)
			rc.Close()
			putLakeObject(t, bkt, path, bytes.Repeat([]byte{'x'}, buf.Len()))
		}},
		{"missing", func(t *testing.T, bkt lakehouse.Bucket, path string) {
			if err := bkt.Delete(context.Background(), path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bkt, dir := lakehousetest.FileBucket(t)
			names := slices.Sorted(func(yield func(string) bool) {
				for n := range lakehousetest.SmallFilesLake(t, bkt, 1, 3, 5, nil) {
					if !yield(n) {
						return
					}
				}
			})
			victim := names[1]
			tc.damage(t, bkt, victim)
			out, err := run(t, "", "lake", "compact", "--lake", "file://"+dir)
			t.Logf("output: %q, err: %v", out, err)
			if !strings.Contains(out, "1 corrupt file") {
				t.Fatalf("lake compact did not count the damaged file:\n%s", out)
			}
			if err == nil {
				t.Errorf("lake compact found a corrupt listed file and exited 0:\n%s", out)
			}
		})
	}
}

func putLakeObject(t *testing.T, bkt lakehouse.Bucket, path string, data []byte) {
	t.Helper()
	if err := bkt.Put(context.Background(), path, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}
