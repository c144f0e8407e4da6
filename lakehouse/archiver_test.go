package lakehouse_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

func TestArchiveExactlyOnce(t *testing.T) {
	t.Parallel() // own broker and bucket: shares nothing, and spends its time waiting
	for _, kind := range bucketKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel() // each kind its own broker and bucket, as the test is
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
			bkt, _ := openTestBucket(t, kind)
			lake := lakehouse.NewLake(bkt, testLogger())
			h := newHistory(1)
			cl := b.Client(t)
			// 3,000 events before the archiver, 3,000 while it runs, 2,000 for a second
			// run; under -short 1,200, 1,200 and 800, for 40% of the rows to archive and
			// read back (still more than RollBytes per partition).
			n := 1000
			if testing.Short() {
				n = 400
			}
			h.produce(t, cl, 3*n)

			stop := startArchiver(t, archiverConfig(b, bkt, "archiver"))
			h.produce(t, cl, 3*n)
			archiveAll(t, lake, h, 60*time.Second, stop)
			// A second run resumes from the manifest and archives only what is new.
			h.produce(t, cl, 2*n)
			stop = startArchiver(t, archiverConfig(b, bkt, "archiver"))
			snap := archiveAll(t, lake, h, 60*time.Second, stop)
			checkExactlyOnce(t, lake, snap, h)
			t.Logf("%d files, %d rows, manifest v%d", len(snap.Files(lakehouse.Filter{})), snap.Stats().Rows, snap.Version())
			if len(snap.Files(lakehouse.Filter{})) < 8 {
				t.Errorf("only %d files: rolling by size/age did not happen", len(snap.Files(lakehouse.Filter{})))
			}

			// Kafka offsets were committed after the manifest: they equal watermark+1.
			adm := kadm.NewClient(b.Client(t))
			offs, err := adm.FetchOffsets(context.Background(), "archiver")
			if err != nil {
				t.Fatal(err)
			}
			for p, end := range h.ends() {
				o, ok := offs.Lookup("events", p)
				if !ok || o.At != end+1 {
					t.Errorf("partition %d: committed offset %+v, want %d", p, o, end+1)
				}
			}
		})
	}
}

// TestArchiverRefusesALakeOfAnotherTopic: an archiver pointed at a lake another topic
// is archived into fails at once, naming both topics. It once resumed at the other
// topic's watermarks, mixing its records in or skipping them as archived already.
func TestArchiverRefusesALakeOfAnotherTopic(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	h := newHistory(11)
	h.produce(t, b.Client(t), 50)
	archiveAll(t, lake, h, 20*time.Second, startArchiver(t, archiverConfig(b, bkt, "archiver")))

	cfg := archiverConfig(b, bkt, "other-archiver")
	cfg.Topic = "other"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := lakehouse.RunArchiver(ctx, cfg)
	if !errors.Is(err, lakehouse.ErrTopicMismatch) || !strings.Contains(err.Error(), `archives topic "events", this archiver reads "other"`) {
		t.Fatalf("archiving topic other into a lake of events: %v, want ErrTopicMismatch naming both", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the archiver ran until its context ended instead of refusing at once")
	}
}
