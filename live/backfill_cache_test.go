package live_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// cacheFiles is the number and bytes of the lake files (not fetches in progress) under
// the backfill cache's data/.
func cacheFiles(t *testing.T, dir string) (n int, bytes int64) {
	t.Helper()
	_ = filepath.WalkDir(filepath.Join(dir, "data"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name()[0] == '.' {
			return nil
		}
		if fi, err := e.Info(); err == nil {
			n++
			bytes += fi.Size()
		}
		return nil
	})
	return n, bytes
}

// TestHandoffsTrimTheBackfillCache: --backfill-cache-max-bytes bounds the cache
// before every hand-off job, a windowed rule's too. Only a plain count's job
// (backfill.Runner) trimmed it; a windowed rule's hand-off (backtest.PartitionState
// through backfill.MatchingRows) fetched (linked) every lake file its typed condition
// covers into the same cache and never trimmed it: a daemon whose new rules are
// windowed kept a copy (a hard link, for a local lake) of every lake file any hand-off
// ever read, those compaction has since deleted from the lake included, and the disk
// was never given back. The plain subtest is the control.
func TestHandoffsTrimTheBackfillCache(t *testing.T) {
	t.Parallel()
	t.Run("windowed", func(t *testing.T) {
		t.Parallel()
		testCacheChurn(t, `"group_by":["$.user"],"window":{"size":"10m"},"time":"$.ts","threshold":100000`)
	})
	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		testCacheChurn(t, `"threshold":100000`)
	})
}

func testCacheChurn(t *testing.T, shape string) {
	const rounds = 6
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	cache := t.TempDir()
	const maxBytes = 1 // every file is over the bound: a trimmed cache is empty before each job
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.LakeURL = lakeURL
		c.ArchiveRollAge = 100 * time.Millisecond
		c.ArchiveMaintainInterval = -1
		c.LakeColumns = []string{"$.kind"} // files typed for the rules' condition: their hand-offs read through DuckDB
		c.BackfillCacheDir = cache
		c.BackfillCacheMaxBytes = maxBytes
	})
	lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	produced := 0
	var last int64
	for round := range rounds {
		recs := make([]*kgo.Record, 200)
		for i := range recs {
			at := base.Add(time.Duration(produced+i) * time.Second)
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", i%3)),
				Value: []byte(fmt.Sprintf(`{"kind":"fail","user":"u%d","ts":%q}`, i%5, at.Format(time.RFC3339))), Timestamp: at}
		}
		produced += len(recs)
		out := b.Produce(t, recs...)
		last = out[len(out)-1].Offset
		poll.Until(t, 60*time.Second, "the lake to hold every event", func() bool {
			snap, err := lake.Snapshot(context.Background())
			return err == nil && snap.Watermark(0) >= last
		})
		// Compaction, as the archiver's maintenance does every --archive-maintain-interval:
		// the files merged leave the lake.
		if _, err := lakehouse.MaintainLake(context.Background(), lakeURL, lakehouse.MaintenanceConfig{
			CompactSmallBytes: 64 << 20, DeleteDelay: -1, OrphanGrace: time.Hour}, lakehouse.StorageConfig{}); err != nil {
			t.Fatalf("compaction: %v", err)
		}
		r := livetest.ParseRule(t, fmt.Sprintf(`{"id":"w-%d","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},%s}`, round, shape))
		b.Produce(t, livetest.Upsert(t, r))
		poll.Until(t, 60*time.Second, "the rule's hand-off done", func() bool {
			for _, v := range d.Rules() {
				if v.ID == r.ID {
					return v.Status == contract.RuleLive
				}
			}
			return false
		})
		b.Produce(t, livetest.Delete(t, r.Key()))
		poll.Until(t, 30*time.Second, "the rule deleted", func() bool { return d.Registry().Len() == 0 })
		n, bytes := cacheFiles(t, cache)
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st := snap.Stats()
		t.Logf("round %d: %d hand-offs done: backfill cache holds %d files, %d bytes (limit %d); the lake lists %d files, %d bytes",
			round, round+1, n, bytes, maxBytes, st.Files, st.Bytes)
	}
	n, bytes := cacheFiles(t, cache)
	snap, _ := lake.Snapshot(context.Background())
	st := snap.Stats()
	// A job may leave what it read (the lake's files at most) on top of the bound; more
	// is files of earlier jobs no trimming ever took, some of them gone from the lake.
	if bytes > maxBytes+st.Bytes {
		t.Fatalf("after %d hand-offs the backfill cache holds %d files, %d bytes: over --backfill-cache-max-bytes %d plus the whole lake (%d files, %d bytes); it grows with every hand-off",
			rounds, n, bytes, maxBytes, st.Files, st.Bytes)
	}
}

// TestWindowedHandoffTrimsAsItReads: one windowed rule's hand-off over a lake of many
// files, under a cache bound of one byte, leaves fewer than a chunk (16) of them in
// the cache: it trims after every 16 files it reads, as a plain count's job does
// between its chunks. It trimmed only as it began, and kept every file it read: one
// hand-off over a large lake could fill the disk (a review's reading).
func TestWindowedHandoffTrimsAsItReads(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	lakeURL := "file://" + t.TempDir()
	cache := t.TempDir()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.LakeURL = lakeURL
		c.ArchiveRollAge = 5 * time.Millisecond
		c.ArchiveMaintainInterval = -1
		c.LakeColumns = []string{"$.kind"} // files typed for the rule's condition: its hand-off reads through DuckDB
		c.BackfillCacheDir = cache
		c.BackfillCacheMaxBytes = 1
	})
	lake, err := lakehouse.OpenLake(context.Background(), lakeURL, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var (
		last  int64
		files int
	)
	for i := range 2*16 + 1 {
		at := base.Add(time.Duration(i) * time.Second)
		out := b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c-1"), Timestamp: at,
			Value: []byte(fmt.Sprintf(`{"kind":"fail","user":"u%d","ts":%q}`, i%5, at.Format(time.RFC3339)))})
		last = out[0].Offset
		// A file each, without pacing by the clock: the next event is produced only once
		// this one is in the lake, so it opens a new file, and 2*16+1 events make more
		// than two chunks of files.
		poll.Until(t, 60*time.Second, fmt.Sprintf("event %d in the lake", i), func() bool {
			snap, err := lake.Snapshot(context.Background())
			if err == nil {
				files = len(snap.Files(lakehouse.Filter{}))
			}
			return err == nil && snap.Watermark(0) >= last
		})
	}
	if files < 2*16 {
		t.Fatalf("the lake holds %d files; the test wants more than two chunks of 16", files)
	}
	r := livetest.ParseRule(t, `{"id":"w","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},"group_by":["$.user"],"window":{"size":"10m"},"time":"$.ts","threshold":100000}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 60*time.Second, "the rule's hand-off done", func() bool {
		for _, v := range d.Rules() {
			if v.ID == r.ID {
				return v.Status == contract.RuleLive
			}
		}
		return false
	})
	if n, bytes := cacheFiles(t, cache); n >= 16 {
		t.Errorf("after one hand-off over %d lake files the backfill cache holds %d files (%d bytes), under a bound of 1 byte", files, n, bytes)
	}
}
