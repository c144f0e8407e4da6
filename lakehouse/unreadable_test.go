package lakehouse_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
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
// empty. Once the manifests are restored, the writers go on and the lake holds every
// event exactly once.
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
	held := func(reg *prometheus.Registry, writer string) {
		t.Helper()
		refused := func() float64 {
			return max(0, promtest.Value(t, reg, "hindsight_lake_storage_errors_total", "op", "commit manifest"))
		}
		before := refused()
		h.produce(t, cl, 200)
		poll.Until(t, 30*time.Second, writer+" refused a commit twice", func() bool {
			now := objects(t, bkt, "manifest/")
			for name, data := range now {
				if string(data) != rotted {
					t.Fatalf("%s committed %s over the unreadable manifests", writer, name)
				}
			}
			if !maps.EqualFunc(now, manifests, func([]byte, []byte) bool { return true }) {
				t.Fatalf("the manifests are %d objects, were %d", len(now), len(manifests))
			}
			return refused() >= before+2
		})
		if _, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx); !errors.Is(err, lakehouse.ErrUnreadableManifests) {
			t.Fatalf("a new reader's snapshot: err %v, want ErrUnreadableManifests", err)
		}
		restore(t, bkt, manifests)
		waitArchived(t, lake, h.ends(), 60*time.Second)
	}

	rot(t, bkt, manifests)
	held(reg, "the running writer")
	stopArchivers(t, stop)

	manifests = objects(t, bkt, "manifest/")
	rot(t, bkt, manifests)
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
	held(reg, "a new writer")
	stopArchivers(t, stop)

	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
}
