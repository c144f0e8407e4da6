package backfill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestJobRefusesALakeOfAnotherTopic: a lake's manifest names the topic it archives
// (Manifest.Topic), and its watermarks are that topic's offsets. A backfill of topic
// "orders" pointed at the lake of "events" must fail with a clear error, as an archiver
// does (lakehouse.ErrTopicMismatch), not count the events' history as the orders' (as it
// did: found by a review helper).
func TestJobRefusesALakeOfAnotherTopic(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(3, workload.Config{Customers: 4, Step: time.Second})
	h := produce(t, b, gen, 200)
	archive(t, b, bkt, lake, h)
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Manifest().Topic; got != "events" {
		t.Fatalf("the lake archives topic %q, want events", got)
	}

	runner, err := NewRunner(Config{Lake: lake, Topic: "orders", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r, err := rule.ParseRule([]byte(`{"id":"any","scope":"*","threshold":1,"when":{"path":"$.type"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), Job{Rule: r, Start: h.endOffsets(), AsOf: h[len(h)-1].Timestamp})
	if err == nil {
		var n int64
		for _, c := range res.Counts {
			n += c
		}
		t.Fatalf("backfill of topic orders over the lake of topic events: no error, %d events of events counted (%d rows read)", n, res.Rows)
	}
	if !strings.Contains(err.Error(), "events") || !strings.Contains(err.Error(), "orders") {
		t.Fatalf("error %q does not name both topics", err)
	}
}
