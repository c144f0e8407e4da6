package lakehouse_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// holdingS3 holds the first manifest PUT past version 1 (once armed) until released:
// a store slow to answer one commit. Its hook is a FaultyProxy's.
type holdingS3 struct {
	mu      sync.Mutex
	armed   bool
	held    chan string   // the held PUT's path, once
	release chan struct{} // closed to let it through
}

func (p *holdingS3) hook(_ http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifest/") && !strings.HasSuffix(r.URL.Path, "v000000000001.json") {
		p.mu.Lock()
		hold := p.armed
		p.armed = false
		p.mu.Unlock()
		if hold {
			p.held <- r.URL.Path
			<-p.release
		}
	}
	return false
}

// TestOrphanCollectionDuringASlowCommitLosesArchivedFiles: the archiver uploads a
// file, then commits the manifest that lists it; the store is slow to answer that one
// commit (held here until the file is older than the orphan grace). Meanwhile a
// maintenance pass of the same --orphan-grace (lake compact, or another archiver's)
// finds the file unlisted and old, and deletes it as debris. The commit then lands,
// listing a file that is gone: its events are lost from history, the watermark passes
// them, and every reader of the lake fails on the file. The archiver uploads a file
// again only before a commit attempt (when it is older than half the grace), not once
// the attempt has taken longer than that.
func TestOrphanCollectionDuringASlowCommitLosesArchivedFiles(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	srv := s3test.Start(t, "lake")
	p := &holdingS3{held: make(chan string, 1), release: make(chan struct{})}
	proxy := srv.StartFaultyProxy(t, p.hook)
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(p.release) }) }
	t.Cleanup(release)

	direct := lakehousetest.OpenBucket(t, srv.URL())
	lake := lakehouse.NewLake(direct, testLogger())
	const grace = time.Second
	cfg := archiverConfig(b, nil, "slow-commit")
	cfg.BucketURL = proxy.URL()
	cfg.OrphanGrace = grace
	cfg.StorageTimeout = 30 * time.Second
	stop := startArchiver(t, cfg)
	h := newHistory(4242)
	cl := b.Client(t)
	h.produce(t, cl, 100)
	waitArchived(t, lake, h.ends(), 30*time.Second) // manifest v1

	p.mu.Lock()
	p.armed = true
	p.mu.Unlock()
	h.produce(t, cl, 100)
	var held string
	select {
	case held = <-p.held:
	case <-time.After(30 * time.Second):
		t.Fatal("no manifest commit after v1 within 30 s")
	}
	t.Logf("holding %s", held)
	// Wait (bounded) until the lake holds an unlisted data file older than the grace:
	// asked every 100 ms, each asking a listing of the store.
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var unlisted []string
	var listErr error
	if !poll.WithinEvery(30*time.Second, 100*time.Millisecond, func() bool {
		listErr = direct.List(context.Background(), "data/", func(a lakehouse.ObjectAttributes) error {
			if !snap.Manifest().HasFile(a.Name) && time.Since(a.ModTime) > grace+time.Second {
				unlisted = append(unlisted, a.Name)
			}
			return nil
		})
		return listErr != nil || len(unlisted) > 0
	}) {
		t.Fatal("no unlisted data file older than the grace within 30 s")
	}
	if listErr != nil {
		t.Fatal(listErr)
	}
	rep, err := lakehouse.MaintainLake(context.Background(), srv.URL(), lakehouse.MaintenanceConfig{OrphanGrace: grace, CompactSmallBytes: 1}, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatalf("maintenance pass: %v", err)
	}
	t.Logf("the pass deleted %d objects while the commit listing %v was held", rep.ObjectsDeleted, unlisted)
	release()

	waitArchived(t, lake, h.ends(), 30*time.Second)
	if err := stop(); err != nil {
		t.Errorf("archiver: %v", err)
	}
	final, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range final.Files(lakehouse.Filter{}) {
		if ok, err := direct.Exists(context.Background(), f.Path); err != nil || !ok {
			t.Errorf("manifest v%d lists %s (partition %d offsets %d-%d), which is gone (exists %v, err %v)",
				final.Version(), f.Path, f.Partition, f.StartOffset, f.EndOffset, ok, err)
		}
	}
}
