package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
