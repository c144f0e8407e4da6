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
	"github.com/hindsightdev/hindsight/lakehouse"
)

// flakyBucket fails some operations the nasty way: a manifest PutIfAbsent that lands
// but reports an error (the reply was lost), and data Puts that fail before landing.
type flakyBucket struct {
	lakehouse.Bucket
	manifestPuts, dataPuts atomic.Int64
	lostReplies            atomic.Int64
}

var errLostReply = errors.New("connection reset by peer")

func (f *flakyBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	err := f.Bucket.PutIfAbsent(ctx, name, r)
	if err == nil && strings.HasPrefix(name, "manifest/") && f.manifestPuts.Add(1)%3 == 0 {
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
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	inner, _ := openTestBucket(t, "mem")
	bkt := &flakyBucket{Bucket: inner}
	lake := lakehouse.NewLake(inner, testLogger())
	h := newHistory(55)
	cl := b.Client(t)
	stop1 := startArchiver(t, archiverConfig(b, bkt, "flaky"))
	stop2 := startArchiver(t, archiverConfig(b, bkt, "flaky-rival")) // and a rival writer
	wait := backgroundProducer(t, h, cl, 8000, 200, 20*time.Millisecond)
	wait()
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
