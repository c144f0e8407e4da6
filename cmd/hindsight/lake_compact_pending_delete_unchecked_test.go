package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestLakeCompactDeletesWhatADamagedManifestMarksPending: a manifest's pending_deletes
// are deleted by `lake compact` without a check that they are objects the lake may
// delete: a damaged (or hand-edited) manifest that marks a file it still lists, or an
// object outside data/ (a state snapshot kept in the lake's bucket), has that object
// deleted, and the pass exits 0. Manifest.validate checks
// the files' names, ranges and watermarks, never pending_deletes; a listed file
// deleted so is history lost.
func TestLakeCompactDeletesWhatADamagedManifestMarksPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		victim func(m *lakehouse.Manifest) string
	}{
		{"a file the manifest lists", func(m *lakehouse.Manifest) string { return m.Files[1].Path }},
		{"a state snapshot", func(*lakehouse.Manifest) string { return "state/p=0000/snapshot.bin" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bkt, dir := lakehousetest.FileBucket(t)
			lakehousetest.SmallFilesLake(t, bkt, 1, 3, 5, nil)
			rc, err := bkt.Get(ctx, "manifest/v000000000001.json")
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			var m lakehouse.Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			victim := tc.victim(&m)
			if ok, _ := bkt.Exists(ctx, victim); !ok {
				if err := bkt.Put(ctx, victim, bytes.NewReader([]byte("state"))); err != nil {
					t.Fatal(err)
				}
			}
			m.Version = 2
			m.PendingDeletes = []lakehouse.PendingDelete{{Path: victim, RemovedAt: time.Now().Add(-24 * time.Hour)}}
			js, _ := json.Marshal(m)
			if err := bkt.Put(ctx, "manifest/v000000000002.json", bytes.NewReader(js)); err != nil {
				t.Fatal(err)
			}
			// --compact-small-bytes 1: nothing to merge, the pass only deletes.
			out, err := run(t, "", "lake", "compact", "--compact-small-bytes", "1", "--lake", "file://"+dir)
			if ok, _ := bkt.Exists(ctx, victim); !ok {
				var names []string
				bkt.List(ctx, "", func(a lakehouse.ObjectAttributes) error { names = append(names, a.Name); return nil })
				t.Errorf("lake compact deleted %s, named in the manifest's pending_deletes (exit error %v):\n%s\nleft: %v", victim, err, out, slices.Sorted(slices.Values(names)))
			}
			// Refused, and said: the pass fails naming the object and the manifest.
			if err == nil || !strings.Contains(err.Error(), victim) || !strings.Contains(err.Error(), "manifest/v000000000002.json") {
				t.Errorf("lake compact refusing to delete %s: exit error %v, want one naming it and manifest/v000000000002.json\n%s", victim, err, out)
			}
			if !strings.Contains(out, "refused to delete 1 object") {
				t.Errorf("lake compact's report does not say it refused a delete:\n%s", out)
			}
		})
	}
}
