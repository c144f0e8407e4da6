package lakehouse_test

import (
	"context"
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
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
			bkt, _ := openTestBucket(t, kind)
			lake := lakehouse.NewLake(bkt, testLogger())
			h := newHistory(1)
			cl := b.Client(t)
			h.produce(t, cl, 3000)

			stop := startArchiver(t, archiverConfig(b, bkt, "archiver"))
			h.produce(t, cl, 3000)
			archiveAll(t, lake, h, 60*time.Second, stop)
			// A second run resumes from the manifest and archives only what is new.
			h.produce(t, cl, 2000)
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
