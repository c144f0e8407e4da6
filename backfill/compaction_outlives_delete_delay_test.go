package backfill

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// archivingLake is a real bucket under an archiver that keeps committing small files
// (above the job's start) and a maintenance pass that merges them with what the lake
// holds and, the delete delay past, deletes what it replaced: what a job slower than
// --delete-delay meets under hindsight live's embedded archiver
// (--archive-maintain-interval). Once per snapshot a reader takes, at its second data
// file (a pass over several files outlives the delete delay; fetching one file right
// after the snapshot does not), the lake moves on once: one archiver commit, one merge
// of the small files of the hour (the newest history below the job's start with it),
// one delete. Files of at least small bytes are not merged again, as in a lake whose
// older hours were compacted to size.
type archivingLake struct {
	lakehouse.Bucket
	tb    testing.TB
	mu    sync.Mutex
	next  int64 // the next offset the archiver commits
	small int64 // CompactSmallBytes
	moves int
	err   error
	reads int // data files read since the last snapshot
}

func (b *archivingLake) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	b.mu.Lock()
	switch {
	case strings.HasPrefix(name, "manifest/"):
		b.reads = 0 // a reader took a snapshot
	case strings.HasPrefix(name, "data/"):
		if b.reads++; b.reads == 2 && b.err == nil {
			b.err = b.move(ctx)
		}
	}
	b.mu.Unlock()
	return b.Bucket.Get(ctx, name)
}

func (b *archivingLake) move(ctx context.Context) error {
	lake := lakehouse.NewLake(b.Bucket, nil)
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		return err
	}
	// The archiver commits one small file of 3 events past the job's start.
	m := *snap.Manifest()
	rows := lakehousetest.LegacyRows(b.next, "c-new", `{"a":"admin"}`, `{"a":"admin"}`, `{"a":"admin"}`)
	data, e := lakehousetest.LegacyFile(b.tb, 0, rows)
	e.StartOffset = b.next
	e.Path = fmt.Sprintf("data/p=0000/h=2024-01-01T00/%020d-%020d-%08x.parquet", e.StartOffset, e.EndOffset, 0xa0000+b.moves)
	if err := b.Bucket.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
		return err
	}
	m.Files = append(append([]lakehouse.FileEntry(nil), m.Files...), e)
	m.Partitions = append([]lakehouse.PartitionState(nil), m.Partitions...)
	m.Partitions[0].Watermark = e.EndOffset
	m.Version++
	m.Committed = time.Now().UTC()
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := b.Bucket.PutIfAbsent(ctx, fmt.Sprintf("manifest/v%012d.json", m.Version), bytes.NewReader(js)); err != nil {
		return err
	}
	b.next = e.EndOffset + 1
	b.moves++
	// The maintenance pass merges, and a later one (its delay past) deletes.
	for _, now := range []time.Time{time.Now(), time.Now().Add(24 * time.Hour)} {
		if _, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: b.small, OrphanGrace: time.Hour,
			Now: func() time.Time { return now }}); err != nil {
			return err
		}
	}
	return nil
}

// TestBackfillOutlivingDeleteDelayUnderCompaction: a backfill job started over on the
// newer manifest when a file of its snapshot was merged and deleted under it, at most 3
// times. A job slower than --delete-delay over a lake the embedded archiver keeps
// archiving and compacting met that on every attempt, so it never answered: `hindsight
// backfill` failed, and live's hand-off retried it for ever, the rule `backfilling`
// with an error. The history below the job's start never changed: every attempt's
// events were there, merged into another file. The job reads the lost offsets from the
// newer manifest's files instead, and counts neither the merged file's other offsets
// (counted from the big files, or above the start: c-new) nor any twice.
func TestBackfillOutlivingDeleteDelayUnderCompaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := rule.ParseRule([]byte(`{"id":"admins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.a","op":"==","value":"admin"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{4, 20} {
		t.Run(fmt.Sprintf("%d files", n), func(t *testing.T) {
			inner := lakehouse.NewMemBucket()
			var fs [][]lakehouse.Row
			want := map[string]int64{}
			for i := range n {
				c := fmt.Sprintf("c-%d", i%3)
				// The older half compacted to size already: incompressible padding.
				pad := ""
				if i < n/2 {
					for range 300 {
						pad += rand.Text()
					}
				}
				admin := fmt.Sprintf(`{"a":"admin","pad":%q}`, pad)
				fs = append(fs, lakehousetest.LegacyRows(int64(i*3), c, admin, `{"a":"user"}`, admin))
				want[c] += 2
			}
			files := lakehousetest.WriteLegacyLake(t, inner, map[int32][][]lakehouse.Row{0: fs})
			start := int64(n * 3)
			bkt := &archivingLake{Bucket: inner, tb: t, next: start, small: slices.MinFunc(files[:n/2], func(a, b lakehouse.FileEntry) int { return cmp.Compare(a.Bytes, b.Bytes) }).Bytes}
			// A cache that keeps no file past its read, as for history larger than
			// --cache-max-bytes: a job read again fetches its files again.
			runner, err := NewRunner(Config{Lake: lakehouse.NewLake(bkt, nil), CacheDir: t.TempDir(), CacheMaxBytes: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer runner.Close()
			res, err := runner.Run(ctx, Job{Rule: r, Start: map[int32]int64{0: start}})
			if bkt.err != nil {
				t.Fatal(bkt.err)
			}
			if err != nil {
				t.Fatalf("after the lake moved %d times under it (one commit and merge each): %v", bkt.moves, err)
			}
			if !maps.Equal(res.Counts, want) || len(res.Missing) != 0 {
				t.Errorf("counts %v missing %v, want %v", res.Counts, res.Missing, want)
			}
		})
	}
}
