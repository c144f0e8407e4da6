package lakehouse_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestSlowCommitReusesPrunedVersion: two embedded (fed) archivers share a lake, one
// partition each. A's commit of partition 0's first file is slow: it read the empty
// lake, so it claims manifest v1. Meanwhile B commits partition 1 a dozen times and a
// maintenance pass prunes the old manifests, v1 among them. A's PutIfAbsent of v1 then
// succeeds, the name free again, though readers take the newest manifest, which never
// listed A's file: A must take it back and commit again on the newest. It took its
// file for committed, and its next file, finding partition 0 new to the lake, was
// accepted at its start: offsets 0..N of partition 0 were missing for good.
func TestSlowCommitReusesPrunedVersion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out a slow commit (3 s): make test runs it")
	}
	slowCommitOnPrunedVersion(t, "mem", func(inner lakehouse.Bucket) (lakehouse.Bucket, <-chan struct{}, chan struct{}) {
		g := newGatedBucket(inner)
		return g, g.entered, g.open
	})
}

// midWriteGatedBucket holds the first manifest PutIfAbsent after its bytes are read
// (a file:// bucket's temp file has them, and so its write time) and before the name
// is claimed (its link): a slow fsync does the same.
type midWriteGatedBucket struct {
	lakehouse.Bucket
	open    chan struct{}
	entered chan struct{}
	once    sync.Once
}

type gateAtEOF struct {
	r    io.Reader
	g    *midWriteGatedBucket
	ctx  context.Context
	done bool
}

func (r *gateAtEOF) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF && !r.done {
		r.done = true
		r.g.once.Do(func() { close(r.g.entered) })
		select {
		case <-r.g.open:
		case <-r.ctx.Done():
			return n, r.ctx.Err()
		}
	}
	return n, err
}

func (g *midWriteGatedBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	first := false
	if strings.HasPrefix(name, "manifest/") {
		select {
		case <-g.entered:
		default:
			first = true
		}
	}
	if first {
		r = &gateAtEOF{r: r, g: g, ctx: ctx}
	}
	return g.Bucket.PutIfAbsent(ctx, name, r)
}

// TestSlowWriteReusesPrunedVersion is TestSlowCommitReusesPrunedVersion on a file://
// bucket with A slow while writing its manifest (bytes written, the link pending)
// rather than before: the newer versions B writes meanwhile have later write times
// than A's file, so write times cannot tell A's version landed below them; the
// offsets the newest manifest covers can.
func TestSlowWriteReusesPrunedVersion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out a slow write (3 s): make test runs it")
	}
	slowCommitOnPrunedVersion(t, "file", func(inner lakehouse.Bucket) (lakehouse.Bucket, <-chan struct{}, chan struct{}) {
		g := &midWriteGatedBucket{Bucket: inner, open: make(chan struct{}), entered: make(chan struct{})}
		return g, g.entered, g.open
	})
}

// slowCommitOnPrunedVersion runs the two tests above on a bucket of kind, archiver A's
// first manifest commit held by gate until open is closed.
func slowCommitOnPrunedVersion(t *testing.T, kind string, gate func(lakehouse.Bucket) (b lakehouse.Bucket, entered <-chan struct{}, open chan struct{})) {
	t.Helper()
	b, inner, lake := brokerAndLake(t, 2, kind)
	prod := b.Client(t)
	h := newHistory(31)
	h.produce(t, prod, 400)
	ends := h.ends()

	gated, entered, open := gate(inner)
	feedA := lakehouse.NewFeed(0, 0, nil)
	feedA.Resume(0, 0)
	feedA.Records(0, 0, fetchRange(t, b, 0, 0, ends[0])[:ends[0]+1])
	cfgA, regA := meteredArchiverConfig(b, gated, "")
	cfgA.Feed = feedA
	stopA := startArchiver(t, cfgA)
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("archiver A never tried to commit")
	}
	time.Sleep(20 * time.Millisecond) // coarse file times: B's manifests come strictly later than A's

	feedB := lakehouse.NewFeed(0, 0, nil)
	feedB.Resume(1, 0)
	cfgB := archiverConfig(b, inner, "")
	cfgB.Feed = feedB
	stopB := startArchiver(t, cfgB)
	recs1 := fetchRange(t, b, 1, 0, ends[1])[:ends[1]+1]
	const commits = 12
	step := (len(recs1) + commits - 1) / commits
	for i := 0; i < len(recs1); i += step {
		chunk := recs1[i:min(i+step, len(recs1))]
		feedB.Records(1, chunk[0].Offset, chunk)
		waitArchived(t, lake, map[int32]int64{1: chunk[len(chunk)-1].Offset}, 20*time.Second)
	}
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{}); err != nil {
		t.Fatal(err)
	}

	close(open)
	waitMetric(t, regA, "hindsight_lake_manifest_commits_total", 1, 10*time.Second)

	first0 := ends[0] + 1
	h.produce(t, prod, 400)
	ends = h.ends()
	feedA.Records(0, first0, fetchRange(t, b, 0, first0, ends[0])[:ends[0]-first0+1])
	feedB.Records(1, recs1[len(recs1)-1].Offset+1, fetchRange(t, b, 1, recs1[len(recs1)-1].Offset+1, ends[1])[:ends[1]-recs1[len(recs1)-1].Offset])
	snap := archiveAll(t, lake, h, 30*time.Second, stopA, stopB)
	if st, _ := snap.Partition(0); st.Earliest != 0 {
		t.Errorf("partition 0's earliest offset held is %d, want 0 (nothing was deleted); manifest conflicts of A: %v",
			st.Earliest, promtest.Sum(t, regA, "hindsight_lake_manifest_conflicts_total"))
	}
	checkExactlyOnce(t, lake, snap, h)
}

// TestSlowCompactionCommitOnPrunedVersion: a compaction's manifest commit is slow (it
// read version N and claims N+1); meanwhile the archiver commits a dozen versions and
// a maintenance pass prunes the old ones, N+1's name among them. The compaction's
// PutIfAbsent of N+1 then succeeds, below the newest, which never lists its merged
// file. landedBelow once asked only whether the offsets of the files the commit added
// were covered by the newest manifest, and a merged file's always are: the version was
// kept as if it stood, and the pass reported the files compacted (`hindsight lake
// compact` printed it, the archiver counted hindsight_lake_files_compacted_total)
// though the lake never saw the change.
func TestSlowCompactionCommitOnPrunedVersion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out a slow commit (2 s): make test runs it")
	}
	b, inner, lake := brokerAndLake(t, 1, "mem")
	cfg := archiverConfig(b, inner, "compact-pruned")
	cfg.RollAge = 50 * time.Millisecond
	h := newHistory(43)
	stop := startArchiver(t, cfg)
	cl := b.Client(t)
	for range 4 { // a few small files
		h.produce(t, cl, 50)
		waitArchived(t, lake, h.ends(), 30*time.Second) // its file committed: the next opens another
	}
	before := archiveAll(t, lake, h, 30*time.Second, stop)
	if n := len(before.Files(lakehouse.Filter{})); n < 2 {
		t.Fatalf("only %d files to compact", n)
	}

	gated := newGatedBucket(inner)
	compactor := lakehouse.NewLake(gated, testLogger())
	type result struct {
		rep lakehouse.MaintenanceReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := compactor.Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20})
		done <- result{rep, err}
	}()
	select {
	case <-gated.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the compaction never tried to commit")
	}

	// A dozen commits of the archiver meanwhile, then a pass that prunes (and compacts
	// nothing: no file counts as small).
	stop = startArchiver(t, cfg)
	for range 12 {
		h.produce(t, cl, 10)
		waitArchived(t, lake, h.ends(), 20*time.Second)
	}
	stopArchivers(t, stop)
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 1}); err != nil {
		t.Fatal(err)
	}

	close(gated.open)
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("compaction did not finish")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	still := 0
	for _, f := range before.Files(lakehouse.Filter{}) {
		if snap.Manifest().HasFile(f.Path) {
			still++
		}
	}
	if res.rep.FilesCompacted > 0 && still == len(before.Files(lakehouse.Filter{})) {
		t.Errorf("the pass reports %d files compacted into %d (its manifest v%d), yet the newest manifest, v%d, still lists all %d of them and no merged file",
			res.rep.FilesCompacted, res.rep.FilesWritten, res.rep.Manifest.Version, snap.Version(), still)
	}
	checkExactlyOnce(t, lake, snap, h)
}
