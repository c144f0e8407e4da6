package lakehouse_test

import (
	"context"
	crand "crypto/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestFedArchiverCatchUpPassesARunOfRefusedRecords: a fed archiver that reads a
// partition itself (a restart with the lake behind the consumer) meets a run of
// refused records (invalid JSON) larger than one fetch of a partition (franz-go's
// default 1 MiB), with no file open. Refused records leave st.next where it was, and
// the next fetch of the reading was taken for a hole: the reading restarted at st.next
// and fetched the same first part of the run again, for ever, the events after it
// never archived (found by a review helper; the reading started 1,389 times in 15 s).
func TestFedArchiverCatchUpPassesARunOfRefusedRecords(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	h := newHistory(21)
	prod := b.Client(t)
	h.produce(t, prod, 100)
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, bkt, "first")))

	// Three malformed events of 700 KB, each in a record batch of its own: one
	// partition fetch (1 MiB by default) holds one of them.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		v := make([]byte, 700<<10) // random, so that the producer's compression keeps it large
		crand.Read(v)
		v[0] = '{'
		bad := &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c-bad"), Value: v}
		if err := prod.ProduceSync(ctx, bad).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	h.produce(t, prod, 50)
	end := h.ends()[0]

	// The consumer resumes at the end of the partition (it evaluated everything
	// before a restart): the archiver reads from its archive's end itself.
	feed := lakehouse.NewFeed(0, 0, nil)
	feed.Resume(0, end+1)
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the archiver's own reading of partition 0 started %v times",
				promtest.Sum(t, reg, "hindsight_lake_catch_ups_total"))
		}
	})
	snap := waitArchived(t, lake, map[int32]int64{0: end}, 15*time.Second)
	stopArchivers(t, stop)
	checkExactlyOnce(t, lake, snap, h)
}
