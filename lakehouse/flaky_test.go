package lakehouse_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// flakyBucket fails some operations the nasty way: a manifest PutIfAbsent that lands
// but reports an error (the reply was lost: the first three that land, then every
// third, so that a slow run, whose archivers commit more files at a time in fewer
// manifests, loses as many), and data Puts that fail before landing.
type flakyBucket struct {
	lakehouse.Bucket
	manifestPuts, dataPuts atomic.Int64
	lostReplies            atomic.Int64
}

var errLostReply = errors.New("connection reset by peer")

func (f *flakyBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	err := f.Bucket.PutIfAbsent(ctx, name, r)
	if err == nil && strings.HasPrefix(name, "manifest/") {
		if n := f.manifestPuts.Add(1); n > 3 && n%3 != 0 {
			return nil
		}
		f.lostReplies.Add(1)
		return errLostReply
	}
	return err
}

func (f *flakyBucket) Put(ctx context.Context, name string, r io.Reader) error {
	if strings.HasPrefix(name, "data/") && f.dataPuts.Add(1)%4 == 0 {
		return errors.New("503 slow down")
	}
	return f.Bucket.Put(ctx, name, r)
}

// TestLostCommitReplies: a commit whose reply is lost is retried, finds its own files
// in the manifest, and counts as done; nothing is archived twice or deleted wrongly.
func TestLostCommitReplies(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	inner, _ := openTestBucket(t, "mem")
	bkt := &flakyBucket{Bucket: inner}
	lake := lakehouse.NewLake(inner, testLogger())
	h := newHistory(55)
	cl := b.Client(t)
	// Under the race detector a file costs tens of milliseconds of CPU (each archiver
	// encodes every file: the rival's are rejected), so on a loaded machine an archiver
	// stopped behind the lake held a dozen files whose encoding outlasted 20 s: the
	// final flush failed (nothing lost, but the stop is not clean). The lost replies are
	// this test's subject, not the stop's bound.
	cfg := func(group string) lakehouse.ArchiverConfig {
		c := archiverConfig(b, bkt, group)
		if lakehouse.UnderRace {
			c.ShutdownTimeout = 60 * time.Second
		}
		return c
	}
	stop1 := startArchiver(t, cfg("flaky"))
	stop2 := startArchiver(t, cfg("flaky-rival")) // and a rival writer
	// In rounds, each archived before the next: every round lands at least one manifest,
	// so that the first three that land (each reply lost) are there however slow the
	// run. -short archives a quarter of the events: the race pass spent some 80 s of a
	// loaded machine on 8000, most of it encoding under the detector.
	rounds, perRound, batch := 4, 2000, 200
	if testing.Short() {
		perRound, batch = 500, 100
	}
	for range rounds {
		backgroundProducer(t, h, cl, perRound, batch, 20*time.Millisecond)()
		waitArchived(t, lake, h.ends(), 60*time.Second)
	}
	snap := archiveAll(t, lake, h, 60*time.Second, stop1, stop2)
	if bkt.lostReplies.Load() < 3 {
		t.Fatalf("only %d lost replies injected", bkt.lostReplies.Load())
	}
	checkExactlyOnce(t, lake, snap, h)
	t.Logf("%d lost commit replies, %d data puts, manifest v%d", bkt.lostReplies.Load(), bkt.dataPuts.Load(), snap.Version())
}

// vanishingBucket lists the manifests but, while vanish is set, finds none of them when
// read: as if each were pruned between the listing and the read.
type vanishingBucket struct {
	lakehouse.Bucket
	vanish atomic.Bool
}

func (v *vanishingBucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if v.vanish.Load() && strings.HasPrefix(name, "manifest/") {
		return nil, lakehouse.ErrNotFound
	}
	return v.Bucket.Get(ctx, name)
}

// TestManifestsVanishing: a reader whose listed manifests keep vanishing before it reads
// them fails, and retrying succeeds once they stay. It never takes the lake for empty:
// a writer would then commit a manifest listing none of its files.
func TestManifestsVanishing(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	inner, _ := openTestBucket(t, "mem")
	lake := lakehouse.NewLake(inner, testLogger())
	_, snap := archiveEvents(t, b, lake, archiverConfig(b, inner, "vanish"), 5, 500)
	files := len(snap.Files(lakehouse.Filter{}))
	if files == 0 {
		t.Fatal("nothing archived: the test shows nothing")
	}
	bkt := &vanishingBucket{Bucket: inner}
	reader := lakehouse.NewLake(bkt, testLogger())
	bkt.vanish.Store(true)
	if got, err := reader.Snapshot(context.Background()); err == nil {
		t.Fatalf("snapshot with every manifest vanishing: version %d with %d files, want an error", got.Version(), len(got.Files(lakehouse.Filter{})))
	} else if errors.Is(err, lakehouse.ErrNotFound) {
		t.Errorf("snapshot error %v is ErrNotFound, which callers do not retry", err)
	}
	bkt.vanish.Store(false)
	got, err := reader.Snapshot(context.Background())
	if err != nil || got.Version() != snap.Version() || len(got.Files(lakehouse.Filter{})) != files {
		t.Errorf("snapshot once the manifests stay: %v; want version %d with %d files", err, snap.Version(), files)
	}
}

// compactOnLostReply lands one armed manifest PutIfAbsent, then maintains the lake with
// then (as another process's maintenance would, meanwhile) before reporting the reply
// lost; with first, it maintains the lake before the put instead, which then finds
// its version taken.
type compactOnLostReply struct {
	lakehouse.Bucket
	lake  *lakehouse.Lake
	then  lakehouse.MaintenanceConfig
	first bool
	armed atomic.Bool
	rep   lakehouse.MaintenanceReport
	err   error
}

func (c *compactOnLostReply) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	if !strings.HasPrefix(name, "manifest/") || !c.armed.CompareAndSwap(true, false) {
		return c.Bucket.PutIfAbsent(ctx, name, r)
	}
	if c.first {
		c.rep, c.err = c.lake.Maintain(context.Background(), c.then)
		return c.Bucket.PutIfAbsent(ctx, name, r)
	}
	err := c.Bucket.PutIfAbsent(ctx, name, r)
	if err == nil {
		c.rep, c.err = c.lake.Maintain(context.Background(), c.then)
		return errLostReply
	}
	return err
}

// TestLostCommitReplyThenCompacted: a commit lands, its reply is lost, and before the
// retry compaction merges the file it added into another. The retry finds the file
// pending deletion, not listed: its commit stands, and the file stays for readers of
// older snapshots until DeleteDelay. It was taken for another writer's archive: counted
// rejected, and its file deleted at once.
func TestLostCommitReplyThenCompacted(t *testing.T) {
	t.Parallel()
	b, inner, lake := brokerAndLake(t, 1, "mem")
	bkt := &compactOnLostReply{Bucket: inner, lake: lakehouse.NewLake(inner, testLogger()),
		then: lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20}}
	h := newHistory(61)
	cl := b.Client(t)
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	stop := startArchiver(t, cfg)
	h.produce(t, cl, 50)
	waitArchived(t, lake, h.ends(), 20*time.Second)
	bkt.armed.Store(true)
	h.produce(t, cl, 50)
	snap := archiveAll(t, lake, h, 20*time.Second, stop)
	if bkt.armed.Load() || bkt.err != nil || bkt.rep.FilesCompacted < 2 {
		t.Fatalf("compaction during the lost reply: armed %v, %v, %d files compacted; the test shows nothing", bkt.armed.Load(), bkt.err, bkt.rep.FilesCompacted)
	}
	pending := snap.Manifest().PendingDeletes
	if len(pending) < 2 {
		t.Fatalf("%d files pending deletion, want the 2 compacted", len(pending))
	}
	for _, d := range pending {
		if _, err := inner.Get(context.Background(), d.Path); err != nil {
			t.Errorf("%s, pending deletion since %s, is gone before its delay: %v", d.Path, d.RemovedAt, err)
		}
	}
	if n := promtest.Sum(t, reg, "hindsight_lake_files_rejected_total"); n != 0 {
		t.Errorf("%v files counted rejected, want 0: the commit was this archiver's", n)
	}
	checkExactlyOnce(t, lake, snap, h)
}

// TestLostCompactionReplyThenExpired: a compaction's commit lands, its reply is lost,
// and before the retry retention expires the merged file. The retry finds it pending
// deletion: the compaction stands, and the merged file stays until DeleteDelay. It was
// taken for a compaction that lost to a concurrent change, and its merged file deleted
// at once, under readers of the snapshot that listed it.
func TestLostCompactionReplyThenExpired(t *testing.T) {
	t.Parallel()
	b, inner, lake := brokerAndLake(t, 1, "mem")
	h := newHistory(62)
	cl := b.Client(t)
	stop := startArchiver(t, archiverConfig(b, inner, ""))
	for range 2 {
		h.produce(t, cl, 50)
		waitArchived(t, lake, h.ends(), 20*time.Second)
	}
	stopArchivers(t, stop)
	// The history's events are days old: a day's retention expires every file.
	bkt := &compactOnLostReply{Bucket: inner, lake: lakehouse.NewLake(inner, testLogger()),
		then: lakehouse.MaintenanceConfig{CompactSmallBytes: 1, Retention: 24 * time.Hour}}
	bkt.armed.Store(true)
	rep, err := lakehouse.NewLake(bkt, testLogger()).Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if bkt.armed.Load() || bkt.err != nil || bkt.rep.FilesExpired == 0 {
		t.Fatalf("retention during the lost reply: armed %v, %v, %d files expired; the test shows nothing", bkt.armed.Load(), bkt.err, bkt.rep.FilesExpired)
	}
	if rep.FilesCompacted < 2 || rep.FilesWritten != 1 {
		t.Errorf("the compaction reports %d files compacted into %d, want its commit to stand", rep.FilesCompacted, rep.FilesWritten)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range snap.Manifest().PendingDeletes {
		if _, err := inner.Get(context.Background(), d.Path); err != nil {
			t.Errorf("%s, pending deletion since %s, is gone before its delay: %v", d.Path, d.RemovedAt, err)
		}
	}
}

// TestCompactionLosesToRetention: retention expires a compaction's inputs between its
// reading the manifest and its commit. The compaction gives up for this pass and
// deletes its merged file; it once retried the stale commit forever, as if storage
// were down, and the maintenance pass never ended.
func TestCompactionLosesToRetention(t *testing.T) {
	t.Parallel()
	b, inner, lake := brokerAndLake(t, 1, "mem")
	h := newHistory(63)
	cl := b.Client(t)
	stop := startArchiver(t, archiverConfig(b, inner, ""))
	for range 2 {
		h.produce(t, cl, 50)
		waitArchived(t, lake, h.ends(), 20*time.Second)
	}
	stopArchivers(t, stop)
	bkt := &compactOnLostReply{Bucket: inner, lake: lakehouse.NewLake(inner, testLogger()), first: true,
		then: lakehouse.MaintenanceConfig{CompactSmallBytes: 1, Retention: 24 * time.Hour}}
	bkt.armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := lakehouse.NewLake(bkt, testLogger()).Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20})
	if err != nil {
		t.Fatalf("the pass: %v", err)
	}
	if bkt.armed.Load() || bkt.err != nil || bkt.rep.FilesExpired < 2 {
		t.Fatalf("retention before the commit: armed %v, %v, %d files expired; the test shows nothing", bkt.armed.Load(), bkt.err, bkt.rep.FilesExpired)
	}
	if rep.FilesCompacted != 0 || rep.FilesWritten != 0 {
		t.Errorf("the pass reports %d files compacted into %d, want none: retention took them", rep.FilesCompacted, rep.FilesWritten)
	}
}
