package backfill

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBackfillOfARecreatedTopic: the lake holds a log of the events topic, which was
// then deleted and made again (its offsets start anew), and a job's start lies past the
// lake's watermark in the new log. The job refuses to read the new log's offsets after
// the lake's (ErrTopicMismatch): it counted the old events and the new ones as one
// history.
func TestBackfillOfARecreatedTopic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(34, workload.Config{Customers: 3})
	r, err := rule.ParseRule([]byte(`{"id":"fails","scope":"*","threshold":1,"when":{"path":"$.outcome","op":"==","value":"failure"}}`))
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(actx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt,
			RollAge: 50 * time.Millisecond, CompactInterval: -1})
	}()
	waitLake(t, lake, produce(t, b, gen, 200))
	stop()
	if err := <-done; err != nil {
		t.Fatalf("archiver: %v", err)
	}

	b.RecreateTopic(t, "events", 1)
	h := produce(t, b, gen, 300)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	job := Job{Rule: r, Start: map[int32]int64{0: h[len(h)-1].Offset + 1}}
	if _, err := runner.Run(ctx, job); !errors.Is(err, lakehouse.ErrTopicMismatch) {
		t.Fatalf("a job over the old log's lake and the new log: err %v, want ErrTopicMismatch", err)
	}
}
