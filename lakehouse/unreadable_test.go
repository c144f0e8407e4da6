package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestUnreadableManifestsHoldCommits: with every manifest rotted, a commit would start
// a manifest listing none of the lake's files, and garbage collection would then delete
// them all. So no writer commits, neither one that read the manifests before nor a new
// one (which tells the lake's files by their age), and no new reader takes the lake for
// empty. With the older manifests restored and the newest still rotted, a commit built
// on the newest readable one would drop the files only the rotted one listed (restoring
// them one by one, oldest first, lost a partition's first 171 records in CI), so none
// lands then either. Once the manifests are restored, the writers go on and the lake
// holds every event exactly once.
func TestUnreadableManifestsHoldCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt, url := openTestBucket(t, "file")
	lake := lakehouse.NewLake(bkt, testLogger())
	cl := b.Client(t)
	h := newHistory(91)
	cfg, reg := meteredArchiverConfig(b, bkt, "rot")
	stop := startArchiver(t, cfg)
	h.produce(t, cl, 400)
	waitArchived(t, lake, h.ends(), 60*time.Second)

	manifests := objects(t, bkt, "manifest/")
	// holdsWhile produces events and waits for the writer to refuse two commits, each
	// time checking that the manifests are still exactly want.
	holdsWhile := func(reg *prometheus.Registry, writer string, want map[string][]byte) {
		t.Helper()
		refused := func() float64 {
			return max(0, promtest.Value(t, reg, "hindsight_lake_storage_errors_total", "op", "commit manifest"))
		}
		before := refused()
		h.produce(t, cl, 100)
		poll.Until(t, 30*time.Second, writer+" refused a commit twice", func() bool {
			now := objects(t, bkt, "manifest/")
			if !maps.EqualFunc(now, want, bytes.Equal) {
				t.Fatalf("%s committed over unreadable manifests: the manifests are %v, were %v",
					writer, slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(want)))
			}
			return refused() >= before+2
		})
	}
	held := func(reg *prometheus.Registry, writer string, rotten map[string][]byte) {
		t.Helper()
		if len(manifests) < 2 {
			t.Fatalf("%d manifests: no older one to restore alone", len(manifests))
		}
		newest := slices.Max(slices.Collect(maps.Keys(manifests)))
		holdsWhile(reg, writer, rotten)
		if _, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx); !errors.Is(err, lakehouse.ErrUnreadableManifests) {
			t.Fatalf("a new reader's snapshot: err %v, want ErrUnreadableManifests", err)
		}
		older := maps.Clone(manifests)
		delete(older, newest)
		restore(t, bkt, older)
		partly := maps.Clone(manifests)
		partly[newest] = []byte(rotted)
		holdsWhile(reg, writer+" (the newest manifest alone unreadable)", partly)
		restore(t, bkt, manifests)
		waitArchived(t, lake, h.ends(), 60*time.Second)
	}

	held(reg, "the running writer", rot(t, bkt, manifests))
	stopArchivers(t, stop)

	manifests = objects(t, bkt, "manifest/")
	rotten := rot(t, bkt, manifests)
	// Written an hour ago, as far as the store can tell.
	old := time.Now().Add(-time.Hour)
	if err := filepath.WalkDir(filepath.Join(strings.TrimPrefix(url, "file://"), "data"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(path, old, old)
	}); err != nil {
		t.Fatal(err)
	}
	cfg, reg = meteredArchiverConfig(b, bkt, "rot")
	stop = startArchiver(t, cfg)
	held(reg, "a new writer", rotten)
	stopArchivers(t, stop)

	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
}

// putJunkManifest puts a foreign object named like a manifest version above every
// manifest of the lake (the same junk TestForeignAndCorruptObjects uses: a truncated
// JSON text that lists nothing).
func putJunkManifest(t *testing.T, bkt lakehouse.Bucket, version int64) string {
	t.Helper()
	name := fmt.Sprintf("manifest/v%012d.json", version)
	junk := fmt.Sprintf(`{"format": 1, "version": %d, "files": [{"path": "data/x"`, version)
	if err := bkt.Put(context.Background(), name, strings.NewReader(junk)); err != nil {
		t.Fatal(err)
	}
	return name
}

func topVersion(t *testing.T, bkt lakehouse.Bucket) int64 {
	t.Helper()
	var top int64
	for name := range objects(t, bkt, "manifest/") {
		var v int64
		if _, err := fmt.Sscanf(name, "manifest/v%d.json", &v); err == nil && v > top {
			top = v
		}
	}
	return top
}

// TestJunkAboveTheManifestsHoldsNoWriter: a lake with history, and one junk object
// named like a manifest above its newest version, put before the writers upload. Two
// writers (archivers of rival groups, as in TestTwoWriters) each upload a file and then
// commit. The other's upload is younger than the junk, so no manifest could list it:
// neither commit is refused for it (each was, and both retried for ever, the lake
// archiving nothing more).
func TestJunkAboveTheManifestsHoldsNoWriter(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 2, "file")
	h, _ := archiveEvents(t, b, lake, archiverConfig(b, bkt, "first"), 71, 400)
	putJunkManifest(t, bkt, topVersion(t, bkt)+1)

	// Each writer's first upload waits (up to 10 s) for the other's: both hold an
	// uploaded file when they commit, as two busy writers often do.
	var mu sync.Mutex
	arrived := map[string]chan struct{}{"one": make(chan struct{}), "two": make(chan struct{})}
	hook := func(me, other string) func(string) error {
		var once sync.Once
		return func(point string) error {
			if point != "uploaded" {
				return nil
			}
			once.Do(func() {
				mu.Lock()
				close(arrived[me])
				mu.Unlock()
				select {
				case <-arrived[other]:
				case <-time.After(10 * time.Second):
				}
			})
			return nil
		}
	}
	var stops []func() error
	for _, w := range [][2]string{{"one", "two"}, {"two", "one"}} {
		cfg := archiverConfig(b, bkt, w[0])
		cfg.ShutdownTimeout = 2 * time.Second
		lakehouse.SetFaultHook(&cfg, hook(w[0], w[1]))
		stops = append(stops, startArchiver(t, cfg))
	}
	h.produce(t, b.Client(t), 400)
	waitArchived(t, lake, h.ends(), 45*time.Second)
	for _, stop := range stops {
		_ = stop()
	}
}

// TestPruneKeepsReadableManifests: the newest KeepManifests manifest versions are
// unreadable (here: junk objects above the lake's manifests; rotted newest versions do
// the same), older ones read. Prune counts from the newest readable one: it kept the
// unreadable ones and deleted every readable one, and the lake had no readable
// manifest left.
func TestPruneKeepsReadableManifests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, bkt, lake := brokerAndLake(t, 1, "file")
	h, before := archiveEvents(t, b, lake, archiverConfig(b, bkt, "prune"), 72, 300)
	top := topVersion(t, bkt)
	junk := []string{putJunkManifest(t, bkt, top+1), putJunkManifest(t, bkt, top+2)}

	// Nothing to merge: the pass commits nothing, it only prunes.
	if _, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{KeepManifests: 2, CompactSmallBytes: 1}); err != nil {
		t.Fatalf("maintenance: %v", err)
	}
	left := slices.Sorted(maps.Keys(objects(t, bkt, "manifest/")))
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatalf("after one maintenance pass (KeepManifests 2) over two junk manifests above v%d, the manifests left are %v and a snapshot fails: %v",
			before.Version(), left, err)
	}
	if snap.Version() != before.Version() {
		t.Fatalf("snapshot v%d, want v%d", snap.Version(), before.Version())
	}
	// The operator removes the junk, as the error says: the lake's history is intact.
	for _, name := range junk {
		if err := bkt.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	snap, err = lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
}

// TestMaintenanceFailsOverUnreadableNewestManifest: `hindsight lake compact`
// (MaintainLake) over a lake whose newest manifest is junk and which holds one unlisted
// data file older than it (a crashed writer's debris, which it could have listed) and
// small files to merge. The compaction commit is refused with ErrUnreadableManifests,
// and the pass fails with it, telling the operator what to do: it retried for as long
// as the context lasted, and the command's never ends.
func TestMaintenanceFailsOverUnreadableNewestManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, url := openTestBucket(t, "file")
	lake := lakehouse.NewLake(bkt, testLogger())
	cfg := archiverConfig(b, bkt, "hang")
	cfg.RollAge = 50 * time.Millisecond
	h := newHistory(73)
	stop := startArchiver(t, cfg)
	for range 4 { // each batch rolls into a file of its own
		h.produce(t, b.Client(t), 50)
		waitArchived(t, lake, h.ends(), 30*time.Second) // its file committed: the next opens another
	}
	before := archiveAll(t, lake, h, 30*time.Second, stop)
	if n := len(before.Files(lakehouse.Filter{})); n < 2 {
		t.Fatalf("only %d files to compact", n)
	}
	// Debris: a copy of a listed file under another valid name (a crashed upload).
	f := before.Files(lakehouse.Filter{})[0]
	rc, err := bkt.Get(ctx, f.Path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(rc)
	rc.Close()
	debris := f.Path[:len(f.Path)-len("0123abcd.parquet")] + "deadbeef.parquet"
	if err := bkt.Put(ctx, debris, &buf); err != nil {
		t.Fatal(err)
	}
	putJunkManifest(t, bkt, topVersion(t, bkt)+1)

	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err = lakehouse.MaintainLake(cctx, url, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 30}, lakehouse.StorageConfig{Logger: testLogger()})
	if took := time.Since(start); errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lake compact over a junk newest manifest was still retrying after %v: %v", took.Round(time.Second), err)
	}
	if !errors.Is(err, lakehouse.ErrUnreadableManifests) {
		t.Fatalf("lake compact over a junk newest manifest and older debris: err %v, want ErrUnreadableManifests", err)
	}
}
