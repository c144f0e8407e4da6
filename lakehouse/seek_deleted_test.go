package lakehouse_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// gatedBucket holds every manifest PutIfAbsent until open is closed: a writer whose
// commit is slow (a slow store, a long GC pause) while another writer commits.
type gatedBucket struct {
	lakehouse.Bucket
	open    chan struct{}
	entered chan struct{} // closed when the first manifest PutIfAbsent is held
	once    sync.Once
}

func newGatedBucket(inner lakehouse.Bucket) *gatedBucket {
	return &gatedBucket{Bucket: inner, open: make(chan struct{}), entered: make(chan struct{})}
}

func (g *gatedBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	if strings.HasPrefix(name, "manifest/") {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Bucket.PutIfAbsent(ctx, name, r)
}

// TestRejectedFileThenDeletedRangeBelowNewStart: the embedded (fed) archiver learns
// that Kafka deleted offsets 50–99 before it read them, while its own file [0, 49]
// waits for its commit. Another writer archived 0–99 meanwhile, so the file is
// rejected and the partition resumes at 100. The deleted range 50–99, which the other
// writer's files cover, must not be charged to the next file [100, …]: a manifest
// refuses a file lacking offsets below its start, and the commit was retried for
// ever, the whole archiver stopped.
func TestRejectedFileThenDeletedRangeBelowNewStart(t *testing.T) {
	t.Parallel()
	b, inner, lake := brokerAndLake(t, 1, "mem")
	prod := b.Client(t)
	h := newHistory(21)
	h.produce(t, prod, 100) // offsets 0–99
	first := fetchRange(t, b, 0, 0, 49)[:50]

	// The fed archiver: its file [0, 49] is encoded and uploaded, its commit held.
	gated := newGatedBucket(inner)
	feed := lakehouse.NewFeed(0, 0, nil)
	feed.Resume(0, 0)
	feed.Records(0, 0, first)
	cfg, reg := meteredArchiverConfig(b, gated, "")
	cfg.Feed = feed
	stopA := startArchiver(t, cfg)
	poll.Until(t, 20*time.Second, "the fed archiver's first file to be uploaded", func() bool {
		n := 0
		_ = inner.List(context.Background(), "data/", func(lakehouse.ObjectAttributes) error { n++; return nil })
		return n > 0
	})

	// Another writer archives 0–99 meanwhile.
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, inner, "rival")))

	// The topic's retention deletes 0–99; the live consumer, reset to the log start,
	// fetches 100–109, records it dead-letters.
	deleteRecords(t, prod, 100)
	bad := make([]*kgo.Record, 10)
	for i := range bad {
		bad[i] = &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx, bad...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	feed.Records(0, lakehouse.FromLogStart, fetchRange(t, b, 0, 100, 109)[:10])
	// The refused records are read in the append that finds 50–99 deleted before them.
	waitMetric(t, reg, "hindsight_lake_records_refused_total", 10, 10*time.Second)

	// The held commit goes ahead and loses to the other writer's: [0, 49] is rejected,
	// the partition resumes at 100.
	close(gated.open)
	waitMetric(t, reg, "hindsight_lake_files_rejected_total", 1, 10*time.Second)

	// Accepted records follow: the file [100, 129] must be committed.
	h.produce(t, prod, 20) // offsets 110–129
	feed.Records(0, 110, fetchRange(t, b, 0, 110, 129))
	poll.Until(t, 15*time.Second, "the lake's watermark at 129", func() bool {
		snap, err := lake.Snapshot(context.Background())
		return err == nil && snap.Watermark(0) >= 129
	})
	if n := promtest.Value(t, reg, "hindsight_lake_storage_errors_total", "op", "commit manifest"); n > 0 { // -1: no such series
		t.Errorf("%v manifest commits failed", n)
	}
	// The other writer read 0–99 before retention removed them: no file lists an offset
	// as deleted, and this archiver, which found 50–99 gone, committed none that does.
	if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 0 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 0: the lake holds rows for 50–99", got)
	}
	stopArchivers(t, stopA)
}
